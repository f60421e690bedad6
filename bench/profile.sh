#!/bin/sh
# Profiles vsbx-runtime's lifecycle: strace (every syscall with its duration) of a few
# create / start / delete rounds, and a perf sample (cpu-clock) of a loop of lifecycles.
# Usage: profile.sh RUNTIME ROOT BUNDLE PIDDIR OUTDIR   (run by run-bench.sh, inside its
# mount namespace). Writes OUTDIR/{create,start,delete}-N.tr, OUTDIR/strace.json and
# OUTDIR/perf-*.txt. strace slows every syscall down (~50 us each here), so read its
# figures for which calls block, not for absolute time.
set -eu
rt=$1 root=$2 bundle=$3 piddir=$4 out=$5
here=$(cd "$(dirname "$0")" && pwd)
rounds=${BENCH_PROFILE_RUNS:-5}
rm -rf "$out"
mkdir -p "$out"

"$here/lifecycle.sh" "$rt" "$root" "$bundle" "$piddir" # warm caches
i=1
while [ "$i" -le "$rounds" ]; do
    id=prof-$$-$i
    rm -f "$piddir/$id"
    # strace -f follows the container init too, so it runs until the init exits: run it in
    # the background and start the container once create has written the pid file.
    strace -f -ttt -T -o "$out/create-$i.tr" \
        "$rt" --root "$root" create --bundle "$bundle" --pid-file "$piddir/$id" "$id" &
    tracer=$!
    n=0
    until [ -s "$piddir/$id" ]; do
        n=$((n + 1))
        [ "$n" -lt 500 ] || { echo "profile: create of $id did not finish" >&2; exit 1; }
        sleep 0.01
    done
    # The create process writes the pid file right before it exits; let it exit.
    sleep 0.05
    strace -f -ttt -T -o "$out/start-$i.tr" "$rt" --root "$root" start "$id"
    wait "$tracer"
    strace -f -ttt -T -o "$out/delete-$i.tr" "$rt" --root "$root" delete "$id"
    i=$((i + 1))
done
"${PYTHON:-python3}" "$here/strace_summary.py" "$out" >"$out/strace.json"

if command -v perf >/dev/null 2>&1 && perf stat -e cpu-clock true >/dev/null 2>&1; then
    loops=${BENCH_PROFILE_LOOPS:-50}
    # Not -a: other work on the machine would land in the samples. Children (the runtime,
    # its container init) inherit the counter.
    perf record -q -e cpu-clock -F 5000 -g -o "$out/perf.data" -- \
        sh -c "i=0; while [ \$i -lt $loops ]; do '$here/lifecycle.sh' '$rt' '$root' '$bundle' '$piddir' || exit 1; i=\$((i + 1)); done" \
        >/dev/null 2>&1 || { echo "profile: perf record failed (skipped)" >&2; exit 0; }
    perf report -i "$out/perf.data" --no-children --sort comm --stdio -g none 2>/dev/null |
        awk 'NF && !/^#/ && n++ < 15' >"$out/perf-comm.txt" || true
    perf report -i "$out/perf.data" --no-children --comm vsbx-runtime --sort dso,sym --stdio -g none 2>/dev/null |
        awk 'NF && !/^#/ && n++ < 25' >"$out/perf-vsbx-sym.txt" || true
    rm -f "$out/perf.data" "$out/perf.data.old"
else
    echo "profile: perf not usable here (skipped)" >&2
fi
