//! The domain events' consumers (system administrators): `GET /system/events/consumers` lists
//! each consumer's cursor, lag and lease holder, with the newest event id.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use domain::service::events::ConsumerStatus;
use serde::Serialize;

use super::{ApiActor, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/system/events/consumers", get(list_consumers))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConsumersView {
    /// The newest event's id.
    pub head: i64,
    #[schema(value_type = Vec<Object>)]
    pub consumers: Vec<ConsumerStatus>,
}

/// The event consumers with their lag.
#[utoipa::path(get, path = "/api/v2.0/system/events/consumers", tag = "events",
    responses((status = 200, body = ConsumersView), (status = 401), (status = 403)))]
pub async fn list_consumers(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<ConsumersView>> {
    let (head, consumers) = s.services.event_consumers(&actor).await?;
    Ok(Json(ConsumersView { head, consumers }))
}
