//! cosign signatures: simple signing payloads (by the `sha256-<hex>.sig` tag or as an OCI 1.1
//! referrer) and sigstore bundles (v0.3, a DSSE envelope holding an in-toto statement), both
//! key-based.

use serde_json::Value;

use super::{base64_any, crypto, Anchor, AnchorKind, SignatureCheck};

pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// `artifactType` of a cosign signature pushed as an OCI 1.1 referrer.
pub const SIGNATURE_ARTIFACT_TYPE: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
/// `artifactType` (and layer media type) of a sigstore bundle v0.3.
pub const BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The in-toto predicate type of a cosign image signature in a bundle.
pub const SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
/// `critical.type` of a simple signing payload (cosign v2; v3 writes the predicate type).
pub const IMAGE_SIGNATURE_TYPE: &str = "cosign container image signature";
const IN_TOTO: &str = "application/vnd.in-toto+json";

/// Whether a media or artifact type is a sigstore bundle of any version.
pub fn is_bundle(media_type: &str) -> bool {
    media_type.starts_with("application/vnd.dev.sigstore.bundle")
}

fn untrusted(count: usize) -> String {
    if count == 0 {
        "no cosign key is trusted in this project or system-wide: a project administrator adds \
         one (project → Trust, or POST /api/v2.0/projects/{project}/trust/keys)"
            .into()
    } else {
        format!(
            "not signed by a trusted key: the signature verifies against none of the {count} \
             trusted cosign key(s) (an untrusted key, or a payload altered after signing)"
        )
    }
}

fn other_digest(covered: &str, subject: &str) -> String {
    format!("the signature does not cover this digest: it covers {covered}, not {subject}")
}

/// A simple signing layer: `payload` is the layer's bytes, `signature` its
/// `dev.cosignproject.cosign/signature` annotation.
pub fn verify_simple_signing(
    subject_digest: &str,
    signature_digest: &str,
    payload: &[u8],
    signature: Option<&str>,
    anchors: &[&Anchor],
) -> SignatureCheck {
    let fail =
        |why: String| SignatureCheck::failed(AnchorKind::Cosign, "cosign", signature_digest, why);
    let Some(signature) = signature else {
        return fail(format!(
            "the layer has no `{SIGNATURE_ANNOTATION}` annotation"
        ));
    };
    let Some(sig) = base64_any(signature) else {
        return fail(format!(
            "the `{SIGNATURE_ANNOTATION}` annotation is not base64"
        ));
    };
    let Some(anchor) = anchors
        .iter()
        .find(|a| crypto::verify_sigstore(&a.der, payload, &sig))
    else {
        return fail(untrusted(anchors.len()));
    };
    let Ok(doc) = serde_json::from_slice::<Value>(payload) else {
        return fail("the signed payload is not JSON".into());
    };
    let critical = &doc["critical"];
    let kind = critical["type"].as_str().unwrap_or_default();
    if kind != IMAGE_SIGNATURE_TYPE && kind != SIGN_PREDICATE {
        return fail(format!(
            "the signed payload is not an image signature (critical.type `{kind}`)"
        ));
    }
    let covered = critical["image"]["docker-manifest-digest"]
        .as_str()
        .unwrap_or_default();
    if covered != subject_digest {
        return fail(other_digest(covered, subject_digest));
    }
    SignatureCheck::verified(AnchorKind::Cosign, "cosign", signature_digest, &anchor.name)
}

/// What a bundle turned out to be.
#[derive(Debug)]
pub enum BundleContent {
    Signature(SignatureCheck),
    /// A statement with another predicate: an attestation, never a signature.
    Attestation {
        predicate_type: String,
    },
}

/// DSSE's pre-authentication encoding (DSSE v1 protocol).
fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// A sigstore bundle (the layer's bytes).
pub fn verify_bundle(
    subject_digest: &str,
    signature_digest: &str,
    bundle: &[u8],
    anchors: &[&Anchor],
) -> BundleContent {
    let fail = |why: String| {
        BundleContent::Signature(SignatureCheck::failed(
            AnchorKind::Cosign,
            "cosign-bundle",
            signature_digest,
            why,
        ))
    };
    let Ok(doc) = serde_json::from_slice::<Value>(bundle) else {
        return fail("the bundle is not JSON".into());
    };
    if !doc["mediaType"].as_str().is_some_and(is_bundle) {
        return fail("the bundle's mediaType is not a sigstore bundle".into());
    }
    let envelope = &doc["dsseEnvelope"];
    if envelope.is_null() {
        return fail(
            "the bundle holds a message signature, not a DSSE envelope: it signs a blob, not \
             a statement about this image"
                .into(),
        );
    }
    let payload_type = envelope["payloadType"].as_str().unwrap_or_default();
    let Some(body) = envelope["payload"].as_str().and_then(base64_any) else {
        return fail("the DSSE envelope has no base64 payload".into());
    };
    if payload_type != IN_TOTO {
        return fail(format!(
            "the DSSE payload type is `{payload_type}`, not an in-toto statement"
        ));
    }
    let Ok(statement) = serde_json::from_slice::<Value>(&body) else {
        return fail("the in-toto statement is not JSON".into());
    };
    let predicate_type = statement["predicateType"].as_str().unwrap_or_default();
    if predicate_type != SIGN_PREDICATE {
        return BundleContent::Attestation {
            predicate_type: predicate_type.into(),
        };
    }
    let material = &doc["verificationMaterial"];
    if material["publicKey"].is_null() {
        return fail(
            "a keyless signature (Fulcio certificate): Berth verifies signatures by keys its \
             operators trust; sign with `cosign sign --key`"
                .into(),
        );
    }
    let message = pae(payload_type, &body);
    let signatures: Vec<Vec<u8>> = envelope["signatures"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|s| s["sig"].as_str().and_then(base64_any))
                .collect()
        })
        .unwrap_or_default();
    if signatures.is_empty() {
        return fail("the DSSE envelope holds no signature".into());
    }
    let Some(anchor) = anchors.iter().find(|a| {
        signatures
            .iter()
            .any(|sig| crypto::verify_sigstore(&a.der, &message, sig))
    }) else {
        return fail(untrusted(anchors.len()));
    };
    let subject_hex = subject_digest
        .strip_prefix("sha256:")
        .unwrap_or(subject_digest);
    let subjects = statement["subject"].as_array().cloned().unwrap_or_default();
    if !subjects
        .iter()
        .any(|s| s["digest"]["sha256"].as_str() == Some(subject_hex))
    {
        let covered: Vec<String> = subjects
            .iter()
            .filter_map(|s| {
                s["digest"]["sha256"]
                    .as_str()
                    .map(|h| format!("sha256:{h}"))
            })
            .collect();
        let covered = if covered.is_empty() {
            "nothing".to_string()
        } else {
            covered.join(", ")
        };
        return fail(other_digest(&covered, subject_digest));
    }
    BundleContent::Signature(SignatureCheck::verified(
        AnchorKind::Cosign,
        "cosign-bundle",
        signature_digest,
        &anchor.name,
    ))
}
