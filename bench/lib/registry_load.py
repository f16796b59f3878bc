#!/usr/bin/env python3
"""Load for registry benchmarks, speaking the distribution API itself (the same client for
Berth and docker-registry): HTTPS with keep-alive per thread, an optional bearer token.

  registry_load.py BASE --cacert CA [--token T] push-many --images N --concurrency C
      pushes N small images (one 2 KiB layer, a config, a manifest) to bench/img-K:v1;
      prints {"images": N, "seconds": S, "errors": E}
  registry_load.py BASE ... pull-many --images N --concurrency C
      pulls what push-many pushed (manifest, config, layer of each); same output
  registry_load.py BASE ... mixed --pushers P --pullers Q --seconds S --repo R --tag T
      P threads push small images in a loop while Q threads GET R:T's manifest (pushers in one
      process, pullers in processes of at most 125 threads each);
      prints {"gets": …, "get_p50_ms": …, "get_p99_ms": …, "pushes": …, "errors": …}
  registry_load.py BASE ... blobs --count N --concurrency C --repo R
      uploads N distinct small blobs nobody refers to; prints {"blobs": N, "seconds": S, "errors": E}
"""
import argparse, hashlib, http.client, json, os, ssl, subprocess, sys, threading, time
from urllib.parse import urlparse


class Client:
    def __init__(self, base, cacert, token):
        url = urlparse(base)
        self.host, self.port = url.hostname, url.port
        self.context = ssl.create_default_context(cafile=cacert) if url.scheme == "https" else None
        self.token = token
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        for attempt in range(2):
            if self.conn is None:
                if self.context:
                    self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=120)
                else:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                return response.status, response.getheader("Location"), data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise

    def upload(self, repo, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        status, location, _ = self.request("POST", "/v2/%s/blobs/uploads/" % repo)
        if status != 202:
            raise RuntimeError("POST upload: %d" % status)
        if location.startswith("http"):
            location = urlparse(location)._replace(scheme="", netloc="").geturl()
        separator = "&" if "?" in location else "?"
        status, _, _ = self.request("PUT", location + separator + "digest=" + digest, body=data,
                                    headers={"Content-Type": "application/octet-stream"})
        if status != 201:
            raise RuntimeError("PUT blob: %d" % status)
        return {"digest": digest, "size": len(data)}

    def push_image(self, repo, tag, seed):
        layer = self.upload(repo, hashlib.sha512(seed.encode()).digest() * 32)
        config = self.upload(repo, json.dumps({"architecture": "amd64", "os": "linux", "seed": seed,
                                               "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}).encode())
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"),
                               "layers": [dict(layer, mediaType="application/vnd.oci.image.layer.v1.tar")]}).encode()
        status, _, _ = self.request("PUT", "/v2/%s/manifests/%s" % (repo, tag), body=manifest,
                                    headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        if status != 201:
            raise RuntimeError("PUT manifest: %d" % status)


def run_threads(count, target):
    threads = [threading.Thread(target=target, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("--cacert")
    parser.add_argument("--token")
    parser.add_argument("mode", choices=["push-many", "pull-many", "mixed", "mixed-part", "blobs"])
    parser.add_argument("--role", choices=["push", "pull"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pushers", type=int, default=100)
    parser.add_argument("--pullers", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--repo", default="bench/app")
    parser.add_argument("--tag", default="v1")
    parser.add_argument("--prefix", default=str(os.getpid()))
    args = parser.parse_args()
    errors = []
    lock = threading.Lock()

    def failed(error):
        with lock:
            errors.append(str(error))

    started = time.monotonic()
    if args.mode == "push-many":
        def pusher(index):
            client = Client(args.base, args.cacert, args.token)
            for k in range(index, args.images, args.concurrency):
                try:
                    client.push_image("bench/img-%d" % k, "v1", "%s-%d" % (args.prefix, k))
                except Exception as error:
                    failed(error)
        run_threads(args.concurrency, pusher)
        print(json.dumps({"images": args.images, "seconds": round(time.monotonic() - started, 3), "errors": len(errors),
                          "first_error": errors[0] if errors else None}))
    elif args.mode == "pull-many":
        # What push-many pushed: each manifest, then its config and layer.
        def puller(index):
            client = Client(args.base, args.cacert, args.token)
            for k in range(index, args.images, args.concurrency):
                try:
                    status, _, body = client.request("GET", "/v2/bench/img-%d/manifests/v1" % k,
                                                     headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
                    if status != 200:
                        raise RuntimeError("GET manifest: %d" % status)
                    manifest = json.loads(body)
                    for blob in [manifest["config"]] + manifest["layers"]:
                        status, _, data = client.request("GET", "/v2/bench/img-%d/blobs/%s" % (k, blob["digest"]))
                        if status != 200 or len(data) != blob["size"]:
                            raise RuntimeError("GET blob: %d" % status)
                except Exception as error:
                    failed(error)
        run_threads(args.concurrency, puller)
        print(json.dumps({"images": args.images, "seconds": round(time.monotonic() - started, 3), "errors": len(errors),
                          "first_error": errors[0] if errors else None}))
    elif args.mode == "blobs":
        def uploader(index):
            client = Client(args.base, args.cacert, args.token)
            for k in range(index, args.count, args.concurrency):
                try:
                    client.upload(args.repo, ("garbage-%s-%d" % (args.prefix, k)).encode() * 8)
                except Exception as error:
                    failed(error)
        run_threads(args.concurrency, uploader)
        print(json.dumps({"blobs": args.count, "seconds": round(time.monotonic() - started, 3), "errors": len(errors),
                          "first_error": errors[0] if errors else None}))
    elif args.mode == "mixed":
        # Pushers and pullers in processes of their own (a puller process per 125 threads):
        # in one Python process, fast GETs would starve the pushers' threads of the GIL.
        Client(args.base, args.cacert, args.token).push_image(args.repo, args.tag, "mixed-base-" + args.prefix)
        common = [sys.executable, __file__, args.base]
        if args.cacert:
            common += ["--cacert", args.cacert]
        if args.token:
            common += ["--token", args.token]
        common += ["mixed-part", "--seconds", str(args.seconds), "--repo", args.repo, "--tag", args.tag, "--prefix", args.prefix]
        parts = []
        if args.pushers:
            parts.append(subprocess.Popen(common + ["--role", "push", "--threads", str(args.pushers)], stdout=subprocess.PIPE))
        remaining = args.pullers
        while remaining > 0:
            threads = min(125, remaining)
            remaining -= threads
            parts.append(subprocess.Popen(common + ["--role", "pull", "--threads", str(threads)], stdout=subprocess.PIPE))
        latencies, pushes, failures = [], 0, []
        for part in parts:
            out, _ = part.communicate()
            result = json.loads(out)
            latencies += result["latencies"]
            pushes += result["pushes"]
            failures += result["errors"]
        print(json.dumps({"gets": len(latencies), "get_p50_ms": round(percentile(latencies, 0.5) or 0, 2),
                          "get_p99_ms": round(percentile(latencies, 0.99) or 0, 2), "pushes": pushes,
                          "errors": len(failures), "first_error": failures[0] if failures else None}))
    else:
        deadline = time.monotonic() + args.seconds
        latencies, pushes = [], [0]

        def puller(index):
            client = Client(args.base, args.cacert, args.token)
            mine = []
            while time.monotonic() < deadline:
                began = time.monotonic()
                try:
                    status, _, _ = client.request("GET", "/v2/%s/manifests/%s" % (args.repo, args.tag),
                                                  headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
                    if status != 200:
                        failed("GET manifest: %d" % status)
                except Exception as error:
                    failed(error)
                mine.append((time.monotonic() - began) * 1000)
            with lock:
                latencies.extend(mine)

        def pusher(index):
            client = Client(args.base, args.cacert, args.token)
            k = 0
            while time.monotonic() < deadline:
                try:
                    client.push_image("bench/mixed-%s-%d" % (args.prefix, index), "t%d" % k, "%s-%d-%d" % (args.prefix, index, k))
                    with lock:
                        pushes[0] += 1
                except Exception as error:
                    failed(error)
                k += 1

        run_threads(args.threads, puller if args.role == "pull" else pusher)
        print(json.dumps({"latencies": [round(value, 3) for value in latencies], "pushes": pushes[0], "errors": errors}))


if __name__ == "__main__":
    sys.exit(main())
