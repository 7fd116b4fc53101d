//! The console's files, compiled into the binary (see
//! `producer/assets/console/VENDORED.md`): nothing comes from a CDN.

use axum::{
    extract::Path,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};

const FILES: &[(&str, &str, &[u8])] = &[
    ("htmx.min.js", JS, include_bytes!("../../assets/console/htmx.min.js")),
    (
        "htmx-ext-sse.js",
        JS,
        include_bytes!("../../assets/console/htmx-ext-sse.js"),
    ),
    (
        "uPlot.iife.min.js",
        JS,
        include_bytes!("../../assets/console/uPlot.iife.min.js"),
    ),
    (
        "uPlot.min.css",
        CSS,
        include_bytes!("../../assets/console/uPlot.min.css"),
    ),
    ("console.css", CSS, include_bytes!("../../assets/console/console.css")),
    ("console.js", JS, include_bytes!("../../assets/console/console.js")),
];

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

pub async fn get(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                // Names do not change within a release; an hour spares reloads.
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such console file").into_response(),
    }
}
