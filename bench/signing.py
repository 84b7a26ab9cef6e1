#!/usr/bin/env python3
"""Manifest GET with and without an enforced signature policy (started by bench/signing.sh).

Pushes one small image to project `plain` (no policy) and to project `signed`
(`enable_content_trust_cosign`, `signature_policy: enforce`), signs the latter with cosign's
tag scheme (payload and signature by server/tests/signing/sign.py), trusts the key, checks that
an unsigned pull is refused, then runs wrk against both manifests in interleaved rounds."""
import base64
import hashlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import urllib.parse

host, password, work, seconds, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
h, p = host.split(":")
SIGN = os.path.join(os.path.dirname(__file__), "..", "server", "tests", "signing", "sign.py")
OCI = "application/vnd.oci.image.manifest.v1+json"
basic = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()


def request(method, path, body=None, headers=None, auth=basic):
    c = http.client.HTTPConnection(h, int(p))
    hs = dict(headers or {})
    if auth:
        hs["Authorization"] = auth
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        hs["Content-Type"] = "application/json"
    c.request(method, path, body=body, headers=hs)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def blob(repo, data):
    d = digest(data)
    s, body = request("POST", f"/v2/{repo}/blobs/uploads/?digest={d}", data, {"Content-Type": "application/octet-stream"})
    assert s == 201, (s, body)
    return {"digest": d, "size": len(data)}


def manifest(repo, ref, m):
    data = json.dumps(m).encode()
    s, body = request("PUT", f"/v2/{repo}/manifests/{ref}", data, {"Content-Type": OCI})
    assert s == 201, (s, body)
    return digest(data)


def image(repo):
    config = blob(repo, b'{"architecture":"amd64","os":"linux"}')
    layer = blob(repo, b"a layer of a signed image" * 40)
    return manifest(repo, "v1", {"schemaVersion": 2, "mediaType": OCI,
                                 "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                                 "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer}]})


def wrk(path, auth):
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", "-H", f"Accept: {OCI}", "-H", f"Authorization: {auth}",
                          f"http://{host}{path}"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if "Non-2xx" in line:
            raise SystemExit(f"wrk saw errors on {path}: {line}")
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise SystemExit(out)


for name, metadata in [("plain", {}), ("signed", {"enable_content_trust_cosign": "true", "signature_policy": "enforce"})]:
    s, body = request("POST", "/api/v2.0/projects", {"project_name": name, "metadata": metadata})
    assert s == 201, (s, body)
plain = image("plain/app")
signed = image("signed/app")
# A developer pulls (system administrators are exempt from the policy).
s, body = request("POST", "/api/v2.0/users", {"username": "puller", "email": "puller@example.com",
                                              "realname": "puller", "password": "Puller-Passw0rd"})
assert s == 201, (s, body)
for name in ("plain", "signed"):
    s, body = request("POST", f"/api/v2.0/projects/{name}/members", {"role_id": 2, "member_user": {"username": "puller"}})
    assert s == 201, (s, body)
puller_basic = "Basic " + base64.b64encode(b"puller:Puller-Passw0rd").decode()
# A bearer token from the token service, as docker and podman use (Basic on every request would
# measure password hashing).
scope = "&".join("scope=" + urllib.parse.quote(f"repository:{n}/app:pull") for n in ("plain", "signed"))
s, body = request("GET", f"/service/token?service=berth&{scope}", auth=puller_basic)
assert s == 200, (s, body)
puller = "Bearer " + json.loads(body)["token"]
s, _ = request("GET", "/v2/signed/app/manifests/v1", headers={"Accept": OCI}, auth=puller)
assert s == 412, f"an unsigned pull under enforce must be refused, got {s}"

keys = os.path.join(work, "key")
subprocess.run(["python3", SIGN, "keygen", "ec-p256", keys], check=True)
signature = json.loads(subprocess.run(["python3", SIGN, "cosign", os.path.join(keys, "key.pem"), signed],
                                      check=True, capture_output=True, text=True).stdout)
payload = base64.b64decode(signature["payload"])
config = blob("signed/app", b"{}")
layer = blob("signed/app", payload)
manifest("signed/app", "sha256-" + signed.split(":")[1] + ".sig",
         {"schemaVersion": 2, "mediaType": OCI,
          "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
          "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", **layer,
                      "annotations": {"dev.cosignproject.cosign/signature": signature["signature"]}}]})
s, body = request("POST", "/api/v2.0/projects/signed/trust/keys",
                  {"name": "bench", "kind": "cosign", "public_key": open(os.path.join(keys, "pub.pem")).read()})
assert s == 201, (s, body)
s, _ = request("GET", "/v2/signed/app/manifests/v1", headers={"Accept": OCI}, auth=puller)
assert s == 200, f"the signed pull must be served, got {s}"

results = {"no policy": [], "enforce, signed": []}
for _ in range(rounds):
    results["no policy"].append(wrk("/v2/plain/app/manifests/v1", puller))
    results["enforce, signed"].append(wrk("/v2/signed/app/manifests/v1", puller))
med = {k: statistics.median(v) for k, v in results.items()}
print("| manifest GET, 64 connections | req/s (median) | rounds |")
print("| --- | ---: | --- |")
for k, v in results.items():
    print(f"| {k} | {med[k]:.0f} | {', '.join(f'{x:.0f}' for x in v)} |")
print(f"\nenforce / no policy = {med['enforce, signed'] / med['no policy']:.3f}")
