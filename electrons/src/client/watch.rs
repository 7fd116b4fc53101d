//! Following a job until it finishes, with a live status line on stderr
//! (`indicatif`; drawn only on a terminal, never with `--json`).

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use super::api::{Api, ClientError};

const POLL: Duration = Duration::from_millis(500);
const TERMINAL: &[&str] = &["succeeded", "failed", "canceled"];

/// The job once it is terminal, or as it is when `timeout` runs out.
pub async fn until_finished(api: &Api, id: &str, timeout: Duration, quiet: bool) -> Result<Value, ClientError> {
    let line = match quiet {
        true => ProgressBar::hidden(),
        false => ProgressBar::new_spinner(),
    };
    line.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    line.set_message(format!("{id} submitted"));
    line.enable_steady_tick(Duration::from_millis(120));
    let started = Instant::now();
    let path = format!("/v1/jobs/{id}");
    let job = loop {
        let job = api.get(&path).await?;
        let status = job["status"].as_str().unwrap_or("?");
        line.set_message(status_line(&job));
        if TERMINAL.contains(&status) || started.elapsed() >= timeout {
            break job;
        }
        tokio::time::sleep(POLL).await;
    };
    line.finish_and_clear();
    Ok(job)
}

pub fn is_terminal(job: &Value) -> bool {
    job["status"].as_str().is_some_and(|s| TERMINAL.contains(&s))
}

fn status_line(job: &Value) -> String {
    let mut line = format!(
        "{} {} {}",
        job["id"].as_str().unwrap_or("?"),
        job["model"].as_str().unwrap_or("?"),
        job["status"].as_str().unwrap_or("?")
    );
    if let Some(attempts) = job["attempts"].as_i64().filter(|a| *a > 1) {
        line.push_str(&format!(", attempt {attempts}"));
    }
    if let Some(error) = job["error"]["message"].as_str() {
        line.push_str(&format!(", last error: {error}"));
    }
    line
}
