#!/bin/sh
# Installs the Debian packages that vsbx's build, tests and benchmarks use.
# Idempotent: packages already present are skipped without touching apt.
set -eu
need=""
for pkg in runc busybox-static crun hyperfine iproute2 util-linux; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need="$need $pkg"
done
if [ -n "$need" ]; then
    echo "installing:$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
