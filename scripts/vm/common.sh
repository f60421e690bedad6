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

# Prints "TEST-NAME EXECUTABLE" for each integration test binary that
# `cargo test --no-run --message-format=json ARGS...` builds.
test_binaries() {
    ${CARGO:-cargo} test --no-run --message-format=json "$@" 2>/dev/null |
        python3 -c '
import json, sys
for line in sys.stdin:
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if d.get("reason") == "compiler-artifact" and d.get("executable") and d["target"]["kind"] == ["test"]:
        print(d["target"]["name"], d["executable"])
'
}
