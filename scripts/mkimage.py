#!/usr/bin/env python3
"""Write an oci-archive of one directory tree, without a registry or an engine.

Usage: mkimage.py TREE OUT.tar

One gzip layer holding TREE, a config naming its diff_id (PATH set, no Cmd) and a manifest,
in the OCI image layout, tarred: what `podman save --format oci-archive` writes for a
one-layer image. The benchmark's image-runner rows (bench/run-bench.sh) and `make demo`
(scripts/demo-image.sh) add it with `vsbx runner add --image`.
"""
import gzip
import hashlib
import io
import json
import sys
import tarfile


def blob(files, data, media_type):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    files["blobs/sha256/" + digest.split(":")[1]] = data
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    tree, out = sys.argv[1], sys.argv[2]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        t.add(tree, arcname=".")
    layer_tar = raw.getvalue()
    files = {}
    layer = blob(files, gzip.compress(layer_tar, mtime=0),
                 "application/vnd.oci.image.layer.v1.tar+gzip")
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin:/bin"]},
        "rootfs": {"type": "layers",
                   "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
    }
    cfg = blob(files, json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": cfg, "layers": [layer]}
    man = blob(files, json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
    man["annotations"] = {"org.opencontainers.image.ref.name": "bench:1"}
    files["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [man]}).encode()
    files["oci-layout"] = json.dumps({"imageLayoutVersion": "1.0.0"}).encode()
    with tarfile.open(out, "w") as t:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
