//! Trust anchors as operators give them (PEM), validated and described for listings.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::SubjectPublicKeyInfo;

/// What an anchor vouches for: cosign signatures (a public key) or Notation signatures (a root
/// or intermediate CA certificate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnchorKind {
    Cosign,
    Notation,
}

impl AnchorKind {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "cosign" => Some(Self::Cosign),
            "notation" => Some(Self::Notation),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cosign => "cosign",
            Self::Notation => "notation",
        }
    }
}

/// An anchor as verification uses it: the DER of a SubjectPublicKeyInfo (cosign) or of a
/// certificate (Notation).
#[derive(Clone, Debug)]
pub struct Anchor {
    pub id: i64,
    pub name: String,
    pub kind: AnchorKind,
    pub der: Vec<u8>,
}

/// A validated anchor: what is stored, and what listings show.
#[derive(Clone, Debug)]
pub struct ParsedAnchor {
    pub der: Vec<u8>,
    /// The PEM block as given, normalised.
    pub pem: String,
    /// e.g. `ECDSA P-256`, `RSA 3072`, `Ed25519`.
    pub algorithm: String,
    /// `sha256:<hex>` of the DER.
    pub fingerprint: String,
    /// A certificate's subject.
    pub subject: Option<String>,
    /// A certificate's end of validity (Unix seconds).
    pub not_after: Option<i64>,
}

pub fn fingerprint(der: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(der)))
}

/// The key algorithms Berth verifies with, or why not.
pub(crate) fn describe_key(spki: &SubjectPublicKeyInfo<'_>) -> Result<String, String> {
    use x509_parser::oid_registry::{
        OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION,
        OID_SIG_ED25519,
    };
    use x509_parser::public_key::PublicKey;
    let oid = &spki.algorithm.algorithm;
    if *oid == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok());
        return match curve {
            Some(c) if c == OID_EC_P256 => Ok("ECDSA P-256".into()),
            Some(c) if c == OID_NIST_EC_P384 => Ok("ECDSA P-384".into()),
            Some(c) => Err(format!(
                "unsupported elliptic curve {c}: Berth verifies ECDSA on P-256 and P-384"
            )),
            None => Err("an EC key without a named curve".into()),
        };
    }
    if *oid == OID_PKCS1_RSAENCRYPTION {
        let bits = match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => rsa.key_size(),
            _ => return Err("an RSA key that does not parse".into()),
        };
        if bits < 2048 {
            return Err(format!(
                "an RSA key of {bits} bits: Berth accepts RSA keys of 2048 bits or more"
            ));
        }
        return Ok(format!("RSA {bits}"));
    }
    if *oid == OID_SIG_ED25519 {
        return Ok("Ed25519".into());
    }
    Err(format!(
        "unsupported key algorithm {oid}: Berth verifies ECDSA P-256/P-384, RSA (2048 bits or \
         more) and Ed25519 keys"
    ))
}

fn one_block(text: &str) -> Result<pem::Pem, String> {
    let blocks = pem::parse_many(text.trim()).map_err(|e| format!("this is not PEM: {e}"))?;
    if blocks.is_empty() {
        return Err("this is not PEM: it has no `-----BEGIN …-----` block".into());
    }
    let mut blocks = blocks.into_iter();
    let (Some(first), None) = (blocks.next(), blocks.next()) else {
        return Err(
            "exactly one PEM block is expected here (one key or one certificate per anchor)".into(),
        );
    };
    if first.tag().contains("PRIVATE KEY") {
        return Err(format!(
            "this is a private key (`{}`): give the public key or certificate; the private key \
             was not stored",
            first.tag()
        ));
    }
    Ok(first)
}

/// Validates what an operator gives for an anchor of `kind`: a cosign anchor is one public key
/// (`PUBLIC KEY`), a Notation anchor one CA certificate (`CERTIFICATE`).
pub fn parse(
    kind: AnchorKind,
    public_key: Option<&str>,
    certificate: Option<&str>,
) -> Result<ParsedAnchor, String> {
    match kind {
        AnchorKind::Cosign => {
            if certificate.is_some() {
                return Err(
                    "a cosign anchor is a public key: give `public_key` (PEM `PUBLIC \
                            KEY`), not `certificate`"
                        .into(),
                );
            }
            let text = public_key.ok_or("a cosign anchor needs `public_key` (PEM `PUBLIC KEY`)")?;
            let block = one_block(text)?;
            if block.tag() != "PUBLIC KEY" {
                return Err(format!(
                    "`public_key` is a `{}` block: give a `PUBLIC KEY` (SubjectPublicKeyInfo) \
                     block, as `cosign public-key` prints it",
                    block.tag()
                ));
            }
            let der = block.contents().to_vec();
            let (rest, spki) = SubjectPublicKeyInfo::from_der(&der)
                .map_err(|e| format!("`public_key` does not parse as a public key: {e}"))?;
            if !rest.is_empty() {
                return Err("`public_key` has trailing bytes after the key".into());
            }
            let algorithm = describe_key(&spki)?;
            Ok(ParsedAnchor {
                fingerprint: fingerprint(&der),
                pem: pem::encode(&block),
                der,
                algorithm,
                subject: None,
                not_after: None,
            })
        }
        AnchorKind::Notation => {
            if public_key.is_some() {
                return Err(
                    "a Notation anchor is a CA certificate: give `certificate` (PEM \
                            `CERTIFICATE`), not `public_key`"
                        .into(),
                );
            }
            let text =
                certificate.ok_or("a Notation anchor needs `certificate` (PEM `CERTIFICATE`)")?;
            let block = one_block(text)?;
            if block.tag() != "CERTIFICATE" {
                return Err(format!(
                    "`certificate` is a `{}` block: give a `CERTIFICATE` block",
                    block.tag()
                ));
            }
            let der = block.contents().to_vec();
            let (rest, cert) = X509Certificate::from_der(&der).map_err(|e| {
                format!("`certificate` does not parse as an X.509 certificate: {e}")
            })?;
            if !rest.is_empty() {
                return Err("`certificate` has trailing bytes after the certificate".into());
            }
            if !cert.is_ca() {
                return Err(format!(
                    "`{}` is not a CA certificate: a Notation anchor is the root or an \
                     intermediate CA that signing certificates chain to",
                    cert.subject()
                ));
            }
            let algorithm = describe_key(cert.public_key())?;
            Ok(ParsedAnchor {
                fingerprint: fingerprint(&der),
                pem: pem::encode(&block),
                subject: Some(cert.subject().to_string()),
                not_after: Some(cert.validity().not_after.timestamp()),
                der,
                algorithm,
            })
        }
    }
}

/// The DER an anchor's stored PEM holds (validated when it was added).
pub fn der_of(pem_text: &str) -> Option<Vec<u8>> {
    pem::parse(pem_text).ok().map(|p| p.contents().to_vec())
}
