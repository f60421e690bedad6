#!/bin/sh
# `make build`: the static release binaries of vsbx-runtime, vsbx and vsbx-bundle-gen,
# hard-linked into target/static/ (the one place the Makefile, the VM test bed, the
# benchmark and the README take them from).
#
# Built for x86_64-unknown-linux-musl when the toolchain has that target (it is added with
# rustup if missing and reachable), else for x86_64-unknown-linux-gnu with a static glibc.
# Why musl: every command of a container's lifecycle is one exec of the runtime, and a
# static glibc spends ~0.7 ms of each start probing the CPU (dozens of CPUID instructions,
# each a trap to the hypervisor in a VM); musl's start is ~0.15 ms (docs/BENCHMARKS.md).
# VSBX_RELEASE_TARGET=gnu|musl forces one.
set -eu
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
musl=x86_64-unknown-linux-musl
gnu=x86_64-unknown-linux-gnu
choice=${VSBX_RELEASE_TARGET:-}
if [ -z "$choice" ]; then
    if rustup target list --installed 2>/dev/null | grep -qx "$musl"; then
        choice=musl
    elif timeout 300 rustup target add "$musl" >/dev/null 2>&1; then
        choice=musl
    else
        echo "build: the $musl target is not available; building with a static glibc" >&2
        choice=gnu
    fi
fi
case $choice in
musl) triple=$musl; flags="" ;;
gnu) triple=$gnu; flags="-C target-feature=+crt-static" ;;
*) echo "build: VSBX_RELEASE_TARGET must be gnu or musl" >&2; exit 2 ;;
esac
# The explicit --target keeps RUSTFLAGS off build scripts and proc macros.
RUSTFLAGS="$flags" $CARGO build --release --target "$triple" \
    -p vsbx-runtime -p vsbx-sandbox -p vsbx-bundle-gen
mkdir -p target/static
for bin in vsbx-runtime vsbx vsbx-bundle-gen; do
    ln -f "target/$triple/release/$bin" "target/static/$bin"
done
echo "build: target/static/{vsbx-runtime,vsbx,vsbx-bundle-gen} ($triple)"
