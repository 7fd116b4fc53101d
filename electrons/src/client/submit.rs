//! `electrons submit`: one job from the command line, optionally followed to
//! its end (`--wait`), printing its output.

use std::time::Duration;

use clap::Args;
use reqwest::Method;
use serde_json::{json, Map, Value};

use super::{
    api::{Api, ClientError},
    print, watch, ClientArgs,
};

#[derive(Args, Debug)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The model's id (`electrons models` lists them).
    #[arg(long)]
    pub model: String,
    /// The job's input: JSON, `@file.json`, or `@-` for stdin.
    #[arg(long)]
    pub input: Option<String>,
    /// Sets `input.prompt` (over what `--input` says).
    #[arg(long)]
    pub prompt: Option<String>,
    /// A URL DE POSTs the finished job to.
    #[arg(long)]
    pub webhook: Option<String>,
    /// Metadata kept with the job: a JSON object, or `@file.json`.
    #[arg(long)]
    pub metadata: Option<String>,
    /// high, normal or low.
    #[arg(long)]
    pub priority: Option<String>,
    /// Makes a retried submit return the first job instead of a second one.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Follow the job with a live status line until it finishes, then print its output.
    #[arg(long)]
    pub wait: bool,
    /// How long `--wait` follows the job (e.g. `90s`, `10m`).
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// `Ok(false)` when the job was followed and did not succeed.
pub async fn run(args: SubmitArgs) -> Result<bool, ClientError> {
    let api = Api::new(&args.client)?;
    let mut input = match &args.input {
        Some(source) => read_json(source, "--input")?,
        None => json!({}),
    };
    if let Some(prompt) = &args.prompt {
        match input.as_object_mut() {
            Some(object) => object.insert("prompt".into(), json!(prompt)),
            None => {
                return Err(ClientError::Usage(
                    "--input must be a JSON object to add --prompt to".into(),
                ))
            }
        };
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(args.model));
    body.insert("input".into(), input);
    if let Some(webhook) = &args.webhook {
        body.insert("webhook".into(), json!(webhook));
    }
    if let Some(metadata) = &args.metadata {
        body.insert("metadata".into(), read_json(metadata, "--metadata")?);
    }
    if let Some(priority) = &args.priority {
        body.insert("priority".into(), json!(priority));
    }
    let headers: Vec<(&str, String)> = args
        .idempotency_key
        .iter()
        .map(|key| ("Idempotency-Key", key.clone()))
        .collect();
    let job = api
        .send(Method::POST, "/v1/jobs", Some(&Value::Object(body)), &headers)
        .await?;
    let id = job["id"].as_str().unwrap_or_default().to_owned();
    if !args.wait {
        match args.client.json {
            true => print::json(&job),
            false => println!("{id}  {}", print::cell(&job["status"])),
        }
        return Ok(true);
    }
    let job = watch::until_finished(&api, &id, args.timeout, args.client.json).await?;
    finish(&job, args.client.json)
}

/// Prints a followed job; `Ok(false)` unless it succeeded.
pub(super) fn finish(job: &Value, as_json: bool) -> Result<bool, ClientError> {
    let succeeded = job["status"] == "succeeded";
    if as_json {
        print::json(job);
    } else if succeeded {
        print::output(&job["output"]);
    } else {
        print::job(job);
        if !watch::is_terminal(job) {
            eprintln!("still {} when --timeout ran out", print::cell(&job["status"]));
        }
    }
    Ok(succeeded)
}

/// JSON given inline, in `@file`, or on stdin (`@-`).
fn read_json(source: &str, flag: &str) -> Result<Value, ClientError> {
    let text = match source.strip_prefix('@') {
        Some("-") => std::io::read_to_string(std::io::stdin())
            .map_err(|e| ClientError::Usage(format!("{flag} @-: cannot read stdin: {e}")))?,
        Some(path) => std::fs::read_to_string(path).map_err(|e| ClientError::Usage(format!("{flag} @{path}: {e}")))?,
        None => source.to_owned(),
    };
    serde_json::from_str(&text).map_err(|e| ClientError::Usage(format!("{flag} is not JSON: {e}")))
}
