//! `GET /v1/stats?window=15m`: the caller's project at a glance (what the
//! console's overview shows): the window's jobs by status, success rate, jobs
//! finished per minute, latency percentiles, what waits and runs now, provider
//! calls and 429s, webhook deliveries, and the spend today and this month.

use std::time::Duration;

use axum::{
    extract::{Query, State},
    Json,
};
use electrons_domain::db::stats::{self, Stats};
use serde::Deserialize;

use crate::{
    auth::Caller,
    error::{ApiError, ApiErrorBody},
    state::AppState,
};

const DEFAULT_WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// How far back: a duration from 1m to 24h (`15m`, `1h`); default 15m.
    window: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/stats",
    operation_id = "projectStats",
    tag = "usage",
    summary = "The project at a glance",
    description = "What the project's jobs of the window did (by status, finished per minute, latency percentiles from each job's metrics, provider calls and 429s, webhook deliveries), what waits and runs now, and the spend today and this month. What the console's overview shows.",
    params(
        StatsQuery
    ),
    responses(
        (status = 200, description = "The project's stats", body = Stats),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody),
        (status = 422, description = "A bad `window` (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<StatsQuery>,
) -> Result<Json<Stats>, ApiError> {
    let window = match query.window.as_deref() {
        None => DEFAULT_WINDOW,
        Some(text) => humantime::parse_duration(text)
            .ok()
            .filter(|w| (Duration::from_secs(60)..=MAX_WINDOW).contains(w))
            .ok_or_else(|| ApiError::invalid("window", "a duration from 1m to 24h, such as 15m or 1h"))?,
    };
    Ok(Json(stats::of_project(&state.pool, caller.project_id, window).await?))
}
