#!/bin/sh
# Installs the Debian packages the benchmark needs (bench/run-bench.sh calls it).
# Idempotent: packages already present are skipped without touching apt.
# youki is not packaged by Debian: it is benchmarked only when it is on PATH.
set -eu
need=""
for pkg in runc crun hyperfine busybox-static bubblewrap time util-linux strace python3; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need="$need $pkg"
done
if [ -n "$need" ]; then
    echo "installing:$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
