#!/usr/bin/env bash
# Runs each built-in profile's workload under runc, as root, with /usr and /etc bind-mounted
# read-only from the host (busybox-static, python3 and node from Debian's packages).
# Not part of `cargo test` (needs root and runc). Usage: bash crates/policy/scripts/runc_smoke.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/../../.." && pwd)
target=${CARGO_TARGET_DIR:-$here/target}
cargo build -q -p vsbx-policy --example policy
policy=$target/debug/examples/policy
bundle=$(mktemp -d)
trap 'rm -rf "$bundle"' EXIT
mkdir -p "$bundle"/rootfs/{bin,usr,etc,proc,dev,sys,output,work} && chmod 1777 "$bundle"/rootfs/{output,work}
mkdir -m 1777 "$bundle/rootfs/tmp"   # runc keeps the mode of an existing tmpfs mountpoint
ln -s usr/lib "$bundle/rootfs/lib" && ln -s usr/lib64 "$bundle/rootfs/lib64"
cp /usr/bin/busybox "$bundle/rootfs/bin/"
(cd "$bundle" && runc spec && mv config.json config.base.json)
cat > "$bundle/rootfs/work/net.py" <<'PY'
import http.server, threading, urllib.request
srv = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
threading.Thread(target=srv.handle_request).start()
print(len(urllib.request.urlopen(f"http://localhost:{srv.server_port}/").read()) > 0)
PY
failures=0
run() {  # run PROFILE EXPECT(ok|fail) ARGS...
    local profile=$1 expect=$2; shift 2
    python3 - "$bundle/config.json" "$bundle/config.base.json" "$@" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[2]))
cfg["process"].update(terminal=False, args=sys.argv[3:], env=["PATH=/usr/bin:/bin", "HOME=/tmp"])
cfg["mounts"] += [{"destination": d, "type": "bind", "source": d, "options": ["rbind", "ro", "nosuid", "nodev"]} for d in ("/usr", "/etc")]
json.dump(cfg, open(sys.argv[1], "w"))
PY
    "$policy" apply "$profile" "$bundle/config.json" >/dev/null
    local status=ok
    echo input | timeout 60 runc run --bundle "$bundle" "vsbx-policy-smoke-$$" >/dev/null 2>&1 || status=fail
    if [[ $status == "$expect" ]]; then echo "ok   $profile: $*"; else echo "FAIL $profile ($status, wanted $expect): $*"; failures=$((failures + 1)); fi
}
run minimal ok /bin/busybox cat
run minimal fail /bin/busybox sh -c 'echo x > /tmp/x'
run io ok /bin/busybox cp /etc/hostname /output/h
run io fail /bin/busybox touch /etc/x
run compute ok /usr/bin/python3 -c 'import threading, subprocess; t = threading.Thread(target=print); t.start(); t.join(); subprocess.run(["/bin/busybox", "true"], check=True)'
run compute ok /usr/bin/node -e 'require("child_process").execFileSync("/bin/busybox", ["true"]); new (require("worker_threads").Worker)("1", {eval: true})'
run compute fail /usr/bin/python3 /work/net.py
run network ok /usr/bin/python3 /work/net.py
echo "$((8 - failures)) passed, $failures failed"
[[ $failures == 0 ]]
