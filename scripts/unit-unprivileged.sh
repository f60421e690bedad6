#!/bin/sh
# Runs vsbx-runtime's library unit tests as an unprivileged user (uid/gid 65534, no
# supplementary groups, no capabilities): the order rules of the container init are tested
# through the recording fake of linux::sys, and none of those tests may need root.
set -eu
cd "$(dirname "$0")/.."
bin=$(cargo test -p vsbx-runtime --lib --no-run --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["lib"]:
        print(m["executable"])
')
[ -n "$bin" ] || { echo "unit-unprivileged: no test binary for vsbx-runtime's lib" >&2; exit 1; }
if [ "$(id -u)" -ne 0 ]; then
    exec "$bin"
fi
cd crates/runtime
exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
    env HOME=/tmp "$bin"
