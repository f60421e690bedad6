#!/bin/sh
# The image path of `make demo`: an OCI image becomes a runner and runs a script.
# The image is an oci-archive of the shell runner's busybox tree, written by scripts/mkimage.py
# (no engine, no registry; `podman save` or `docker save` output is taken the same way). The
# runner catalog is a temporary directory, removed at the end with the unpacked image.
# Usage: scripts/demo-image.sh VSBX
set -eu
vsbx=$1
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/vsbx-demo-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/runners"
python3 "$top/scripts/mkimage.py" "$top/examples/bundles/runners/shell/rootfs" "$work/busybox.tar"
set -x
"$vsbx" runner add busybox-image --image "$work/busybox.tar" --ext sh --command 'sh {file}' \
    --runners "$work/runners"
"$vsbx" runner list --runners "$work/runners"
"$vsbx" run --runners "$work/runners" --runner busybox-image --policy compute \
    "$top/examples/scripts/hello.sh"
"$vsbx" runner rm busybox-image --runners "$work/runners"
