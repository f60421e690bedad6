#!/bin/sh
# One container lifecycle: create, start, wait until the container's process exited, delete.
# Usage: lifecycle.sh RUNTIME ROOT BUNDLE PIDDIR [SEAL]
#
# SEAL=memfd makes vsbx-runtime protect its binary with a sealed memfd copy instead of the
# read-only overlay (VSBX_SEALED_EXE; section 9 of the benchmark measures both).
#
# The id is unique among live containers: one shell per lifecycle, and its pid is part of
# the id. The wait reads /proc/PID/stat with shell builtins only (no fork), so every
# runtime pays the same, tiny cost on top of its own three commands.
# BENCH_DELETE=force skips the wait and runs `delete --force` right after start.
set -eu
rt=$1 root=$2 bundle=$3 piddir=$4
if [ "${5:-}" = memfd ]; then export VSBX_SEALED_EXE=memfd; fi
id=bench-$$
pidfile=$piddir/$id
"$rt" --root "$root" create --bundle "$bundle" --pid-file "$pidfile" "$id"
"$rt" --root "$root" start "$id"
if [ "${BENCH_DELETE:-wait}" = force ]; then
    exec "$rt" --root "$root" delete --force "$id"
fi
read -r pid < "$pidfile" || [ -n "${pid:-}" ]
# Stopped = gone (reaped) or a zombie. Give up (and fail the run) after ~a million reads.
n=0
while { read -r stat < "/proc/$pid/stat"; } 2>/dev/null; do
    case $stat in *") Z "*) break ;; esac
    n=$((n + 1))
    if [ "$n" -gt 1000000 ]; then
        echo "lifecycle: $id (pid $pid) did not stop after start" >&2
        exit 1
    fi
done
exec "$rt" --root "$root" delete "$id"
