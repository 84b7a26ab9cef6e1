#!/usr/bin/env python3
"""An independent producer of cosign and Notation signatures for Berth's tests, written from the
cosign specification (`specs/SIGNATURE_SPEC.md`: simple signing payloads) and the Notary
Project's (signature envelope JWS, signature specification), with the `cryptography` package.
Nothing here shares code with Berth's verifier.

  keygen ALG DIR                  ALG: ec-p256 | ec-p384 | rsa | ed25519; writes DIR/key.pem
                                  (PKCS#8) and DIR/pub.pem (SubjectPublicKeyInfo)
  cosign KEY DIGEST               prints {"payload": <base64 payload>, "signature": <base64>}:
                                  a simple signing payload for DIGEST and its signature
  ca DIR [--expired-leaf]         writes DIR/root.pem, DIR/intermediate.pem and a code-signing
                                  leaf (DIR/leaf.pem, DIR/leaf-key.pem) issued by the intermediate
  notation DIR MEDIA_TYPE DIGEST SIZE [--signing-time RFC3339]
                                  prints a Notation JWS envelope (JSON) for the target artifact,
                                  signed by DIR's leaf, with x5c = [leaf, intermediate]
"""
import base64
import datetime
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def b64(data):
    return base64.b64encode(data).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def private_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def keygen(alg, out):
    os.makedirs(out, exist_ok=True)
    key = {
        "ec-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "ec-p384": lambda: ec.generate_private_key(ec.SECP384R1()),
        "rsa": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ed25519": ed25519.Ed25519PrivateKey.generate,
    }[alg]()
    write(os.path.join(out, "key.pem"), private_pem(key))
    write(os.path.join(out, "pub.pem"), public_pem(key))


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def sigstore_sign(key, message):
    """What cosign does with each key type: ECDSA over SHA-256 (SHA-384 on P-384), DER
    signature; RSA PKCS#1 v1.5 with SHA-256; Ed25519 over the message itself."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        h = hashes.SHA384() if isinstance(key.curve, ec.SECP384R1) else hashes.SHA256()
        return key.sign(message, ec.ECDSA(h))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(message)


def cosign(key_path, digest):
    payload = json.dumps({
        "critical": {
            "identity": {"docker-reference": "berth.test/signed"},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": None,
    }, separators=(",", ":")).encode()
    sig = sigstore_sign(load_key(key_path), payload)
    print(json.dumps({"payload": b64(payload), "signature": b64(sig)}))


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Berth tests")])


def certificate(subject_key, subject, issuer_key, issuer, ca, not_before, not_after):
    b = (x509.CertificateBuilder()
         .subject_name(subject).issuer_name(issuer)
         .public_key(subject_key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                          key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, key_cert_sign=True, crl_sign=True,
                                          encipher_only=False, decipher_only=False), critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                          key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, key_cert_sign=False, crl_sign=False,
                                          encipher_only=False, decipher_only=False), critical=True)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def ca(out, expired_leaf):
    os.makedirs(out, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    inter_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    day = datetime.timedelta(days=1)
    root = certificate(root_key, name("Berth test root"), root_key, name("Berth test root"), True,
                       now - 30 * day, now + 3650 * day)
    inter = certificate(inter_key, name("Berth test intermediate"), root_key, root.subject, True,
                        now - 30 * day, now + 365 * day)
    if expired_leaf:
        leaf = certificate(leaf_key, name("Berth test signer"), inter_key, inter.subject, False,
                           now - 20 * day, now - 10 * day)
    else:
        leaf = certificate(leaf_key, name("Berth test signer"), inter_key, inter.subject, False,
                           now - day, now + 30 * day)
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)
    write(os.path.join(out, "root.pem"), pem(root))
    write(os.path.join(out, "intermediate.pem"), pem(inter))
    write(os.path.join(out, "leaf.pem"), pem(leaf))
    write(os.path.join(out, "leaf-key.pem"), private_pem(leaf_key))


def notation(out, media_type, digest, size, signing_time=None):
    leaf_key = load_key(os.path.join(out, "leaf-key.pem"))
    certs = []
    for f in ("leaf.pem", "intermediate.pem"):
        with open(os.path.join(out, f), "rb") as fh:
            certs.append(x509.load_pem_x509_certificate(fh.read()))
    if signing_time is None:
        leaf = certs[0]
        t = leaf.not_valid_before_utc + (leaf.not_valid_after_utc - leaf.not_valid_before_utc) / 2
        signing_time = t.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    protected = {
        "alg": "PS256",
        "crit": ["io.cncf.notary.signingScheme"],
        "cty": "application/vnd.cncf.notary.payload.v1+json",
        "io.cncf.notary.signingScheme": "notary.x509",
        "io.cncf.notary.signingTime": signing_time,
    }
    payload = {"targetArtifact": {"mediaType": media_type, "digest": digest, "size": int(size)}}
    p64 = b64url(json.dumps(protected, separators=(",", ":")).encode())
    b64p = b64url(json.dumps(payload, separators=(",", ":")).encode())
    sig = leaf_key.sign(f"{p64}.{b64p}".encode(),
                        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                        hashes.SHA256())
    envelope = {
        "payload": b64p,
        "protected": p64,
        "header": {
            "x5c": [b64(c.public_bytes(serialization.Encoding.DER)) for c in certs],
            "io.cncf.notary.signingAgent": "berth-tests/1.0",
        },
        "signature": b64url(sig),
    }
    print(json.dumps(envelope))


def main(argv):
    cmd = argv[0]
    if cmd == "keygen":
        keygen(argv[1], argv[2])
    elif cmd == "cosign":
        cosign(argv[1], argv[2])
    elif cmd == "ca":
        ca(argv[1], "--expired-leaf" in argv)
    elif cmd == "notation":
        st = argv[argv.index("--signing-time") + 1] if "--signing-time" in argv else None
        notation(argv[1], argv[2], argv[3], argv[4], st)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
