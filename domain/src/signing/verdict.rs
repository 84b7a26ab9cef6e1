//! What Berth concluded about an artifact's signatures, stored per artifact and checked by
//! pulls.

use serde::{Deserialize, Serialize};

use super::AnchorKind;

/// One signature of an artifact and whether it verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureCheck {
    /// The trust it needs: a cosign key or a Notation CA.
    pub kind: AnchorKind,
    /// `cosign` (simple signing, by tag or referrer), `cosign-bundle` (sigstore bundle) or
    /// `notation`.
    pub format: String,
    /// The signature artifact's manifest digest.
    pub digest: String,
    /// The anchor that verified it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl SignatureCheck {
    pub fn verified(kind: AnchorKind, format: &str, digest: &str, key: &str) -> Self {
        Self {
            kind,
            format: format.into(),
            digest: digest.into(),
            key: Some(key.into()),
            verified: true,
            reason: None,
        }
    }

    pub fn failed(kind: AnchorKind, format: &str, digest: &str, reason: impl Into<String>) -> Self {
        Self {
            kind,
            format: format.into(),
            digest: digest.into(),
            key: None,
            verified: false,
            reason: Some(reason.into()),
        }
    }
}

/// An artifact's signatures, and the accessories that are not signatures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub signatures: Vec<SignatureCheck>,
    /// Digests of attestations (cosign `.att`, in-toto statements with another predicate):
    /// listed, never counted as signatures.
    #[serde(default)]
    pub attestations: Vec<String>,
    #[serde(default)]
    pub sboms: Vec<String>,
}

/// The artifact list's "Signed" column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedStatus {
    Verified,
    Invalid,
    Unsigned,
}

impl SignedStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Invalid => "invalid",
            Self::Unsigned => "unsigned",
        }
    }
}

impl Verdict {
    pub fn status(&self) -> SignedStatus {
        if self.signatures.iter().any(|s| s.verified) {
            SignedStatus::Verified
        } else if self.signatures.is_empty() {
            SignedStatus::Unsigned
        } else {
            SignedStatus::Invalid
        }
    }

    /// The signature that lets the artifact through a policy trusting the given kinds, or why
    /// nothing does.
    pub fn satisfies(&self, kinds: &[AnchorKind]) -> Result<&SignatureCheck, String> {
        let relevant: Vec<&SignatureCheck> = self
            .signatures
            .iter()
            .filter(|s| kinds.contains(&s.kind))
            .collect();
        if let Some(good) = relevant.iter().find(|s| s.verified) {
            return Ok(good);
        }
        let wanted = kinds
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(" or ");
        if !relevant.is_empty() {
            let reasons: Vec<String> = relevant
                .iter()
                .take(3)
                .map(|s| {
                    format!(
                        "{} signature {}: {}",
                        s.format,
                        short(&s.digest),
                        s.reason.as_deref().unwrap_or("not verified")
                    )
                })
                .collect();
            return Err(format!(
                "no {wanted} signature verifies against a trusted anchor: {}",
                reasons.join("; ")
            ));
        }
        if !self.attestations.is_empty() {
            return Err(format!(
                "unsigned: it has {} attestation(s) but no {wanted} signature, and attestations \
                 do not satisfy the signature policy",
                self.attestations.len()
            ));
        }
        Err(format!("unsigned: it has no {wanted} signature"))
    }
}

fn short(digest: &str) -> &str {
    let end = digest.len().min("sha256:".len() + 12);
    &digest[..end]
}
