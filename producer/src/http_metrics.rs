//! Counts and times every answered request by its route pattern, for
//! `de_http_requests_total` and `de_http_request_seconds`.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};
use electrons_domain::prometheus;

pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // The pattern (`/v1/jobs/{id}`), so ids never become label values.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let response = next.run(request).await;
    let route = route.as_deref().unwrap_or("unmatched");
    prometheus::http::answered(method.as_str(), route, response.status().as_u16(), started.elapsed());
    response
}
