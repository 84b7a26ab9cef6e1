//! Plain data shared between the console (wasm) and the server.

pub mod dto;
mod names;
mod registry;

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
}
