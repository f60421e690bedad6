#!/bin/sh
# Benchmarks vsbx-runtime against runc and crun (and youki when installed) in one run on
# this machine, then writes docs/BENCHMARKS.md. Entry point of `make bench`.
#
# Usage: bench/run-bench.sh            (as root, from anywhere)
#
# Environment (defaults in brackets):
#   VSBX_RUNTIME     vsbx-runtime binary                 [target/static/vsbx-runtime]
#   VSBX             vsbx binary (rows 3 and 4)           [target/static/vsbx]
#   VSBX_TRUE_CMD    how row 3 runs /bin/true with vsbx   [$VSBX run -q --policy compute WORK/true.sh]
#                    (true.sh is `exec /bin/true`: vsbx picks its runner from the file)
#   VSBX_PY_CMD      how row 4 runs hello.py with vsbx    [$VSBX run -q --policy compute WORK/hello.py]
#   BENCH_QUICK=1    quick mode: fewer runs of everything (~1 minute)
#   BENCH_RUNS       hyperfine runs per command           [50, quick 10]
#   BENCH_WARMUP     hyperfine warmup runs per command    [5, quick 2]
#   BENCH_RSS_RUNS   create runs measured by time(1)      [20, quick 5]
#   BENCH_PHASE_RUNS lifecycles timed phase by phase      [30, quick 10]
#   BENCH_LIFECYCLES lifecycles of the throughput test    [200, quick 40]
#   BENCH_PARALLEL   lifecycles at a time in that test    [2]
#   BENCH_SANDBOX_PARALLEL  vsbx runs at a time in row 10 (against 1 at a time)  [8]
#   BENCH_DELETE     wait: wait for the process to exit, then `delete`;
#                    force: `delete --force` right after start        [wait]
#   BENCH_PROFILE=0  skip the strace/perf profile of vsbx-runtime
#   BENCH_STATE_TMPFS=0  keep state roots on the host's /run instead of a private tmpfs
#   BENCH_WORK       scratch dir (bundle, results)         [bench/work]
#   BENCH_DOC        report to write                       [docs/BENCHMARKS.md]
#
# How: installs what it needs (bench/deps.sh), builds a /bin/true bundle from
# examples/bundles/hello, then re-executes itself in a private mount namespace with
# /sys/fs/cgroup/unified unmounted (crun refuses this host's hybrid cgroup layout; every
# runtime runs in that same namespace, so all see plain cgroup v1 and none pays a
# per-iteration unshare), under bench/reaper.py (a subreaper that reaps exited container
# inits, as systemd or a containerd shim would: this host's pid 1 does not).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
PYTHON=${PYTHON:-python3}
work=${BENCH_WORK:-$here/work}
results=$work/results
bundle=$work/bundle-true
roots=/run/vsbx-bench

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "== $*" >&2; }

if [ "${BENCH_QUICK:-0}" = 1 ]; then
    runs=${BENCH_RUNS:-10} warmup=${BENCH_WARMUP:-2} rss_runs=${BENCH_RSS_RUNS:-5}
    phase_runs=${BENCH_PHASE_RUNS:-10} lifecycles=${BENCH_LIFECYCLES:-40}
else
    runs=${BENCH_RUNS:-50} warmup=${BENCH_WARMUP:-5} rss_runs=${BENCH_RSS_RUNS:-20}
    phase_runs=${BENCH_PHASE_RUNS:-30} lifecycles=${BENCH_LIFECYCLES:-200}
fi
parallel=${BENCH_PARALLEL:-2}
sandbox_parallel=${BENCH_SANDBOX_PARALLEL:-8}
sandbox_runs=$((lifecycles / 2))
delete_mode=${BENCH_DELETE:-wait}
case $delete_mode in wait|force) ;; *) die "BENCH_DELETE must be wait or force" ;; esac
export BENCH_DELETE=$delete_mode

vsbx_runtime=${VSBX_RUNTIME:-$top/target/static/vsbx-runtime}
vsbx=${VSBX:-$top/target/static/vsbx}

# ---- outside the namespace: dependencies, bundle, then re-exec ----------------------------
if [ -z "${BENCH_IN_NS:-}" ]; then
    [ "$(id -u)" = 0 ] || die "must run as root (containers, mount namespace)"
    "$here/deps.sh"
    [ -x "$vsbx_runtime" ] || die "$vsbx_runtime not found: run 'cargo build --release -p vsbx-runtime' (or set VSBX_RUNTIME)"
    mkdir -p "$results"
    "$here/bundle-true.sh" "$bundle"
    printf 'print("hello")\n' > "$work/hello.py"
    printf 'exec /bin/true\n' > "$work/true.sh"
    export BENCH_IN_NS=1
    exec unshare --mount --propagation private "$PYTHON" "$here/reaper.py" "$0" "$@"
fi

# ---- inside the private mount namespace ---------------------------------------------------
if mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
    umount /sys/fs/cgroup/unified
fi

# State roots and pid files on a tmpfs, as /run is on a normal host (on this one /run is
# on the root ext4, whose inode allocation would then show up in every runtime's figure).
mkdir -p "$roots"
if [ "${BENCH_STATE_TMPFS:-1}" = 1 ]; then
    mount -t tmpfs -o mode=0711,size=64m vsbx-bench "$roots"
fi
state_fs=$(stat -f -c %T "$roots")
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)

# Runtimes: name=binary, in report order.
runtimes="vsbx=$vsbx_runtime runc=$(command -v runc) crun=$(command -v crun)"
if command -v youki >/dev/null 2>&1; then
    runtimes="$runtimes youki=$(command -v youki)"
fi

piddir=$roots/pids
rm -rf "$piddir" "$results"
mkdir -p "$piddir" "$results"

cleanup() {
    for rt in $runtimes vsbx-profile="$vsbx_runtime"; do
        name=${rt%%=*} bin=${rt#*=}
        root=$roots/$name
        [ -d "$root" ] || continue
        for id in $("$bin" --root "$root" list -q 2>/dev/null); do
            echo "bench: deleting leftover $name container $id" >&2
            "$bin" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
        done
        rm -rf "$root"
    done
    rm -rf "$piddir"
    umount "$roots" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# hyperfine argument list for one command per runtime: -n NAME CMD ...
hf_args() { # $1: lifecycle|run
    for rt in $runtimes; do
        name=${rt%%=*} bin=${rt#*=}
        if [ "$1" = lifecycle ]; then
            printf '%s\n' -n "$name" "$here/lifecycle.sh $bin $roots/$name $bundle $piddir"
        else
            # run removes the container when it exits (runc, crun and vsbx alike), so a
            # fixed id is free again for the next run; a failed run fails hyperfine.
            printf '%s\n' -n "$name" "$bin --root $roots/$name run --bundle $bundle bench-run"
        fi
    done
}

hyperfine_json() { # $1: result name; rest: hyperfine command arguments
    out=$1; shift
    hyperfine -N --style basic --output inherit --time-unit millisecond --warmup "$warmup" --runs "$runs" \
        --export-json "$results/$out.json" "$@" >"$results/$out.log" 2>&1 || {
        cat "$results/$out.log" >&2
        die "hyperfine failed in '$out' (log above)"
    }
    grep -E '^(Benchmark|  Time)' "$results/$out.log" >&2 || true
}

# vsbx (the sandbox CLI) is younger than the runtime: rows 3 and 4 get a vsbx figure when
# the binary exists and its command succeeds once; otherwise the report says why.
vsbx_usable() { # $1: result name, $2: command
    [ -x "$vsbx" ] || return 1
    # shellcheck disable=SC2086 # the command is a word list, like hyperfine -N splits it
    if ! $2 >"$results/$1.vsbx.out" 2>&1; then
        echo "bench: WARNING: '$2' failed; row without vsbx:" >&2
        cat "$results/$1.vsbx.out" >&2
        mv "$results/$1.vsbx.out" "$results/$1.vsbx-failed"
        return 1
    fi
    echo "$2" >"$results/$1.vsbx-cmd"
}

# Smoke test first: one lifecycle and one run per runtime, errors shown as they are.
say "smoke test"
for rt in $runtimes; do
    name=${rt%%=*} bin=${rt#*=}
    "$here/lifecycle.sh" "$bin" "$roots/$name" "$bundle" "$piddir" || die "$name: lifecycle failed"
    "$bin" --root "$roots/$name" run --bundle "$bundle" bench-smoke || die "$name: run failed"
done

say "1. lifecycle: create + start + wait + delete ($delete_mode), $runs runs"
# hf_args prints one argument per line; split on newlines only.
args=$(hf_args lifecycle)
IFS='
'
set -- $args
unset IFS
hyperfine_json lifecycle "$@"

say "2. run (attached), $runs runs"
args=$(hf_args run)
IFS='
'
set -- $args
unset IFS
hyperfine_json run "$@"

say "3. /bin/true sandboxed: vsbx run (compute) vs bwrap --unshare-all"
bwrap_cmd="bwrap --unshare-all --die-with-parent --ro-bind $bundle/rootfs / --proc /proc --dev /dev --tmpfs /tmp /bin/true"
set -- -n bwrap "$bwrap_cmd"
vsbx_true=${VSBX_TRUE_CMD:-$vsbx run -q --policy compute $work/true.sh}
if vsbx_usable sandbox-true "$vsbx_true"; then
    set -- "$@" -n vsbx "$vsbx_true"
fi
hyperfine_json sandbox-true "$@"

say "4. python3 hello: vsbx run vs bare python3"
python_bin=$(command -v /usr/bin/python3 || command -v python3)
set -- -n python3 "$python_bin $work/hello.py"
vsbx_py=${VSBX_PY_CMD:-$vsbx run -q --policy compute $work/hello.py}
if vsbx_usable python "$vsbx_py"; then
    set -- "$@" -n vsbx "$vsbx_py"
fi
hyperfine_json python "$@"

say "5. peak RSS of create (time -f %M), $rss_runs runs; 6. phases, $phase_runs runs"
# shellcheck disable=SC2086 # word list of name=binary
"$PYTHON" "$here/measure.py" rss --runs "$rss_runs" --bundle "$bundle" --roots "$roots" \
    --piddir "$piddir" --out "$results/rss.json" $runtimes
# shellcheck disable=SC2086
"$PYTHON" "$here/measure.py" phases --runs "$phase_runs" --bundle "$bundle" --roots "$roots" \
    --piddir "$piddir" --out "$results/phases.json" $runtimes

say "7. throughput: $lifecycles lifecycles, $parallel at a time"
: >"$results/throughput.txt"
for rt in $runtimes; do
    name=${rt%%=*} bin=${rt#*=}
    start=$(date +%s%N)
    seq "$lifecycles" | xargs -P "$parallel" -n 1 \
        "$here/lifecycle.sh" "$bin" "$roots/$name" "$bundle" "$piddir" ||
        die "$name: a lifecycle of the throughput test failed"
    end=$(date +%s%N)
    echo "$name $lifecycles $parallel $(( (end - start) / 1000 ))" >>"$results/throughput.txt"
    echo "$name: $lifecycles lifecycles in $(( (end - start) / 1000000 )) ms" >&2
done

if [ -x "$vsbx" ]; then
    say "10. vsbx run throughput: $sandbox_runs runs of true.sh, 1 and $sandbox_parallel at a time"
    : >"$results/sandbox-throughput.txt"
    for par in 1 "$sandbox_parallel"; do
        start=$(date +%s%N)
        seq "$sandbox_runs" | xargs -P "$par" -I{} $vsbx run -q --policy compute "$work/true.sh" ||
            die "a vsbx run of the throughput test failed"
        end=$(date +%s%N)
        echo "$par $sandbox_runs $(( (end - start) / 1000 ))" >>"$results/sandbox-throughput.txt"
        echo "vsbx run, $par at a time: $sandbox_runs runs in $(( (end - start) / 1000000 )) ms" >&2
    done

    say "11. image runner: first run (runner add, unpacking) and warm run"
    imgdir=$work/image
    rm -rf "$imgdir"
    mkdir -p "$imgdir/runners"
    "$PYTHON" "$top/scripts/mkimage.py" "$bundle/rootfs" "$imgdir/image.tar"
    du -k "$imgdir/image.tar" | cut -f1 >"$results/image-size-kib.txt"
    img="$here/image-run.sh"
    hyperfine_json image \
        -n "first run (add + unpack + run)" "$img first $vsbx $imgdir/image.tar $imgdir/runners $work/true.sh" \
        -n "warm run" "$img warm $vsbx $imgdir/image.tar $imgdir/runners $work/true.sh"
    rm -rf "$imgdir"
fi

say "9. cost of the CVE-2019-5736 defence: vsbx lifecycles with its binary protected 3 ways"
# vsbx re-executes itself from a read-only overlay of its binary (default) or a sealed memfd
# copy before create/run/exec; a binary already on a read-only mount needs neither.
sealdir=$work/ro-install
mkdir -p "$sealdir"
cp "$vsbx_runtime" "$sealdir/vsbx-runtime"
mount --bind "$sealdir" "$sealdir"
mount -o remount,bind,ro "$sealdir"
hyperfine_json seal \
    -n "overlay re-exec (default)" "$here/lifecycle.sh $vsbx_runtime $roots/vsbx $bundle $piddir" \
    -n "memfd re-exec" "$here/lifecycle.sh $vsbx_runtime $roots/vsbx $bundle $piddir memfd" \
    -n "read-only install (no re-exec)" "$here/lifecycle.sh $sealdir/vsbx-runtime $roots/vsbx $bundle $piddir" \
    -n crun "$here/lifecycle.sh $(command -v crun) $roots/crun $bundle $piddir"
umount "$sealdir"

if [ "${BENCH_PROFILE:-1}" != 0 ]; then
    say "8. profile of vsbx-runtime (strace, perf, cgroup v1 attach probe)"
    "$here/profile.sh" "$vsbx_runtime" "$roots/vsbx-profile" "$bundle" "$piddir" "$results/profile"
    "$PYTHON" "$here/measure.py" cgattach --runs 10 --bundle - --roots - --piddir - \
        --out "$results/profile/cgattach.json"
fi

# Machine and versions.
{
    echo "nproc=$(nproc)"
    echo "kernel=$(uname -sr)"
    echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
    echo "memory=$(sed -n 's/^MemTotal:[[:space:]]*//p' /proc/meminfo)"
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$top" diff --quiet HEAD -- crates 2>/dev/null || echo ' (crates/ modified)')"
    echo "cgroups=cgroup v1 (hybrid host; /sys/fs/cgroup/unified unmounted in the benchmark's mount namespace)"
    for rt in $runtimes; do
        name=${rt%%=*} bin=${rt#*=}
        echo "version_$name=$("$bin" --version 2>&1 | head -n1)"
    done
    echo "version_hyperfine=$(hyperfine --version)"
    echo "version_bwrap=$(bwrap --version)"
    echo "version_python3=$("$python_bin" --version 2>&1)"
    echo "version_vsbx=$([ -x "$vsbx" ] && "$vsbx" --version 2>&1 | head -n1 || echo 'not built')"
    echo "state_fs=$state_fs (state roots and pid files under $roots)"
    echo "loadavg=$loadavg_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo "runs=$runs"
    echo "warmup=$warmup"
    echo "rss_runs=$rss_runs"
    echo "phase_runs=$phase_runs"
    echo "delete_mode=$delete_mode"
} >"$results/machine.txt"

"$PYTHON" "$here/report.py" --results "$results" --out "${BENCH_DOC:-$top/docs/BENCHMARKS.md}" \
    --notes "$here/notes.md"
say "wrote ${BENCH_DOC:-$top/docs/BENCHMARKS.md}"
