//! The one way server functions reach server state: values the server put into Leptos context.

use domain::types::InstanceInfo;
use leptos::prelude::*;

/// Instance facts provided by the server for every request.
pub fn instance_info() -> Result<InstanceInfo, ServerFnError> {
    use_context::<InstanceInfo>()
        .ok_or_else(|| ServerFnError::new("server context is missing instance information"))
}
