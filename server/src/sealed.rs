//! Secrets kept at rest (OIDC refresh tokens, scanner access credentials): sealed with
//! AES-256-GCM under a key file in the keys directory, created (mode 0600) on first use.
//! Sealed values are base64 of nonce ‖ ciphertext ‖ tag.

use std::path::Path;

use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};

pub struct Sealer {
    key: LessSafeKey,
    fingerprint: String,
}

impl Sealer {
    /// Loads the key file `path` (32 bytes), creating it on first start.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        let key = match std::fs::read(path) {
            Ok(bytes) if bytes.len() == 32 => bytes,
            Ok(_) => anyhow::bail!("{} must hold 32 bytes", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = vec![0u8; 32];
                SystemRandom::new()
                    .fill(&mut key)
                    .map_err(|_| anyhow::anyhow!("cannot generate a key"))?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                crate::auth::token::write_private(path, &key)?;
                key
            }
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        };
        let unbound = UnboundKey::new(&AES_256_GCM, &key)
            .map_err(|_| anyhow::anyhow!("invalid key in {}", path.display()))?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
            fingerprint: fingerprint_of(&key),
        })
    }

    /// Names the key without revealing it (a one-way digest): replicas compare theirs.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the OS random generator works");
        let mut data = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .expect("AES-GCM sealing of a short value succeeds");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    pub fn unseal(&self, sealed: &str) -> Option<String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, data) = bytes.split_at(12);
        let mut data = data.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut data)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

fn fingerprint_of(key: &[u8]) -> String {
    let mut input = b"berth key fingerprint v1\0".to_vec();
    input.extend_from_slice(key);
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}
