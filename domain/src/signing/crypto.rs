//! Signature checks with `ring`, from a SubjectPublicKeyInfo.

use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION,
    OID_SIG_ED25519,
};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyType {
    P256,
    P384,
    Rsa,
    Ed25519,
}

fn key_type(spki: &SubjectPublicKeyInfo<'_>) -> Option<KeyType> {
    let oid = &spki.algorithm.algorithm;
    if *oid == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki.algorithm.parameters.as_ref()?.as_oid().ok()?;
        if curve == OID_EC_P256 {
            Some(KeyType::P256)
        } else if curve == OID_NIST_EC_P384 {
            Some(KeyType::P384)
        } else {
            None
        }
    } else if *oid == OID_PKCS1_RSAENCRYPTION {
        Some(KeyType::Rsa)
    } else if *oid == OID_SIG_ED25519 {
        Some(KeyType::Ed25519)
    } else {
        None
    }
}

fn check(
    algorithms: &[&'static dyn VerificationAlgorithm],
    key: &[u8],
    message: &[u8],
    sig: &[u8],
) -> bool {
    algorithms.iter().any(|alg| {
        UnparsedPublicKey::new(*alg, key)
            .verify(message, sig)
            .is_ok()
    })
}

/// A cosign (sigstore) signature over `message` by the key in `spki_der`: ECDSA with an ASN.1
/// signature and the curve's hash, RSA PKCS#1 v1.5 or PSS with SHA-256, or Ed25519.
pub(crate) fn verify_sigstore(spki_der: &[u8], message: &[u8], sig: &[u8]) -> bool {
    let Ok((_, spki)) = SubjectPublicKeyInfo::from_der(spki_der) else {
        return false;
    };
    let key = &spki.subject_public_key.data;
    match key_type(&spki) {
        Some(KeyType::P256) => check(&[&signature::ECDSA_P256_SHA256_ASN1], key, message, sig),
        Some(KeyType::P384) => check(&[&signature::ECDSA_P384_SHA384_ASN1], key, message, sig),
        Some(KeyType::Rsa) => check(
            &[
                &signature::RSA_PKCS1_2048_8192_SHA256,
                &signature::RSA_PSS_2048_8192_SHA256,
            ],
            key,
            message,
            sig,
        ),
        Some(KeyType::Ed25519) => check(&[&signature::ED25519], key, message, sig),
        None => false,
    }
}

/// A JWS signature (RFC 7515/7518) by the key in `spki`, for the algorithms the Notary Project
/// allows. `Err` names an algorithm Berth does not verify or one that does not fit the key.
pub(crate) fn verify_jws(
    spki: &SubjectPublicKeyInfo<'_>,
    alg: &str,
    message: &[u8],
    sig: &[u8],
) -> Result<bool, String> {
    let key = &spki.subject_public_key.data;
    let (algorithm, wanted): (&'static dyn VerificationAlgorithm, KeyType) = match alg {
        "ES256" => (&signature::ECDSA_P256_SHA256_FIXED, KeyType::P256),
        "ES384" => (&signature::ECDSA_P384_SHA384_FIXED, KeyType::P384),
        "PS256" => (&signature::RSA_PSS_2048_8192_SHA256, KeyType::Rsa),
        "PS384" => (&signature::RSA_PSS_2048_8192_SHA384, KeyType::Rsa),
        "PS512" => (&signature::RSA_PSS_2048_8192_SHA512, KeyType::Rsa),
        other => {
            return Err(format!(
                "signature algorithm `{other}` is not verified by Berth (ES256, ES384, PS256, \
                 PS384, PS512 are)"
            ))
        }
    };
    if key_type(spki) != Some(wanted) {
        return Err(format!(
            "signature algorithm `{alg}` does not fit the signing certificate's key"
        ));
    }
    Ok(check(&[algorithm], key, message, sig))
}
