//! A DE job drawn as a Replicate prediction, for the Replicate-compatible API
//! (`/replicate/v1`) and for the webhooks of the jobs it made: `queued` is
//! `starting`, `running` `processing`; the model is `owner/name`, the owner
//! the job's provider; the output is the text, or the files' links (one link
//! for a recording or a video, a list for images); `metrics` has
//! `predict_time` and `total_time` in seconds and the token counts; `urls`
//! point at DE.

use serde_json::{json, Map, Value};

/// `job` is the job as `GET /v1/jobs/{id}` draws it (`JobView`); `public_url`
/// is where DE is reached.
pub fn of(job: &Value, public_url: &str) -> Value {
    let id = job["id"].as_str().unwrap_or_default();
    let status = match job["status"].as_str() {
        Some("queued") | None => "starting",
        Some("running") => "processing",
        Some(other) => other,
    };
    let output = match &job["output"] {
        Value::Object(output) => {
            let links: Vec<Value> = output
                .get("files")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|file| file["url"].clone())
                .collect();
            // One recording or video is one file; images are a list.
            match (job["modality"].as_str(), links.len()) {
                (Some("audio" | "video"), 1) => links.into_iter().next().unwrap_or(Value::Null),
                _ => Value::Array(links),
            }
        }
        other => other.clone(),
    };
    let seconds = |ms: &Value| ms.as_f64().map(|ms| ms / 1000.0);
    let total_time = match (moment(&job["created_at"]), moment(&job["completed_at"])) {
        (Some(created), Some(completed)) => Some((completed - created).num_milliseconds() as f64 / 1000.0),
        _ => None,
    };
    let mut metrics = Map::new();
    if let Some(predict) = seconds(&job["metrics"]["run_ms"]) {
        metrics.insert("predict_time".into(), json!(predict));
    }
    if let Some(total) = total_time {
        metrics.insert("total_time".into(), json!(total));
    }
    for name in ["input_tokens", "output_tokens"] {
        if let Some(tokens) = job["metrics"][name].as_u64() {
            metrics.insert(name.into(), json!(tokens));
        }
    }
    // A job's id (`job_` and hex) is safe in a path as it is.
    let prediction_url = format!("{}/replicate/v1/predictions/{id}", public_url.trim_end_matches('/'));
    let owner = job["provider"].as_str().filter(|p| !p.is_empty()).unwrap_or("de");
    json!({
        "id": id,
        "model": format!("{owner}/{}", job["model"].as_str().unwrap_or_default()),
        "version": "",
        "status": status,
        "input": job["input"],
        "output": output,
        "logs": "",
        "error": job["error"]["message"],
        "metrics": metrics,
        "created_at": job["created_at"],
        "started_at": job["started_at"],
        "completed_at": job["completed_at"],
        "data_removed": false,
        "urls": {
            "get": prediction_url,
            "cancel": format!("{prediction_url}/cancel"),
        },
    })
}

fn moment(value: &Value) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    value
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_drawn_as_a_prediction() {
        let job = json!({
            "id": "job_01", "model": "dall-e-3", "provider": "openai", "modality": "image", "status": "succeeded",
            "input": {"prompt": "a cat"}, "output": {"files": [{"url": "http://de/1.png"}]}, "error": null,
            "metrics": {"run_ms": 1500}, "created_at": "2026-12-04T10:00:00Z", "completed_at": "2026-12-04T10:00:02Z"
        });
        let prediction = of(&job, "http://de/");
        assert_eq!(prediction["model"], "openai/dall-e-3");
        assert_eq!(prediction["output"], json!(["http://de/1.png"]));
        assert_eq!(prediction["metrics"], json!({"predict_time": 1.5, "total_time": 2.0}));
        assert_eq!(prediction["urls"]["get"], "http://de/replicate/v1/predictions/job_01");
        let running = of(&json!({"id": "j", "status": "running"}), "http://de");
        assert_eq!(running["status"], "processing");
        assert_eq!(running["model"], "de/");
    }
}
