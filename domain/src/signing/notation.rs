//! Notation (Notary Project) signatures: a JWS envelope whose payload names the target artifact,
//! signed by the leaf of an `x5c` chain that must lead to a trusted CA certificate.

use serde_json::Value;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{base64_any, crypto, Anchor, AnchorKind, SignatureCheck, SignedSubject};

/// `artifactType` of a Notation signature manifest.
pub const ARTIFACT_TYPE: &str = "application/vnd.cncf.notary.signature";
pub const JWS: &str = "application/jose+json";
pub const COSE: &str = "application/cose";
const PAYLOAD_TYPE: &str = "application/vnd.cncf.notary.payload.v1+json";
const SIGNING_SCHEME: &str = "io.cncf.notary.signingScheme";
const SIGNING_TIME: &str = "io.cncf.notary.signingTime";
const EXPIRY: &str = "io.cncf.notary.expiry";
const AUTHENTIC_SIGNING_TIME: &str = "io.cncf.notary.authenticSigningTime";

fn rfc3339(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp())
}

fn when(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339())
        .unwrap_or_else(|| t.to_string())
}

/// Verifies a Notation signature layer (`media_type` and bytes) for `subject` at time `now`
/// (Unix seconds).
pub fn verify(
    subject: SignedSubject<'_>,
    signature_digest: &str,
    media_type: &str,
    envelope: &[u8],
    anchors: &[&Anchor],
    now: i64,
) -> SignatureCheck {
    match check(subject, media_type, envelope, anchors, now) {
        Ok(anchor) => {
            SignatureCheck::verified(AnchorKind::Notation, "notation", signature_digest, anchor)
        }
        Err(why) => SignatureCheck::failed(AnchorKind::Notation, "notation", signature_digest, why),
    }
}

fn check<'a>(
    subject: SignedSubject<'_>,
    media_type: &str,
    envelope: &[u8],
    anchors: &[&'a Anchor],
    now: i64,
) -> Result<&'a str, String> {
    if media_type == COSE {
        return Err("a COSE envelope: Berth verifies Notation's JWS envelope \
                    (`notation sign --signature-format jws`)"
            .into());
    }
    if media_type != JWS {
        return Err(format!("an envelope of media type `{media_type}`, not JWS"));
    }
    if anchors.is_empty() {
        return Err(
            "no Notation CA certificate is trusted in this project or system-wide: a \
                    project administrator adds one (project → Trust, or POST \
                    /api/v2.0/projects/{project}/trust/keys)"
                .into(),
        );
    }
    let malformed = |what: &str| format!("a malformed Notation signature: {what}");
    let doc: Value =
        serde_json::from_slice(envelope).map_err(|_| malformed("the envelope is not JSON"))?;
    let protected_b64 = doc["protected"]
        .as_str()
        .ok_or_else(|| malformed("no protected header"))?;
    let payload_b64 = doc["payload"]
        .as_str()
        .ok_or_else(|| malformed("no payload"))?;
    let signature = doc["signature"]
        .as_str()
        .and_then(base64_any)
        .ok_or_else(|| malformed("no base64url signature"))?;
    let protected: Value = base64_any(protected_b64)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| malformed("the protected header is not base64url JSON"))?;
    let payload: Value = base64_any(payload_b64)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| malformed("the payload is not base64url JSON"))?;

    // Protected headers the Notary Project defines; a critical one Berth does not know fails.
    if protected["cty"].as_str() != Some(PAYLOAD_TYPE) {
        return Err(malformed(
            "the content type is not a Notary Project payload",
        ));
    }
    match protected[SIGNING_SCHEME].as_str() {
        Some("notary.x509") => {}
        Some(other) => {
            return Err(format!(
                "signing scheme `{other}` is not verified by Berth (`notary.x509` is)"
            ))
        }
        None => return Err(malformed("no signing scheme")),
    }
    let critical: Vec<&str> = protected["crit"]
        .as_array()
        .map(|c| c.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !critical.contains(&SIGNING_SCHEME) {
        return Err(malformed("the signing scheme is not marked critical"));
    }
    if let Some(unknown) = critical
        .iter()
        .find(|c| ![SIGNING_SCHEME, EXPIRY, AUTHENTIC_SIGNING_TIME].contains(c))
    {
        return Err(format!("an unknown critical header `{unknown}`"));
    }
    let signing_time = protected[SIGNING_TIME]
        .as_str()
        .and_then(rfc3339)
        .ok_or_else(|| malformed("no RFC 3339 signing time"))?;
    let alg = protected["alg"]
        .as_str()
        .ok_or_else(|| malformed("no algorithm"))?;

    let chain_der: Vec<Vec<u8>> = doc["header"]["x5c"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|c| c.as_str().and_then(base64_any))
                .collect()
        })
        .unwrap_or_default();
    if chain_der.is_empty() {
        return Err(malformed("no certificate chain (`x5c`)"));
    }
    let mut chain = Vec::with_capacity(chain_der.len());
    for der in &chain_der {
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|_| malformed("a certificate in `x5c` does not parse"))?;
        chain.push(cert);
    }
    let anchor = trusted_root(&chain, &chain_der, anchors)?;

    let signed = format!("{protected_b64}.{payload_b64}");
    let leaf = &chain[0];
    if !crypto::verify_jws(leaf.public_key(), alg, signed.as_bytes(), &signature)? {
        return Err(
            "the signature does not verify with its signing certificate (the payload \
                    or the signature was altered)"
                .into(),
        );
    }

    let target = &payload["targetArtifact"];
    let (digest, media, size) = (
        target["digest"].as_str().unwrap_or_default(),
        target["mediaType"].as_str().unwrap_or_default(),
        target["size"].as_u64(),
    );
    if digest != subject.digest || media != subject.media_type || size != Some(subject.size) {
        return Err(format!(
            "the signature does not cover this digest: it covers {digest} ({media}, {} bytes), \
             not {} ({}, {} bytes)",
            size.map(|s| s.to_string()).unwrap_or_else(|| "?".into()),
            subject.digest,
            subject.media_type,
            subject.size
        ));
    }

    for cert in &chain {
        let v = cert.validity();
        let (from, to) = (v.not_before.timestamp(), v.not_after.timestamp());
        if signing_time < from || signing_time > to {
            return Err(format!(
                "the signing time {} is outside the validity of certificate `{}` ({} – {})",
                when(signing_time),
                cert.subject(),
                when(from),
                when(to)
            ));
        }
        // Without a trusted timestamp the signing time is only the signer's word: the chain
        // must also be valid now (the Notary Project's rule for `notary.x509`).
        if now > to {
            return Err(format!(
                "certificate `{}` expired at {}",
                cert.subject(),
                when(to)
            ));
        }
        if now < from {
            return Err(format!(
                "certificate `{}` is not valid before {}",
                cert.subject(),
                when(from)
            ));
        }
    }
    if let Some(expiry) = protected[EXPIRY].as_str() {
        let expiry = rfc3339(expiry).ok_or_else(|| malformed("an expiry that is not RFC 3339"))?;
        if now > expiry {
            return Err(format!("the signature expired at {}", when(expiry)));
        }
    }
    Ok(anchor)
}

/// Walks `chain` (leaf first), each certificate signed by the next, until one is a trusted
/// anchor or is signed by one. Returns the anchor's name.
fn trusted_root<'a>(
    chain: &[X509Certificate<'_>],
    chain_der: &[Vec<u8>],
    anchors: &[&'a Anchor],
) -> Result<&'a str, String> {
    let parsed: Vec<(&'a Anchor, X509Certificate<'_>)> = anchors
        .iter()
        .filter_map(|a| {
            X509Certificate::from_der(&a.der)
                .ok()
                .map(|(_, cert)| (*a, cert))
        })
        .collect();
    for (i, cert) in chain.iter().enumerate() {
        let same = parsed
            .iter()
            .find(|(a, _)| a.der == chain_der[i])
            .map(|(a, _)| *a);
        let issued_by = || {
            parsed
                .iter()
                .find(|(_, ca)| {
                    ca.subject() == cert.issuer()
                        && cert.verify_signature(Some(ca.public_key())).is_ok()
                })
                .map(|(a, _)| *a)
        };
        if let Some(a) = same.or_else(issued_by) {
            return Ok(&a.name);
        }
        let Some(issuer) = chain.get(i + 1) else {
            break;
        };
        if issuer.subject() != cert.issuer()
            || !issuer.is_ca()
            || cert.verify_signature(Some(issuer.public_key())).is_err()
        {
            return Err(format!(
                "the certificate chain is broken: `{}` is not issued by `{}`",
                cert.subject(),
                issuer.subject()
            ));
        }
    }
    let top = chain.last().expect("a chain of one or more");
    Err(format!(
        "the certificate chain is not rooted in a trusted CA: `{}` is issued by `{}`, which \
         is not among the {} trusted Notation CA certificate(s)",
        top.subject(),
        top.issuer(),
        anchors.len()
    ))
}
