//! Plain data shared between the console (wasm) and the server.

pub mod dto;
pub mod image;
mod names;
mod registry;
pub mod replication;

pub use names::{ProjectName, Role};
pub use registry::{Digest, DigestAlgorithm, Reference, RepoName, Tag};

use serde::{Deserialize, Serialize};

/// What the console needs to know about the signed-in person, if any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
}

/// Facts about the running instance shown in the console footer and the settings page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceInfo {
    pub version: String,
    pub auth_mode: String,
    pub database_backend: String,
    pub external_url: String,
    /// The label of the single sign-on button ("Login via <name>") when `auth_mode` is
    /// `oidc_auth`.
    pub oidc_name: Option<String>,
}

/// Who the OpenID provider says signed in, after the ID token was verified; kept in the session
/// while a first-time user picks a username.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcIdentity {
    pub issuer: String,
    pub subject: String,
    /// The value of the configured `user_claim`: the username Berth proposes.
    pub username: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    /// The `groups_claim` values that passed `group_filter`.
    pub groups: Vec<String>,
    /// Whether the user is in `admin_group`; `None` when no admin group is configured (the
    /// system-admin flag is then managed in Berth).
    pub is_admin: Option<bool>,
}

/// The CLI secret of the signed-in user: when it expires, and the secret itself only in the
/// answer that created it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CliSecretView {
    pub expires_at: Option<String>,
    pub secret: Option<String>,
}

/// The identity provider settings as system administrators see them; the client secret is
/// never included, only whether one is set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcSettingsView {
    pub name: String,
    pub endpoint: String,
    pub client_id: String,
    pub client_secret_set: bool,
    pub scope: String,
    pub verify_cert: bool,
    pub auto_onboard: bool,
    pub user_claim: String,
    pub groups_claim: String,
    pub admin_group: String,
    pub group_filter: String,
    pub extra_redirect_params: Vec<(String, String)>,
    pub cli_secret_lifetime_days: u64,
}
