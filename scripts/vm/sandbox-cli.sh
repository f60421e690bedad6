#!/bin/sh
# `make vm-sandbox-cli`: the `vsbx` command's end-to-end suite (crates/sandbox/tests/vsbx_cli)
# in the Debian 12 guest (systemd, cgroup v2, AppArmor), as tests/vm/sandbox-cli/run does it.
# The test binary and the debug `vsbx` are built here (glibc, as the guest's: both Debian 12);
# the workspace files the suite reads (runners with the shell rootfs, test programs, profiles)
# go into the job as src/, found in the guest at the path the suite was built at.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
"$here/host-deps.sh"
"$here/build-image.sh"

job=$VM_WORK/jobs/sandbox-cli
rm -rf "$job"
mkdir -p "$job/src/target/debug"
cd "$VM_ROOT"
${CARGO:-cargo} build -p vsbx-sandbox -p vsbx-runtime
exe=$(test_binaries -p vsbx-sandbox --test vsbx_cli | awk '$1 == "vsbx_cli" { print $2 }')
[ -n "$exe" ] || die "no vsbx_cli test binary"
cp "$exe" "$job/vsbx_cli"
cp target/debug/vsbx target/debug/vsbx-runtime "$job/src/target/debug/"
# The workspace as the suite reads it: everything but build output and VM work.
tar -C "$VM_ROOT" --exclude=./target --exclude=./tests/vm/work --exclude=./bench/work \
    --exclude=./fuzz/work --exclude=./.git -cf - . | tar -C "$job/src" -xf -
echo "$VM_ROOT" >"$job/source-dir"
cp "$VM_ROOT/tests/vm/sandbox-cli/run" "$job/run"
t0=$(date +%s)
rc=0
"$here/run.sh" --timeout 2400 "$job" || rc=$?
echo "vm-sandbox-cli: boot + job $(($(date +%s) - t0)) s; results in $job/out/vsbx_cli.tsv"
exit "$rc"
