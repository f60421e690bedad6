#!/bin/sh
# Installs the Debian packages that vsbx's build, tests, runners and benchmarks use.
# podman: the image-runner tests build their test images with `podman import` and `podman save`.
# Idempotent: packages already present are skipped without touching apt.
set -eu
need=""
for pkg in runc busybox-static crun podman hyperfine iproute2 util-linux passwd uidmap python3 golang-go gcc libc6-dev procps; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need="$need $pkg"
done
# The node runner binds the host's node; any package that provides it will do.
command -v node >/dev/null 2>&1 || need="$need nodejs"
if [ -n "$need" ]; then
    echo "installing:$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
