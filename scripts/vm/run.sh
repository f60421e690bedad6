#!/bin/sh
# Boots the Debian 12 guest (scripts/vm/build-image.sh) under qemu TCG with JOB_DIR shared
# over 9p at /job; the guest's vsbx-job.service runs /job/run and powers off. Prints the
# job's stdout and stderr and exits with its exit code.
#
#   scripts/vm/run.sh [--user] [--timeout SECONDS] JOB_DIR
#   scripts/vm/run.sh [--user] [--timeout SECONDS] -c 'SHELL COMMAND'
#
# --user runs the job as the guest's ordinary user u in its systemd user manager
# (systemd-run -M u@ --user). Results land in JOB_DIR/out/{stdout,stderr,rc,console.log}.
# Env: VM_CPUS (2), VM_MEM (2048, MiB), VM_CONSOLE=1 streams the serial console,
# VM_LSM=apparmor (default) or selinux: the major LSM the guest boots with (SELinux
# permissive, with Debian's reference policy).
# Exit 124: timeout; 125: the guest stopped without a job result (see console.log).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

usage() { echo "usage: $0 [--user] [--timeout SECONDS] JOB_DIR | -c 'COMMAND'" >&2; exit 2; }
user=""
timeout=900
command=""
job=""
while [ $# -gt 0 ]; do
    case $1 in
    --user) user=u ;;
    --timeout) [ $# -ge 2 ] || usage; timeout=$2; shift ;;
    -c) [ $# -ge 2 ] || usage; command=$2; shift ;;
    -h | --help) usage ;;
    -*) usage ;;
    *) [ -z "$job" ] || usage; job=$1 ;;
    esac
    shift
done
[ -n "$job" ] || [ -n "$command" ] || usage
[ -z "$job" ] || [ -z "$command" ] || usage

[ -x "$QEMU_BIN" ] || die "no qemu at $QEMU_BIN: run scripts/vm/host-deps.sh"
for f in root.img vmlinuz initrd.img; do
    [ -f "$IMAGE_DIR/$f" ] || die "no guest image ($IMAGE_DIR/$f): run scripts/vm/build-image.sh"
done

tmpjob=""
qemu_pid=""
cleanup() {
    if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill "$qemu_pid" 2>/dev/null || true
        sleep 1
        kill -9 "$qemu_pid" 2>/dev/null || true
        wait "$qemu_pid" 2>/dev/null || true
    fi
    [ -z "$tmpjob" ] || rm -rf "$tmpjob"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "$command" ]; then
    tmpjob=$(mktemp -d "${TMPDIR:-/tmp}/vsbx-vm-job.XXXXXX")
    chmod 755 "$tmpjob"
    printf '#!/bin/sh\n%s\n' "$command" >"$tmpjob/run"
    chmod 755 "$tmpjob/run"
    job=$tmpjob
fi
[ -d "$job" ] || die "job directory not found: $job"
job=$(cd "$job" && pwd)
[ -x "$job/run" ] || die "$job/run is missing or not executable"
out=$job/out
rm -rf "$out"
mkdir -p "$out"

cmdline="root=/dev/vda rw console=ttyS0 panic=-1 systemd.unified_cgroup_hierarchy=1"
case ${VM_LSM:-apparmor} in
apparmor) cmdline="$cmdline apparmor=1 security=apparmor" ;;
selinux) cmdline="$cmdline apparmor=0 selinux=1 security=selinux enforcing=0" ;;
*) die "VM_LSM must be apparmor or selinux" ;;
esac
[ -z "$user" ] || cmdline="$cmdline vsbx.job_user=$user"

start=$(date +%s)
# -snapshot: guest writes go to a temporary overlay, the image stays pristine.
# -no-reboot + panic=-1: a guest panic or reboot ends qemu instead of looping.
# --pdeathsig: qemu dies with this script even if it is killed without a chance to clean up.
setpriv --pdeathsig KILL -- "$QEMU_BIN" -name vsbx-vm -machine q35 -accel tcg,thread=multi -cpu max \
    -smp "${VM_CPUS:-2}" -m "${VM_MEM:-2048}" \
    -L /usr/share/qemu -L /usr/share/seabios -nodefaults -display none -no-reboot -snapshot \
    -kernel "$IMAGE_DIR/vmlinuz" -initrd "$IMAGE_DIR/initrd.img" -append "$cmdline" \
    -drive file="$IMAGE_DIR/root.img",format=raw,if=virtio \
    -virtfs local,path="$job",mount_tag=job,security_model=none,id=job \
    -device virtio-rng-pci -nic none \
    -serial file:"$out/console.log" </dev/null &
qemu_pid=$!

if [ "${VM_CONSOLE:-0}" = 1 ]; then
    tail -n +1 -f "$out/console.log" --pid="$qemu_pid" 2>/dev/null &
fi

qemu_rc=0
timed_out=0
elapsed=0
while kill -0 "$qemu_pid" 2>/dev/null; do
    if [ "$elapsed" -ge "$timeout" ]; then
        timed_out=1
        break
    fi
    sleep 1
    elapsed=$(($(date +%s) - start))
done
if [ "$timed_out" = 0 ]; then
    wait "$qemu_pid" || qemu_rc=$?
    qemu_pid=""
fi
wall=$(($(date +%s) - start))

[ ! -f "$out/stdout" ] || cat "$out/stdout"
[ ! -s "$out/stderr" ] || { echo "--- stderr ---"; cat "$out/stderr"; } >&2

if [ "$timed_out" = 1 ]; then
    tmpjob=""  # keep the job directory (and its console.log) for a look
    echo "vm: error: timeout after ${timeout}s; last console lines ($out/console.log):" >&2
    tail -n 20 "$out/console.log" >&2
    exit 124
fi
if [ ! -f "$out/rc" ]; then
    tmpjob=""
    echo "vm: error: guest stopped (qemu exit $qemu_rc) without a job result; last console lines ($out/console.log):" >&2
    tail -n 20 "$out/console.log" >&2
    exit 125
fi
rc=$(cat "$out/rc")
echo "vm: job exit $rc; wall ${wall}s (boot to job $(cat "$out/uptime-start" 2>/dev/null || echo ?)s, job ended at guest uptime $(cat "$out/uptime-end" 2>/dev/null || echo ?)s)" >&2
exit "$rc"
