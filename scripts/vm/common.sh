# Shared settings for scripts/vm/*.sh (sourced, not run).
# VM_WORK holds everything downloaded or built (git-ignored): qemu, the guest image.
VM_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VM_WORK=${VM_WORK:-$VM_ROOT/tests/vm/work}
QEMU_BIN=$VM_WORK/qemu/usr/bin/qemu-system-x86_64
IMAGE_DIR=$VM_WORK/image
mkdir -p "$VM_WORK"

die() {
    echo "vm: error: $*" >&2
    exit 1
}
