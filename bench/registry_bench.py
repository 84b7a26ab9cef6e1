#!/usr/bin/env python3
"""Berth vs CNCF distribution (and nginx for raw file serving), side by side on loopback.

Started by bench/run.sh, which builds Berth, installs the reference servers and passes their
addresses. Every measurement alternates between the two registries and reports the median of
--rounds runs. Prints a Markdown table for docs/performance.md and writes results.json.
"""
import argparse
import base64
import concurrent.futures
import hashlib
import hmac
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse

CHUNK = 1 << 20


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Registry:
    def __init__(self, name, host, port, pid, auth=None):
        self.name, self.host, self.port, self.pid = name, host, port, pid
        self.auth = auth  # header value or None

    def conn(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=600)

    def headers(self, extra=None):
        h = dict(extra or {})
        if self.auth:
            h["Authorization"] = self.auth
        return h

    def request(self, method, path, body=None, headers=None, conn=None):
        c = conn or self.conn()
        c.request(method, path, body=body, headers=self.headers(headers))
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data


def file_chunks(path, start=0, length=None):
    with open(path, "rb") as f:
        f.seek(start)
        left = length
        while True:
            n = CHUNK if left is None else min(CHUNK, left)
            if n == 0:
                return
            b = f.read(n)
            if not b:
                return
            if left is not None:
                left -= len(b)
            yield b


def stream(reg, method, path, src, size, headers):
    c = reg.conn()
    h = reg.headers(headers)
    h["Content-Length"] = str(size)
    c.putrequest(method, path)
    for k, v in h.items():
        c.putheader(k, v)
    c.endheaders()
    for b in src:
        c.send(b)
    r = c.getresponse()
    r.read()
    hs = dict((k.lower(), v) for k, v in r.getheaders())
    c.close()
    return r.status, hs


def start_upload(reg, repo):
    status, h, _ = reg.request("POST", f"/v2/{repo}/blobs/uploads/")
    assert status == 202, (reg.name, status)
    loc = h["location"]
    if loc.startswith("http"):
        u = urllib.parse.urlsplit(loc)
        loc = u.path + ("?" + u.query if u.query else "")
    return loc


def with_query(loc, key, value):
    sep = "&" if "?" in loc else "?"
    return f"{loc}{sep}{key}={value}"


def push_monolithic(reg, repo, path, digest, size):
    loc = start_upload(reg, repo)
    t = time.perf_counter()
    status, _ = stream(reg, "PUT", with_query(loc, "digest", digest), file_chunks(path), size,
                       {"Content-Type": "application/octet-stream"})
    dt = time.perf_counter() - t
    assert status == 201, (reg.name, status)
    return size / dt / 1e6


def push_chunked(reg, repo, path, digest, size, chunk=64 << 20):
    loc = start_upload(reg, repo)
    t = time.perf_counter()
    offset = 0
    while offset < size:
        n = min(chunk, size - offset)
        status, h = stream(reg, "PATCH", loc, file_chunks(path, offset, n), n,
                           {"Content-Type": "application/octet-stream",
                            "Content-Range": f"{offset}-{offset + n - 1}"})
        assert status == 202, (reg.name, status)
        loc = h["location"]
        if loc.startswith("http"):
            u = urllib.parse.urlsplit(loc)
            loc = u.path + ("?" + u.query if u.query else "")
        offset += n
    status, _ = stream(reg, "PUT", with_query(loc, "digest", digest), iter(()), 0, {})
    dt = time.perf_counter() - t
    assert status == 201, (reg.name, status)
    return size / dt / 1e6


def pull(host, port, path, headers, size):
    c = http.client.HTTPConnection(host, port, timeout=600)
    t = time.perf_counter()
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    assert r.status == 200, (path, r.status)
    got = 0
    while True:
        b = r.read(4 << 20)
        if not b:
            break
        got += len(b)
    dt = time.perf_counter() - t
    c.close()
    assert got == size, (got, size)
    return size / dt / 1e6


def s3_get_headers(endpoint, key_path, access, secret, region="us-east-1"):
    """SigV4 headers for an unauthenticated-payload GET of `key_path` (`/bucket/key`): the
    reference read straight from the object store, with no registry in the way."""
    host = urllib.parse.urlparse(endpoint).netloc
    now = time.gmtime()
    amz_date, day = time.strftime("%Y%m%dT%H%M%SZ", now), time.strftime("%Y%m%d", now)
    payload = hashlib.sha256(b"").hexdigest()
    canonical = "\n".join(["GET", urllib.parse.quote(key_path), "", f"host:{host}",
                           f"x-amz-content-sha256:{payload}", f"x-amz-date:{amz_date}", "",
                           "host;x-amz-content-sha256;x-amz-date", payload])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (day, region, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    return {"x-amz-date": amz_date, "x-amz-content-sha256": payload,
            "Authorization": f"AWS4-HMAC-SHA256 Credential={access}/{scope}, "
                             f"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={sig}"}


def small_image(reg, repo, tag, seed):
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
    layer = (f"layer {seed} " * 200).encode()
    descs = []
    for blob in (config, layer):
        d = "sha256:" + hashlib.sha256(blob).hexdigest()
        status, _, _ = reg.request("POST", f"/v2/{repo}/blobs/uploads/?digest={d}", body=blob,
                                   headers={"Content-Type": "application/octet-stream"})
        if status != 201:  # distribution answers monolithic POST too; fall back to POST+PUT
            loc = start_upload(reg, repo)
            status, _, _ = reg.request("PUT", with_query(loc, "digest", d), body=blob)
        assert status == 201, (reg.name, status)
        descs.append((d, len(blob)))
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": descs[0][0], "size": descs[0][1]},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": descs[1][0], "size": descs[1][1]}],
    }).encode()
    status, _, _ = reg.request("PUT", f"/v2/{repo}/manifests/{tag}", body=manifest,
                               headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert status == 201, (reg.name, status)
    return manifest


def small_images(reg, round_no, images=200, workers=16):
    t = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda i: small_image(reg, f"bench/small{round_no}-{i % 20}", f"t{i}", f"{reg.name}-{round_no}-{i}"),
                      range(images)))
    return images / (time.perf_counter() - t)


def wrk_rps(reg, path, seconds):
    # distribution serves OCI manifests only to clients that accept them.
    args = ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-H", "Accept: application/vnd.oci.image.manifest.v1+json"]
    if reg.auth:
        args += ["-H", f"Authorization: {reg.auth}"]
    out = subprocess.run(args + [f"http://{reg.host}:{reg.port}{path}"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
        if "Non-2xx" in line:
            raise SystemExit(f"{reg.name}: wrk saw errors: {line}")
    raise SystemExit(out)


def tags_latency(reg, repo, manifest, count=2000, samples=30):
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        def put(i):
            s, _, _ = reg.request("PUT", f"/v2/{repo}/manifests/tag{i:05d}", body=manifest,
                                  headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
            assert s == 201
        list(pool.map(put, range(count)))
    times = []
    c = reg.conn()
    for _ in range(samples):
        t = time.perf_counter()
        status, _, body = reg.request("GET", f"/v2/{repo}/tags/list", conn=c)
        times.append((time.perf_counter() - t) * 1000)
        assert status == 200 and len(json.loads(body)["tags"]) >= count
    c.close()
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--berth", required=True)
    p.add_argument("--berth-pid", type=int, required=True)
    p.add_argument("--berth-user", required=True)
    p.add_argument("--berth-password", required=True)
    p.add_argument("--distribution", required=True)
    p.add_argument("--distribution-pid", type=int, required=True)
    p.add_argument("--nginx", required=True)
    p.add_argument("--blob", required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--wrk-seconds", type=int, default=10)
    p.add_argument("--s3", help="endpoint,bucket,access key,secret key: also read distribution's "
                   "copy of the blob straight from the object store")
    a = p.parse_args()

    size = os.path.getsize(a.blob)
    digest = "sha256:" + hashlib.sha256(open(a.blob, "rb").read()).hexdigest() if size < (2 << 30) else None
    bh, bp = a.berth.split(":")
    dh, dp = a.distribution.split(":")
    nh, np_ = a.nginx.split(":")

    # Berth runs with authentication on: a bearer token from its token service.
    basic = base64.b64encode(f"{a.berth_user}:{a.berth_password}".encode()).decode()
    c = http.client.HTTPConnection(bh, int(bp))
    scope = "&".join("scope=" + urllib.parse.quote(f"repository:bench/{r}:pull,push")
                     for r in ["big", "chunked", "tags"] + [f"small{n}-{i}" for n in range(a.rounds) for i in range(20)])
    c.request("GET", f"/service/token?service=berth&{scope}", headers={"Authorization": f"Basic {basic}"})
    r = c.getresponse()
    token = json.loads(r.read())["token"]
    berth = Registry("berth", bh, int(bp), a.berth_pid, auth=f"Bearer {token}")
    dist = Registry("distribution", dh, int(dp), a.distribution_pid)
    regs = [berth, dist]
    base_rss = {reg.name: rss_kib(reg.pid) for reg in regs}

    results = {reg.name: {} for reg in regs}
    results["nginx"] = {}
    results["store"] = {}

    def record(name, key, value):
        results[name].setdefault(key, []).append(value)

    for rnd in range(a.rounds):
        for reg in regs:
            record(reg.name, "push_monolithic_MBps", push_monolithic(reg, "bench/big", a.blob, digest, size))
            record(reg.name, "push_chunked_MBps", push_chunked(reg, f"bench/chunked", a.blob, digest, size))
        for reg in regs:
            record(reg.name, "pull_MBps", pull(reg.host, reg.port, f"/v2/bench/big/blobs/{digest}", reg.headers(), size))
        record("nginx", "pull_MBps", pull(nh, int(np_), "/blob.bin", {}, size))
        if a.s3:
            endpoint, bucket, access, secret = a.s3.split(",", 3)
            hexd = digest.split(":")[1]
            key = f"/{bucket}/distribution/docker/registry/v2/blobs/sha256/{hexd[:2]}/{hexd}/data"
            u = urllib.parse.urlparse(endpoint)
            record("store", "pull_MBps", pull(u.hostname, u.port, key, s3_get_headers(endpoint, key, access, secret), size))
        for reg in regs:
            record(reg.name, "small_images_per_s", small_images(reg, rnd))
    rss_after_blobs = {reg.name: rss_kib(reg.pid, "VmHWM") for reg in regs}

    manifests = {}
    for reg in regs:
        manifests[reg.name] = small_image(reg, "bench/tags", "base", "tags")
    for rnd in range(a.rounds):
        for reg in regs:
            record(reg.name, "manifest_get_rps", wrk_rps(reg, "/v2/bench/tags/manifests/base", a.wrk_seconds))
    for reg in regs:
        record(reg.name, "tags_list_2000_ms", tags_latency(reg, "bench/tags", manifests[reg.name]))
    for reg in regs:
        results[reg.name]["peak_rss_MiB"] = [rss_kib(reg.pid, "VmHWM") / 1024]
        results[reg.name]["rss_growth_during_large_blobs_MiB"] = [(rss_after_blobs[reg.name] - base_rss[reg.name]) / 1024]

    med = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in results.items()}
    json.dump({"raw": results, "median": med, "blob_bytes": size, "rounds": a.rounds}, open("results.json", "w"), indent=2)

    b, d = med["berth"], med["distribution"]
    rows = [
        ("Blob push, monolithic (MB/s)", "push_monolithic_MBps", True),
        ("Blob push, chunked 64 MiB (MB/s)", "push_chunked_MBps", True),
        ("Blob pull (MB/s)", "pull_MBps", True),
        ("Manifest GET, 64 connections (req/s)", "manifest_get_rps", True),
        ("200 small images, 16 pushers (images/s)", "small_images_per_s", True),
        ("Tags list, 2,000 tags (ms, median)", "tags_list_2000_ms", False),
        ("Peak RSS (MiB)", "peak_rss_MiB", False),
        ("RSS growth over the large-blob runs (MiB)", "rss_growth_during_large_blobs_MiB", False),
    ]
    print(f"| measurement | Berth | distribution | Berth / distribution |")
    print(f"| --- | ---: | ---: | ---: |")
    for label, key, _ in rows:
        ratio = b[key] / d[key] if d[key] else float("inf")
        print(f"| {label} | {b[key]:.1f} | {d[key]:.1f} | {ratio:.2f}× |")
    n = med["nginx"]["pull_MBps"]
    print(f"| nginx (sendfile) pull of the same file (MB/s) | | | {n:.1f} |")
    if a.s3:
        st = med["store"]["pull_MBps"]
        print(f"| the same blob read straight from the object store, no registry (MB/s) | | | {st:.1f} |")
        print(f"\nBerth pull = {100 * b['pull_MBps'] / st:.0f}% of the object store's own GET; "
              f"distribution pull = {100 * d['pull_MBps'] / st:.0f}%.")
    print(f"\nBerth pull = {100 * b['pull_MBps'] / n:.0f}% of nginx; distribution pull = {100 * d['pull_MBps'] / n:.0f}% of nginx.")
    print(f"Blob: {size / (1 << 20):.0f} MiB, {a.rounds} interleaved rounds, medians. Berth with bearer-token auth, distribution without auth.")


if __name__ == "__main__":
    sys.exit(main())
