#!/bin/sh
# Installs what the VM test bed needs on this host, idempotently:
# - debootstrap (to build the guest) and qemu's firmware/data packages, installed normally;
# - qemu-system-x86 + qemu-system-common unpacked into a private directory
#   ($VM_WORK/qemu), because installing them conflicts with the backports qemu-utils here.
# The shared libraries qemu-system-x86 links against are installed normally.
# Prints nothing when all is already in place.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

need=""
add_missing() {
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need="$need $pkg"
    done
}

add_missing debootstrap seabios ipxe-qemu qemu-system-data e2fsprogs
if [ ! -x "$QEMU_BIN" ]; then
    # Runtime libraries of qemu-system-x86, from its Depends (first alternative, no version).
    libs=$(apt-cache show --no-all-versions qemu-system-x86 | sed -n 's/^Depends: //p' |
        tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' |
        grep -v -e '^qemu-system-' -e '^seabios$' -e '^ipxe-qemu$' -e '^$')
    add_missing $libs
fi
if [ -n "$need" ]; then
    echo "vm: installing:$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $need >/dev/null ||
        die "apt-get install failed for:$need"
fi

if [ ! -x "$QEMU_BIN" ]; then
    echo "vm: unpacking qemu-system-x86 into $VM_WORK/qemu"
    debs="$VM_WORK/debs"
    rm -rf "$debs" "$VM_WORK/qemu.tmp"
    mkdir -p "$debs" "$VM_WORK/qemu.tmp"
    (cd "$debs" && apt-get download -qq -o APT::Sandbox::User=root qemu-system-x86 qemu-system-common) ||
        die "apt-get download qemu-system-x86 qemu-system-common failed"
    for deb in "$debs"/*.deb; do dpkg -x "$deb" "$VM_WORK/qemu.tmp"; done
    rm -rf "$VM_WORK/qemu"
    mv "$VM_WORK/qemu.tmp" "$VM_WORK/qemu"
    "$QEMU_BIN" --version >/dev/null || die "unpacked qemu does not run: $QEMU_BIN"
fi
