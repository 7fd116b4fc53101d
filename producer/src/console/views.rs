//! What the pages show, read from the API's JSON: times, durations and money
//! as a person reads them, and a job's output as it is meant to be seen.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// `2026-12-03 14:05:09 UTC`, or an empty string.
pub fn time(value: &Value) -> String {
    value
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc).format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// `850 ms`, `2.4 s`, `3 min 5 s`; empty when absent.
pub fn millis(value: Option<f64>) -> String {
    match value {
        None => String::new(),
        Some(ms) if ms < 1000.0 => format!("{ms:.0} ms"),
        Some(ms) if ms < 60_000.0 => format!("{:.1} s", ms / 1000.0),
        Some(ms) => format!("{} min {} s", (ms / 60_000.0) as u64, ((ms % 60_000.0) / 1000.0) as u64),
    }
}

/// `$0.0123`; small amounts keep their digits.
pub fn usd(value: f64) -> String {
    if value == 0.0 {
        "$0".into()
    } else if value < 0.01 {
        format!("${value:.6}")
    } else {
        format!("${value:.2}")
    }
}

pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// One row of the jobs table.
pub struct JobRow {
    pub id: String,
    pub short_id: String,
    pub model: String,
    pub status: String,
    pub created: String,
    pub took: String,
    pub cost: String,
    /// Whose job it is, in the operator's list across projects.
    pub project: String,
    pub project_short: String,
}

impl JobRow {
    pub fn from(job: &Value) -> Self {
        let id = text(&job["id"]);
        let took = match (job["created_at"].as_str(), job["completed_at"].as_str()) {
            (Some(from), Some(to)) => match (DateTime::parse_from_rfc3339(from), DateTime::parse_from_rfc3339(to)) {
                (Ok(from), Ok(to)) => millis(Some((to - from).num_milliseconds() as f64)),
                _ => String::new(),
            },
            _ => String::new(),
        };
        Self {
            short_id: id.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect(),
            id,
            model: text(&job["model"]),
            status: text(&job["status"]),
            created: time(&job["created_at"]),
            took,
            cost: job["metrics"]["cost_usd"].as_f64().map(usd).unwrap_or_default(),
            project: text(&job["project_id"]),
            project_short: text(&job["project_id"]).chars().take(8).collect(),
        }
    }
}

/// How one output is shown.
pub enum Preview {
    Text(String),
    Image(String),
    Audio(String),
    Video(String),
    /// A file without a player: a link (url, label).
    Link(String, String),
    /// Stock results: thumbnails linking to their pages.
    Grid(Vec<Tile>),
    Json(String),
}

pub struct Tile {
    pub image: String,
    pub link: String,
    pub caption: String,
}

/// The output of a finished job, as a person wants it.
pub fn previews(output: &Value) -> Vec<Preview> {
    match output {
        Value::Null => Vec::new(),
        Value::String(text) => vec![Preview::Text(text.clone())],
        Value::Object(object) => {
            let mut shown = Vec::new();
            if let Some(results) = object.get("results").and_then(Value::as_array) {
                let tiles: Vec<Tile> = results.iter().filter_map(tile).collect();
                if !tiles.is_empty() {
                    shown.push(Preview::Grid(tiles));
                }
            }
            for file in object.get("files").and_then(Value::as_array).into_iter().flatten() {
                let Some(url) = file["url"].as_str().map(str::to_owned) else {
                    continue;
                };
                let kind = file["content_type"].as_str().unwrap_or_default();
                shown.push(match kind.split('/').next() {
                    Some("image") => Preview::Image(url),
                    Some("audio") => Preview::Audio(url),
                    Some("video") => Preview::Video(url),
                    _ => Preview::Link(url, format!("{} ({kind})", file["key"].as_str().unwrap_or("file"))),
                });
            }
            if let Some(text) = object.get("text").and_then(Value::as_str) {
                shown.insert(0, Preview::Text(text.to_owned()));
            }
            if shown.is_empty() {
                shown.push(Preview::Json(pretty(output)));
            }
            shown
        }
        other => vec![Preview::Json(pretty(other))],
    }
}

fn tile(result: &Value) -> Option<Tile> {
    let image = result["src"]["medium"]
        .as_str()
        .or_else(|| result["image"].as_str())
        .or_else(|| result["url"].as_str())?;
    Some(Tile {
        image: image.to_owned(),
        link: result["url"].as_str().unwrap_or(image).to_owned(),
        caption: result["photographer"]
            .as_str()
            .or_else(|| result["user"]["name"].as_str())
            .unwrap_or_default()
            .to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn outputs_are_previewed_by_what_they_hold() {
        assert!(matches!(previews(&json!("hello"))[..], [Preview::Text(_)]));
        let files = json!({"files": [
            {"url": "/v1/files/a.png", "content_type": "image/png"},
            {"url": "/v1/files/b.mp3", "content_type": "audio/mpeg"},
            {"url": "/v1/files/c.mp4", "content_type": "video/mp4"},
        ]});
        assert!(matches!(
            previews(&files)[..],
            [Preview::Image(_), Preview::Audio(_), Preview::Video(_)]
        ));
        let stock = json!({"results": [{"url": "https://pexels/1", "src": {"medium": "https://img/1"}}]});
        assert!(matches!(&previews(&stock)[..], [Preview::Grid(tiles)] if tiles.len() == 1));
        assert!(matches!(previews(&json!({"other": 1}))[..], [Preview::Json(_)]));
    }

    #[test]
    fn amounts_and_durations_read_naturally() {
        assert_eq!(millis(Some(850.0)), "850 ms");
        assert_eq!(millis(Some(2400.0)), "2.4 s");
        assert_eq!(millis(Some(185_000.0)), "3 min 5 s");
        assert_eq!(usd(0.0), "$0");
        assert_eq!(usd(0.000123), "$0.000123");
        assert_eq!(usd(12.5), "$12.50");
    }
}
