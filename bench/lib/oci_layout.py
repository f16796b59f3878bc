#!/usr/bin/env python3
"""Writes an OCI image layout with generated content, for registry tests and benchmarks.

    oci_layout.py DIR --layers 5 --layer-bytes 41943040 [--seed N] [--tag latest] [--images K]

Each layer is a valid gzip-compressed tar (clients push it as is: digests survive a round trip) holding one file of pseudo-random bytes (seeded, so a
run is reproducible; a different seed gives different digests). With --images K the layout
holds K images tagged img-0 … img-(K-1), sharing nothing.
"""
import argparse, gzip, hashlib, io, json, os, random, tarfile


def blob(root, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(root, "blobs", "sha256", digest)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def layer_bytes(rng, size, name):
    payload = rng.randbytes(size)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(payload))
    return gzip.compress(out.getvalue(), compresslevel=1, mtime=0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--layer-bytes", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--images", type=int, default=0)
    parser.add_argument("--tag", default="latest")
    args = parser.parse_args()
    os.makedirs(os.path.join(args.dir, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(args.dir, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    rng = random.Random(args.seed)
    entries = []
    tags = [args.tag] if args.images == 0 else ["img-%d" % i for i in range(args.images)]
    for index, tag in enumerate(tags):
        layers, diff_ids = [], []
        for n in range(args.layers):
            data = layer_bytes(rng, args.layer_bytes, "data-%d-%d" % (index, n))
            diff_ids.append("sha256:" + hashlib.sha256(gzip.decompress(data)).hexdigest())
            layers.append(dict(blob(args.dir, data), mediaType="application/vnd.oci.image.layer.v1.tar+gzip"))
        config = {"architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
                  "config": {"Cmd": ["/bin/sh"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        config_desc = dict(blob(args.dir, json.dumps(config, sort_keys=True).encode()), mediaType="application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": config_desc, "layers": layers}
        manifest_desc = blob(args.dir, json.dumps(manifest, sort_keys=True).encode())
        entries.append(dict(manifest_desc, mediaType="application/vnd.oci.image.manifest.v1+json",
                            annotations={"org.opencontainers.image.ref.name": tag}))
    with open(os.path.join(args.dir, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": entries}, f)


if __name__ == "__main__":
    main()
