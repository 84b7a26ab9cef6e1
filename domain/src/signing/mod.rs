//! Image signatures: trust anchors and the cryptographic verification of cosign and Notation
//! signatures against them. Pure functions over bytes; `service::registry::signatures` finds an
//! artifact's signatures, stores the verdict and enforces it on pulls.

pub mod anchors;
pub mod cosign;
mod crypto;
pub mod notation;
pub mod verdict;

pub use anchors::{Anchor, AnchorKind, ParsedAnchor};
pub use verdict::{SignatureCheck, Verdict};

/// The artifact a signature must cover.
#[derive(Clone, Copy, Debug)]
pub struct SignedSubject<'a> {
    /// `sha256:<hex>` of the manifest.
    pub digest: &'a str,
    pub media_type: &'a str,
    pub size: u64,
}

/// Base64 in either alphabet, padded or not (cosign writes standard, JWS URL-safe unpadded).
pub(crate) fn base64_any(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    let trimmed = text.trim();
    STANDARD
        .decode(trimmed)
        .ok()
        .or_else(|| URL_SAFE_NO_PAD.decode(trimmed.trim_end_matches('=')).ok())
}
