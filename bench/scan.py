#!/usr/bin/env python3
"""Scanning benchmark (driven by bench/scan.sh against a running release Berth).

1. Memory: a 1 GiB gzip layer (a real Debian 12 dpkg status, os-release and 1 GiB of
   incompressible data) is pushed and scanned; Berth's RSS is sampled every 20 ms during the
   scan and compared with its RSS before.
2. Interference: a 256 MiB blob is pulled with curl (median of several pulls) while idle and
   while 20 images (32 MiB layers each) are being scanned; the ratio is reported.
"""
import base64, gzip, hashlib, io, json, os, statistics, subprocess, sys, tarfile, threading, time
import urllib.request

base, password, pid, work, vulndb = sys.argv[1:6]
auth = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
MIB = 1 << 20


def call(method, path, body=None, headers=None):
    req = urllib.request.Request(base + path, data=body, method=method)
    req.add_header("Authorization", auth)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=3600) as r:
        return r.status, r.read()


def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sha_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * MIB):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def push_file(repo, path):
    """POST a session, then stream the file in the closing PUT (curl -T never loads it whole)."""
    digest = sha_file(path)
    req = urllib.request.Request(f"{base}/v2/{repo}/blobs/uploads/", data=b"", method="POST")
    req.add_header("Authorization", auth)
    with urllib.request.urlopen(req) as r:
        location = r.headers["Location"]
    if location.startswith("/"):
        location = base + location
    sep = "&" if "?" in location else "?"
    subprocess.run(["curl", "-sf", "-o", "/dev/null", "-H", f"Authorization: {auth}",
                    "-H", "Content-Type: application/octet-stream", "-T", path,
                    f"{location}{sep}digest={digest}"], check=True)
    return digest, os.path.getsize(path)


def push_bytes(repo, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    call("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", data)
    return digest


def make_layer(path, noise_bytes, salt):
    """A gzip tar layer: os-release, the dpkg status, a salt file and `noise_bytes` of noise."""
    status = open(os.path.join(vulndb, "pkgdb", "debian12-dpkg-status-older"), "rb").read()
    diff = hashlib.sha256()

    class Tee(io.RawIOBase):
        def __init__(self, inner):
            self.inner = inner
        def writable(self):
            return True
        def write(self, b):
            diff.update(b)
            return self.inner.write(b)

    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz:
        tee = io.BufferedWriter(Tee(gz), 1 << 20)
        with tarfile.open(fileobj=tee, mode="w|") as tar:
            for name, data in [("etc/os-release", b'ID=debian\nVERSION_ID="12"\n'),
                               ("var/lib/dpkg/status", status), ("salt", salt.encode())]:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            info = tarfile.TarInfo("srv/blob.bin")
            info.size = noise_bytes
            block = os.urandom(4 * MIB)

            class Noise(io.RawIOBase):
                left = noise_bytes
                def readable(self):
                    return True
                def readinto(self, b):
                    n = min(len(b), self.left, len(block))
                    b[:n] = block[:n]
                    self.left -= n
                    return n

            tar.addfile(info, io.BufferedReader(Noise(), 1 << 20))
        tee.flush()
    return "sha256:" + diff.hexdigest()


def push_image(repo, tag, layer_path, diff_id):
    layer_digest, layer_size = push_file(repo, layer_path)
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": push_bytes(repo, config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest, "size": layer_size}],
    }).encode()
    call("PUT", f"/v2/{repo}/manifests/{tag}", manifest,
         {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})


MIME = "application/vnd.security.vulnerability.report; version=1.1"


def status_of(repo, tag):
    _, body = call("GET", f"/api/v2.0/projects/bench/repositories/{repo}/artifacts/{tag}?with_scan_overview=true")
    return json.loads(body).get("scan_overview", {}).get(MIME, {})


call("POST", "/api/v2.0/projects", json.dumps({"project_name": "bench"}).encode(),
     {"Content-Type": "application/json"})

# 1. Memory while scanning a 1 GiB layer.
big = os.path.join(work, "big.tar.gz")
print("building a 1 GiB gzip layer …", flush=True)
diff = make_layer(big, 1024 * MIB, "big")
print(f"layer: {os.path.getsize(big) / MIB:.0f} MiB compressed, 1 GiB+ uncompressed", flush=True)
push_image("bench/big", "v1", big, diff)
os.remove(big)
time.sleep(1)
before = rss_kib()
peak = [before]
done = threading.Event()


def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss_kib())
        time.sleep(0.02)


sampler = threading.Thread(target=sample)
sampler.start()
t0 = time.time()
call("POST", "/api/v2.0/projects/bench/repositories/big/artifacts/v1/scan")
while (s := status_of("big", "v1")).get("scan_status") not in ("Success", "Error"):
    time.sleep(0.2)
scan_s = time.time() - t0
done.set()
sampler.join()
assert s["scan_status"] == "Success", s
findings = s["summary"]["total"]
print(f"1 GiB layer: scanned in {scan_s:.1f} s, {findings} findings; Berth RSS {before / 1024:.1f} MiB before, "
      f"peak {peak[0] / 1024:.1f} MiB during the scan (+{(peak[0] - before) / 1024:.1f} MiB)", flush=True)

# 2. Pull latency while 20 images are being scanned.
print("building and pushing 20 images with 32 MiB layers and one 256 MiB blob …", flush=True)
for i in range(20):
    path = os.path.join(work, f"l{i}.tar.gz")
    d = make_layer(path, 32 * MIB, f"image {i}")
    push_image(f"bench/img{i}", "v1", path, d)
    os.remove(path)
pull_blob = os.path.join(work, "pull.bin")
with open(pull_blob, "wb") as f:
    for _ in range(64):
        f.write(os.urandom(4 * MIB))
pull_digest, _ = push_file("bench/pull", pull_blob)
os.remove(pull_blob)


def pull_seconds():
    t = time.time()
    subprocess.run(["curl", "-sf", "-o", "/dev/null", "-H", f"Authorization: {auth}",
                    f"{base}/v2/bench/pull/blobs/{pull_digest}"], check=True)
    return time.time() - t


idle = [pull_seconds() for _ in range(7)]
_, body = call("POST", "/api/v2.0/system/scanAll/schedule",
               json.dumps({"schedule": {"type": "Manual"}}).encode(), {"Content-Type": "application/json"})
queued = json.loads(body)["queued"]
busy = []
t0 = time.time()
while True:
    busy.append(pull_seconds())
    _, m = call("GET", "/api/v2.0/scans/all/metrics")
    if not json.loads(m)["ongoing"]:
        break
scan_all_s = time.time() - t0
idle_m, busy_m = statistics.median(idle), statistics.median(busy)
print(f"256 MiB pull: median {idle_m * 1000:.0f} ms idle ({256 / idle_m:.0f} MB/s), "
      f"{busy_m * 1000:.0f} ms while {queued} images were scanned ({256 / busy_m:.0f} MB/s; "
      f"{busy_m / idle_m:.2f}x slower, {len(busy)} pulls); the scans took {scan_all_s:.1f} s", flush=True)
print(json.dumps({"scan_1gib_s": round(scan_s, 1), "rss_before_mib": round(before / 1024, 1),
                  "rss_peak_mib": round(peak[0] / 1024, 1), "pull_idle_ms": round(idle_m * 1000),
                  "pull_during_scans_ms": round(busy_m * 1000), "slowdown": round(busy_m / idle_m, 2),
                  "images_scanned": queued, "scan_all_s": round(scan_all_s, 1)}))
