//! Pexels search, with the key as the whole `Authorization` header (no scheme):
//! `GET /videos/search` and `GET /v1/search` (photos), `query` required,
//! `page` from 1, `per_page` 15 by default and 80 at most, `orientation`
//! landscape / portrait / square. Results are made up but deterministic: the
//! same query always finds the same ids, people and sizes. Every video file
//! links to the MP4 fixture, every photo and thumbnail to the JPEG one, under
//! `/_sim/files`; `[[sim:empty]]` in the query finds nothing.
//!
//! Errors are `{"status", "code"}` (`{"status": 401, "code": "Unauthorized"}`),
//! with an `error` message for a bad request; successful answers carry the
//! monthly quota in `X-Ratelimit-{Limit,Remaining,Reset}`.

use axum::{
    http::{header::RETRY_AFTER, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{Datelike, NaiveDate, Utc};
use serde_json::{json, Value};

use super::{call::Call, rejection::Rejection, Dialect, Endpoint, Served, Usage};
use crate::{
    directives::{strip, Asks, FileAsk},
    files::Files,
    media::{Media, MP4},
};

const MONTHLY_REQUESTS: u64 = 20_000;
const MAX_PER_PAGE: u64 = 80;
const PEOPLE: &[&str] = &[
    "Tima Miroshnichenko",
    "Kindel Media",
    "Mikhail Nilov",
    "Pressmaster",
    "Anna Shvets",
    "Cottonbro Studio",
    "Ron Lach",
    "Pavel Danilyuk",
];

pub struct Pexels;

impl Dialect for Pexels {
    fn reject(rejection: &Rejection) -> Response {
        let mut body = json!({
            "status": rejection.status.as_u16(),
            "code": rejection.status.canonical_reason().unwrap_or("Error"),
        });
        if !rejection.message.is_empty() {
            body["error"] = rejection.message.clone().into();
        }
        (rejection.status, Json(body)).into_response()
    }

    fn failure(status: StatusCode, _model: Option<&str>) -> Rejection {
        Rejection::new(status, "")
    }

    fn rate_limited(retry_after_secs: Option<u64>, _model: Option<&str>) -> Response {
        let mut response = Self::reject(&Rejection::new(StatusCode::TOO_MANY_REQUESTS, ""));
        let headers = response.headers_mut();
        for (name, value) in quota(0) {
            headers.insert(name, value);
        }
        if let Some(secs) = retry_after_secs {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub struct PexelsVideos;

impl Endpoint for PexelsVideos {
    type Dialect = Pexels;
    const NAME: &'static str = "pexels.videos";
    const MALFORMED: &'static [u8] = br#"{"page": 1, "per_page": 15, "videos": [{"id": 8534, "width": 19"#;

    fn respond(call: &Call, prompt: &str) -> Result<Served, Rejection> {
        let search = Search::parse(call, prompt)?;
        let files = call.controls.files();
        let base = call.base();
        let videos: Vec<Value> = search.hits().map(|hit| video(files, &base, &search, hit)).collect();
        let mut body = search.page_body(&base, "/videos/search/");
        let words: String = url::form_urlencoded::byte_serialize(search.shown.as_bytes()).collect();
        body["url"] = format!("https://www.pexels.com/search/videos/{}/", words.replace('+', "%20")).into();
        body["videos"] = videos.into();
        Ok(served(body))
    }

    fn prompt(call: &Call) -> Option<String> {
        call.query("query").map(str::to_owned)
    }
}

pub struct PexelsPhotos;

impl Endpoint for PexelsPhotos {
    type Dialect = Pexels;
    const NAME: &'static str = "pexels.photos";
    const MALFORMED: &'static [u8] = br#"{"page": 1, "per_page": 15, "photos": [{"id": 3573351, "width": 30"#;

    fn respond(call: &Call, prompt: &str) -> Result<Served, Rejection> {
        let search = Search::parse(call, prompt)?;
        let files = call.controls.files();
        let base = call.base();
        let photos: Vec<Value> = search.hits().map(|hit| photo(files, &base, &search, hit)).collect();
        let mut body = search.page_body(&base, "/v1/search/");
        body["photos"] = photos.into();
        Ok(served(body))
    }

    fn prompt(call: &Call) -> Option<String> {
        call.query("query").map(str::to_owned)
    }
}

/// A search the API accepts.
struct Search {
    /// As sent, directives and all: what the results are derived from.
    query: String,
    /// Without directives: what results are described with.
    shown: String,
    asks: Asks,
    page: u64,
    per_page: u64,
    total: u64,
    orientation: Orientation,
}

#[derive(Clone, Copy)]
enum Orientation {
    Landscape,
    Portrait,
    Square,
}

impl Orientation {
    /// `(width, height)` with `long` as the longer side.
    fn sides(self, long: u64, short: u64) -> (u64, u64) {
        match self {
            Self::Landscape => (long, short),
            Self::Portrait => (short, long),
            Self::Square => (short, short),
        }
    }
}

impl Search {
    fn parse(call: &Call, query: &str) -> Result<Self, Rejection> {
        if call.header("authorization").is_none() {
            return Err(Rejection::new(StatusCode::UNAUTHORIZED, ""));
        }
        if query.trim().is_empty() {
            return Err(Rejection::bad_request("query is required"));
        }
        let number = |name: &str, default: u64| {
            call.query(name)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|n| *n > 0)
                .unwrap_or(default)
        };
        let orientation = match call.query("orientation") {
            Some("portrait") => Orientation::Portrait,
            Some("square") => Orientation::Square,
            _ => Orientation::Landscape,
        };
        let asks = Asks::read(query);
        let total = if asks.empty { 0 } else { 40 + hash(&[query]) % 960 };
        Ok(Self {
            query: query.to_owned(),
            shown: strip(query),
            asks,
            page: number("page", 1),
            per_page: number("per_page", 15).min(MAX_PER_PAGE),
            total,
            orientation,
        })
    }

    /// The results on this page: their positions in the whole result list.
    fn hits(&self) -> impl Iterator<Item = u64> {
        let first = (self.page - 1).saturating_mul(self.per_page);
        first..self.total.min(first.saturating_add(self.per_page))
    }

    /// A stable number for result `hit` and `salt`.
    fn pick(&self, hit: u64, salt: &str) -> u64 {
        hash(&[&self.query, &hit.to_string(), salt])
    }

    /// `page`, `per_page`, `total_results` and the neighbouring pages' links.
    fn page_body(&self, base: &str, path: &str) -> Value {
        let mut body = json!({
            "page": self.page,
            "per_page": self.per_page,
            "total_results": self.total,
        });
        let link = |page: u64| {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("page", &page.to_string())
                .append_pair("per_page", &self.per_page.to_string())
                .append_pair("query", &self.query)
                .finish();
            format!("{base}{path}?{query}")
        };
        if self.page.saturating_mul(self.per_page) < self.total {
            body["next_page"] = link(self.page + 1).into();
        }
        if self.page > 1 {
            body["prev_page"] = link(self.page - 1).into();
        }
        body
    }
}

fn video(files: &Files, base: &str, search: &Search, hit: u64) -> Value {
    let id = 1_000_000 + search.pick(hit, "id") % 9_000_000;
    let (width, height) = search.orientation.sides(1920, 1080);
    let link = |media| files.link(base, media, search.asks.file);
    let file = |file_id: u64, quality: &str, long: u64, short: u64| {
        let (width, height) = search.orientation.sides(long, short);
        json!({
            "id": file_id,
            "quality": quality,
            "file_type": "video/mp4",
            "width": width,
            "height": height,
            "fps": 25.0,
            "link": link(Media::Mp4),
            "size": video_size(search),
        })
    };
    json!({
        "id": id,
        "width": width,
        "height": height,
        "duration": 5 + search.pick(hit, "duration") % 26,
        "full_res": null,
        "tags": [],
        "url": format!("https://www.pexels.com/video/{}-{id}/", slug(&search.shown)),
        "image": link(Media::Jpeg),
        "avg_color": null,
        "user": person(search.pick(hit, "user")),
        "video_files": [file(id * 10 + 1, "hd", 1280, 720), file(id * 10 + 2, "sd", 640, 360)],
        "video_pictures": [{ "id": id * 10 + 3, "nr": 0, "picture": link(Media::Jpeg) }],
    })
}

fn photo(files: &Files, base: &str, search: &Search, hit: u64) -> Value {
    let id = 1_000_000 + search.pick(hit, "id") % 9_000_000;
    let (width, height) = search.orientation.sides(6000, 4000);
    let link = files.link(base, Media::Jpeg, search.asks.file);
    let sized = |suffix: &str| format!("{link}?auto=compress&cs=tinysrgb&{suffix}");
    let user = person(search.pick(hit, "user"));
    json!({
        "id": id,
        "width": width,
        "height": height,
        "url": format!("https://www.pexels.com/photo/{}-{id}/", slug(&search.shown)),
        "photographer": user["name"],
        "photographer_url": user["url"],
        "photographer_id": user["id"],
        "avg_color": format!("#{:06X}", search.pick(hit, "colour") % 0x0100_0000),
        "src": {
            "original": link,
            "large2x": sized("dpr=2&h=650&w=940"),
            "large": sized("h=650&w=940"),
            "medium": sized("h=350"),
            "small": sized("h=130"),
            "portrait": sized("fit=crop&h=1200&w=800"),
            "landscape": sized("fit=crop&h=627&w=1200"),
            "tiny": sized("dpr=1&fit=crop&h=200&w=280"),
        },
        "liked": false,
        "alt": format!("{} ({})", search.shown, hit + 1),
    })
}

fn person(pick: u64) -> Value {
    let name = PEOPLE[(pick % PEOPLE.len() as u64) as usize];
    json!({
        "id": 100_000 + pick % 900_000,
        "name": name,
        "url": format!("https://www.pexels.com/@{}", slug(name)),
    })
}

/// The size the video files are listed with: what their links serve.
fn video_size(search: &Search) -> u64 {
    match search.asks.file {
        FileAsk::Bytes(size) => size,
        FileAsk::Normal | FileAsk::Missing | FileAsk::Failing(_) | FileAsk::Hanging(_) => MP4.len() as u64,
    }
}

fn slug(text: &str) -> String {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.join("-")
}

/// FNV-1a over the parts: stable across runs and Rust versions, unlike `DefaultHasher`.
fn hash(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.iter().flat_map(|part| part.bytes().chain([0])) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The monthly quota headers with `remaining` requests left, resetting at the
/// start of next month (UTC), in epoch seconds.
fn quota(remaining: u64) -> [(HeaderName, HeaderValue); 3] {
    let today = Utc::now().date_naive();
    let (year, month) = match today.month() {
        12 => (today.year() + 1, 1),
        month => (today.year(), month + 1),
    };
    let reset = NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map_or(0, |midnight| midnight.and_utc().timestamp());
    [
        (
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderValue::from(MONTHLY_REQUESTS),
        ),
        (
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderValue::from(remaining),
        ),
        (HeaderName::from_static("x-ratelimit-reset"), HeaderValue::from(reset)),
    ]
}

fn served(body: Value) -> Served {
    Served {
        response: (quota(MONTHLY_REQUESTS - 1), Json(body)).into_response(),
        usage: Usage::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_slugs_are_stable() {
        assert_eq!(hash(&["a", "b"]), hash(&["a", "b"]));
        assert_ne!(hash(&["ab", ""]), hash(&["a", "b"]), "parts are separated");
        assert_eq!(slug("Ocean waves, at dusk!"), "ocean-waves-at-dusk");
    }
}
