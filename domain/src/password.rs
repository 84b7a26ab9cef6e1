//! Password and secret hashing (argon2id, PHC strings) and generation of random secrets.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distributions::{Alphanumeric, DistString};

/// argon2id with 9 MiB of memory and 4 passes: one of OWASP's equivalent recommended settings,
/// chosen over 19 MiB x 2 so that concurrent sign-ins keep the server's memory small.
fn hasher() -> Argon2<'static> {
    let params = argon2::Params::new(9 * 1024, 4, 1, None).expect("valid argon2 parameters");
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// Hashes a secret with argon2id and a random salt.
pub fn hash(secret: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(secret.as_bytes(), &salt)
        .expect("argon2 with default parameters accepts any input")
        .to_string()
}

/// Checks a secret against a stored PHC hash; a malformed hash never verifies.
pub fn verify(secret: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random alphanumeric secret of `len` characters from the OS generator.
pub fn generate(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_do_not_contain_the_secret() {
        let h = hash("correct horse");
        assert!(h.starts_with("$argon2id$v=19$m=9216,t=4,p=1$"), "{h}");
        assert!(!h.contains("correct horse"));
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong horse", &h));
        assert!(!verify("correct horse", "not-a-hash"));
        assert_ne!(hash("same"), hash("same"), "salted");
    }

    #[test]
    fn generated_secrets_are_random() {
        let a = generate(24);
        assert_eq!(a.len(), 24);
        assert_ne!(a, generate(24));
    }
}
