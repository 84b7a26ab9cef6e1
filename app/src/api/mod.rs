//! Server functions: thin adapters from the console to the server's services.

#[cfg(feature = "ssr")]
pub mod ctx;

use domain::types::InstanceInfo;
use leptos::prelude::*;

/// The prefix for every server function, kept clear of the registry (`/v2`) and the
/// Harbor-compatible REST API (`/api/v2.0`).
pub const SERVER_FN_PREFIX: &str = "/console/fn";

#[server(prefix = "/console/fn")]
pub async fn load_instance_info() -> Result<InstanceInfo, ServerFnError> {
    ctx::instance_info()
}
