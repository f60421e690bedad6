#!/bin/sh
# A/B of runtime builds: the lifecycle (create + start + wait + delete) of each binary,
# side by side in one hyperfine run, on the same bundle, in the same private mount
# namespace and under the same reaper as `make bench` (bench/run-bench.sh). For a change
# that must not make the runtime slower: build the old and the new binary, compare them.
#
# Usage: bench/ab.sh NAME=BINARY [NAME=BINARY ...]      (as root; e.g. before=/tmp/old
#        after=target/static/vsbx-runtime crun=/usr/bin/crun)
# Environment: BENCH_RUNS [100], BENCH_WARMUP [10], BENCH_WORK [bench/work].
# Prints hyperfine's summary; the JSON goes to BENCH_WORK/results/ab.json.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
work=${BENCH_WORK:-$here/work}
bundle=$work/bundle-true
roots=/run/vsbx-ab

die() { echo "ab: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: bench/ab.sh NAME=BINARY [NAME=BINARY ...]"
for rt in "$@"; do
    case $rt in *=*) ;; *) die "$rt: expected NAME=BINARY" ;; esac
    [ -x "${rt#*=}" ] || die "${rt#*=}: not an executable"
done

if [ -z "${AB_IN_NS:-}" ]; then
    [ "$(id -u)" = 0 ] || die "must run as root (containers, mount namespace)"
    "$here/deps.sh"
    "$here/bundle-true.sh" "$bundle"
    mkdir -p "$work/results"
    export AB_IN_NS=1
    exec unshare --mount --propagation private python3 "$here/reaper.py" "$0" "$@"
fi

if mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
    umount /sys/fs/cgroup/unified
fi
mkdir -p "$roots"
mount -t tmpfs -o mode=0711,size=64m vsbx-ab "$roots"
trap 'umount -l "$roots" 2>/dev/null || true' EXIT
mkdir -p "$roots/pids"

for rt in "$@"; do
    name=${rt%%=*} bin=${rt#*=}
    "$here/lifecycle.sh" "$bin" "$roots/$name" "$bundle" "$roots/pids" || die "$name: lifecycle failed"
done
# hyperfine runs each command's runs in one block, in the order given.
cmdfile=$(mktemp)
for rt in "$@"; do
    name=${rt%%=*} bin=${rt#*=}
    printf '%s\n%s\n' "-n" "$name" >>"$cmdfile"
    printf '%s\n' "$here/lifecycle.sh $bin $roots/$name $bundle $roots/pids" >>"$cmdfile"
done
IFS='
'
# shellcheck disable=SC2046 # one argument per line
set -- $(cat "$cmdfile")
unset IFS
rm -f "$cmdfile"
hyperfine -N --style basic --time-unit millisecond --warmup "${BENCH_WARMUP:-10}" \
    --runs "${BENCH_RUNS:-100}" --export-json "$work/results/ab.json" "$@"
python3 - "$work/results/ab.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base = r[0]["median"]
for x in r:
    print(f'{x["command"]:>10}: median {x["median"]*1000:7.2f} ms  ({x["median"]/base:.2f}x {r[0]["command"]})')
EOF
