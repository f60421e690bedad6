#!/bin/sh
# Captures Docker's default seccomp profile (compiled into dockerd, not shipped as a file) as
# the OCI `linux.seccomp` that dockerd hands to the runtime, into
# tests/conformance/fixtures/docker-seccomp.json (or OUT).
#
# Starts a private containerd + dockerd (own roots and sockets under a temp dir, no iptables,
# no bridge), `docker import`s a busybox rootfs (examples/bundles/mkrootfs.sh), runs one
# container detached with ulimits within this machine's hard limits, copies `linux.seccomp`
# out of that container's config.json in containerd's state dir, and stops everything.
#
# Usage (as root): scripts/capture-docker-seccomp.sh [OUT]
# Needs: dockerd, containerd, containerd-shim-runc-v2, runc, /usr/bin/docker (Debian's
# docker.io client; /usr/local/bin/docker may be another client), busybox-static, python3.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/tests/conformance/fixtures/docker-seccomp.json}
docker_cli=/usr/bin/docker
for b in dockerd containerd containerd-shim-runc-v2 runc python3; do
    command -v "$b" >/dev/null || { echo "capture: $b not found" >&2; exit 1; }
done
[ -x "$docker_cli" ] || { echo "capture: $docker_cli not found (apt-get install docker.io)" >&2; exit 1; }

dir=$(mktemp -d /tmp/capture-docker-seccomp.XXXXXX)
cd_pid=
dd_pid=
cleanup() {
    set +e
    if [ -n "$dd_pid" ]; then
        ids=$(dk ps -aq 2>/dev/null)
        [ -n "$ids" ] && dk rm -f $ids >/dev/null 2>&1
        kill "$dd_pid" 2>/dev/null
        i=0; while kill -0 "$dd_pid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
        kill -9 "$dd_pid" 2>/dev/null
    fi
    if [ -n "$cd_pid" ]; then
        kill "$cd_pid" 2>/dev/null
        i=0; while kill -0 "$cd_pid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
        kill -9 "$cd_pid" 2>/dev/null
    fi
    # Leave nothing mounted under the temp dir before removing it.
    grep -o " $dir[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

dk() { DOCKER_CONFIG=$dir/client "$docker_cli" --host "unix://$dir/docker.sock" "$@"; }

wait_for() { # wait_for WHAT PID CMD...: polls CMD for up to 60s while PID lives
    what=$1; pid=$2; shift 2; i=0
    until "$@" >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || { echo "capture: $what exited" >&2; cat "$dir/$what.log" >&2; exit 1; }
        i=$((i+1)); [ $i -lt 600 ] || { echo "capture: $what did not answer" >&2; cat "$dir/$what.log" >&2; exit 1; }
        sleep 0.1
    done
}

cat > "$dir/containerd.toml" <<TOML
version = 2
root = "$dir/containerd-root"
state = "$dir/containerd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
[debug]
  address = "$dir/containerd-debug.sock"
TOML
containerd --config "$dir/containerd.toml" >"$dir/containerd.log" 2>&1 </dev/null &
cd_pid=$!
wait_for containerd "$cd_pid" ctr --address "$dir/containerd.sock" version

echo '{}' > "$dir/daemon.json"
dockerd --iptables=false --ip6tables=false --bridge=none --ip-forward=false --ip-masq=false \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    --config-file "$dir/daemon.json" --host "unix://$dir/docker.sock" \
    --containerd "$dir/containerd.sock" >"$dir/dockerd.log" 2>&1 </dev/null &
dd_pid=$!
wait_for dockerd "$dd_pid" dk version

sh "$here/examples/bundles/mkrootfs.sh" "$dir/rootfs"
tar -C "$dir/rootfs" -cf "$dir/rootfs.tar" .
dk import "$dir/rootfs.tar" vsbx-capture-busybox >/dev/null
id=$(dk run -d --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    vsbx-capture-busybox sleep 600)

# dockerd's containers live in containerd namespace "moby": the shim's bundle holds the
# config.json dockerd generated. Search the whole temp dir (containerd state, exec-root).
config=$(find "$dir" -path "*moby/$id/config.json" 2>/dev/null | head -1)
[ -n "$config" ] || { echo "capture: no config.json for $id under $dir" >&2; exit 1; }
echo "capture: $config" >&2
python3 - "$config" "$out" "$(dk version --format '{{.Server.Version}}')" <<'PY'
import json, sys
config, out, version = sys.argv[1:]
seccomp = json.load(open(config))["linux"]["seccomp"]
with open(out, "w") as f:
    json.dump(seccomp, f, indent=2)
    f.write("\n")
print(f"capture: dockerd {version}: {len(seccomp['syscalls'])} rules -> {out}", file=sys.stderr)
PY
