#!/bin/sh
# `make vm-smoke`: host deps, guest image (if its inputs changed), then the smoke job
# (tests/vm/smoke/run) in the Debian 12 guest with the given vsbx-runtime binary.
#   scripts/vm/smoke.sh [PATH/TO/vsbx-runtime]   (default: the static release build)
# VM_SMOKE_STRICT=1 makes vsbx failures fail the run (today they are expected).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
runtime=${1:-$VM_ROOT/target/static/vsbx-runtime}
[ -x "$runtime" ] || die "no vsbx-runtime at $runtime: run make build"

t0=$(date +%s)
"$here/host-deps.sh"
t1=$(date +%s)
"$here/build-image.sh"
t2=$(date +%s)

job=$VM_WORK/jobs/smoke
rm -rf "$job"
mkdir -p "$job"
cp "$VM_ROOT/tests/vm/smoke/run" "$VM_ROOT/tests/vm/smoke/systemd-driver" "$runtime" "$job/"
[ "$(basename "$runtime")" = vsbx-runtime ] || mv "$job/$(basename "$runtime")" "$job/vsbx-runtime"
# `vsbx run` and its shell runner (manifest and the busybox rootfs `make runners` makes).
sandbox=$(dirname "$runtime")/vsbx
[ -x "$sandbox" ] || die "no vsbx beside $runtime: run make build"
cp "$sandbox" "$job/vsbx"
shell_runner=$VM_ROOT/examples/bundles/runners/shell
[ -x "$shell_runner/rootfs/bin/busybox" ] || die "no shell runner rootfs: run make runners"
mkdir -p "$job/runners"
cp -a "$shell_runner" "$job/runners/shell"
[ "${VM_SMOKE_STRICT:-0}" != 1 ] || touch "$job/strict"
rc=0
"$here/run.sh" "$job" || rc=$?
t3=$(date +%s)
echo "vm-smoke: host deps $((t1 - t0)) s, image $((t2 - t1)) s, boot + job $((t3 - t2)) s; results in $job/out/"
exit "$rc"
