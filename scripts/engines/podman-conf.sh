#!/bin/sh
# Registers vsbx-runtime with podman by name, so `podman --runtime vsbx run ...` works.
# Usage: podman-conf.sh [RUNTIME_PATH] [OUT]
#   RUNTIME_PATH  vsbx-runtime binary (default /usr/local/bin/vsbx-runtime)
#   OUT           file to write (default /etc/containers/containers.conf.d/vsbx.conf; - for stdout)
# The drop-in holds only the [engine.runtimes] table, so it can also be appended to a private
# containers.conf (the engine tests do that, through CONTAINERS_CONF).
# On a host without CAP_SYS_RESOURCE, podman also needs lower rlimits than its defaults:
#   [containers]
#   default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
set -eu
runtime=${1:-/usr/local/bin/vsbx-runtime}
out=${2:-/etc/containers/containers.conf.d/vsbx.conf}
conf=$(cat <<CONF
# vsbx-runtime, a runc-compatible OCI runtime: podman --runtime vsbx run ...
[engine.runtimes]
vsbx = ["$runtime"]
CONF
)
if [ "$out" = - ]; then
    printf '%s\n' "$conf"
else
    mkdir -p "$(dirname "$out")"
    printf '%s\n' "$conf" > "$out.tmp"
    mv "$out.tmp" "$out"
    echo "podman-conf: wrote $out (runtime vsbx = $runtime)"
fi
