#!/bin/sh
# Makes the benchmarks' /bin/true bundle in DIR (bench/run-bench.sh and bench/ab.sh): the
# hello bundle's config with process.args = ["/bin/true"] over a busybox rootfs.
# ociVersion is lowered to 1.0.2 because crun 1.8.1 rejects "1.2.0" ("unknown version
# specified"); nothing in the bundle needs a newer spec.
# Usage: bench/bundle-true.sh DIR
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bundle=${1:?usage: bundle-true.sh DIR}
mkdir -p "$bundle"
if [ ! -x "$bundle/rootfs/bin/busybox" ]; then
    "$top/examples/bundles/mkrootfs.sh" "$bundle/rootfs"
fi
"${PYTHON:-python3}" - "$top/examples/bundles/hello/config.json" "$bundle/config.json" <<'EOF'
import json, sys
src, dst = sys.argv[1], sys.argv[2]
with open(src) as f:
    config = json.load(f)
config["ociVersion"] = "1.0.2"
config["process"]["args"] = ["/bin/true"]
with open(dst, "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
EOF
