//! Counts and times every answered request by its route pattern, for
//! `de_http_requests_total` and `de_http_request_seconds`.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    http::Method,
    middleware::Next,
    response::Response,
};
use electrons_domain::prometheus;

pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_name(request.method());
    // The pattern (`/v1/jobs/{id}`), so ids never become label values.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    prometheus::http::answered(method, route, response.status().as_str(), started.elapsed());
    response
}

/// The method as a label without allocating; methods the API never routes share one.
fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
