#!/bin/sh
# One `vsbx run` of FILE with the benchmark's image runner (scripts/mkimage.py's image).
# `first` removes the runner, and with it its unpacked tree, and adds it again before the
# run, so the run pays the unpacking; `warm` runs it as it is. Both pay this script's sh.
# Usage: image-run.sh first|warm VSBX IMAGE RUNNERS FILE
set -eu
mode=$1 vsbx=$2 image=$3 runners=$4 file=$5
if [ "$mode" = first ]; then
    "$vsbx" runner rm benchimg --runners "$runners" >/dev/null 2>&1 || true
    "$vsbx" runner add benchimg --image "$image" --ext sh --command 'sh {file}' \
        --runners "$runners" >/dev/null
fi
VSBX_RUNNERS=$runners exec "$vsbx" run -q --runner benchimg --policy compute "$file"
