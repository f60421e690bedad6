#!/bin/sh
# `make vm-conformance`: the conformance suite (tests/conformance) in the Debian 12 guest
# (systemd, cgroup v2, AppArmor), each suite against runc and vsbx-runtime, as
# tests/vm/conformance/run does it.
#   scripts/vm/conformance.sh [PATH/TO/vsbx-runtime] (default: the static release build)
# VM_CONFORMANCE_SUITES: the test files to run (default: all of them). VM_LSM=selinux boots
# the guest with SELinux instead of AppArmor (run.sh), in a job directory of its own, and the
# lsm tests then fail unless SELinux is really on (VSBX_EXPECT_SELINUX). The guest has no C
# compiler: the static probes some tests run (tests/conformance/probes/*.c) are built here,
# with the flags probe.rs uses, and found there through VSBX_PROBE_DIR.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
runtime=${1:-$VM_ROOT/target/static/vsbx-runtime}
[ -x "$runtime" ] || die "no vsbx-runtime at $runtime: run make build"
suites=${VM_CONFORMANCE_SUITES:-"lifecycle commands cli bad_input exec hooks process namespaces mounts devices lsm resources seccomp seccomp_operators seccomp_profiles security rootless"}

"$here/host-deps.sh"
"$here/build-image.sh"

lsm=${VM_LSM:-apparmor}
case $lsm in apparmor) job=$VM_WORK/jobs/conformance ;; *) job=$VM_WORK/jobs/conformance-$lsm ;; esac
rm -rf "$job"
mkdir -p "$job/bin"
# The test binaries cargo builds for the suite, by test name.
cd "$VM_ROOT"
test_binaries -p vsbx-conformance >"$job/binaries"
for s in $suites; do
    exe=$(awk -v s="$s" '$1 == s { print $2 }' "$job/binaries")
    [ -n "$exe" ] || die "no conformance test binary named $s"
    cp "$exe" "$job/bin/$s"
done
echo "$suites" >"$job/suites"
echo "$lsm" >"$job/lsm"
mkdir -p "$job/probes"
for c in "$VM_ROOT"/tests/conformance/probes/*.c; do
    p=$(basename "$c" .c)
    cp "$c" "$job/probes/$p.c"
    gcc -static -O1 -Wall -o "$job/probes/$p" "$c" || die "gcc -static failed for $c"
done
cp -r "$VM_ROOT/tests/conformance/fixtures" "$job/fixtures"
echo "$VM_ROOT/tests/conformance" | sed 's|/tests/conformance$||' >"$job/source-dir"
cp "$VM_ROOT/examples/bundles/mkrootfs.sh" "$job/mkrootfs.sh"
cp "$VM_ROOT/tests/vm/conformance/run" "$runtime" "$job/"
[ "$(basename "$runtime")" = vsbx-runtime ] || mv "$job/$(basename "$runtime")" "$job/vsbx-runtime"
t0=$(date +%s)
rc=0
"$here/run.sh" --timeout 2400 "$job" || rc=$?
echo "vm-conformance: boot + job $(($(date +%s) - t0)) s; results in $job/out/conformance.tsv"
exit "$rc"
