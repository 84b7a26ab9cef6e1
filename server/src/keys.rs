//! The keys every replica must hold alike: the token signing key (a token issued by one
//! replica is checked by another) and the sealing keys (a secret sealed by one is opened by
//! another). They are files in the keys directory (`keys_dir`, `<data_dir>/keys` by default),
//! which several replicas mount from one place (a Kubernetes Secret, a shared volume). At start
//! each replica compares the keys' fingerprints with those the first replica recorded in the
//! database and refuses to start with a clear message when they differ.

use crate::AppState;

pub async fn verify_shared(state: &AppState) -> anyhow::Result<()> {
    let config = &state.config;
    let mut keys = vec![
        (
            "token-signing",
            state.tokens.kid().to_string(),
            config.key_file(crate::auth::token::TOKEN_KEY_FILE),
        ),
        (
            "secrets",
            state.secrets.fingerprint().to_string(),
            config.key_file(crate::state::SECRETS_KEY_FILE),
        ),
    ];
    if let Some(oidc) = &state.oidc {
        keys.push((
            "oidc-refresh",
            oidc.seal_fingerprint().to_string(),
            config.oidc_seal_key_file(),
        ));
    }
    for (name, fingerprint, path) in keys {
        if let Err(recorded) =
            domain::service::bootstrap::shared_key(&state.db, name, &fingerprint).await?
        {
            anyhow::bail!(
                "the {name} key in {} (fingerprint {fingerprint}) is not the one the other \
                 replicas on this database use (fingerprint {recorded}): give every replica the \
                 same keys directory (`keys_dir`, see docs/high-availability.md)",
                path.display()
            );
        }
    }
    Ok(())
}
