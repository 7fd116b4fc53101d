//! `electrons jobs list|get|cancel|watch`.

use std::time::Duration;

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::Value;

use super::{
    api::{Api, ClientError},
    print, submit, watch, ClientArgs,
};

#[derive(Args, Debug)]
pub struct JobsArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: JobsCommand,
}

#[derive(Subcommand, Debug)]
pub enum JobsCommand {
    /// The project's jobs, newest first.
    List {
        /// queued, running, succeeded, failed or canceled.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        model: Option<String>,
        /// At most this many (the API's page, up to 100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One job, with its output.
    Get { id: String },
    /// Cancel a job that has not finished.
    Cancel { id: String },
    /// Follow a job with a live status line until it finishes, then print its output.
    Watch {
        id: String,
        #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
}

/// `Ok(false)` when a watched job did not succeed.
pub async fn run(args: JobsArgs) -> Result<bool, ClientError> {
    let api = Api::new(&args.client)?;
    let as_json = args.client.json;
    match args.command {
        JobsCommand::List { status, model, limit } => {
            let mut query = vec![format!("limit={limit}")];
            query.extend(status.map(|s| format!("status={s}")));
            query.extend(model.map(|m| format!("model={m}")));
            let page = api.get(&format!("/v1/jobs?{}", query.join("&"))).await?;
            match as_json {
                true => print::json(&page),
                false => list(&page),
            }
        }
        JobsCommand::Get { id } => {
            let job = api.get(&format!("/v1/jobs/{id}")).await?;
            match as_json {
                true => print::json(&job),
                false => print::job(&job),
            }
        }
        JobsCommand::Cancel { id } => {
            let job = api
                .send(Method::POST, &format!("/v1/jobs/{id}/cancel"), None, &[])
                .await?;
            match as_json {
                true => print::json(&job),
                false => println!("{id}  {}", print::cell(&job["status"])),
            }
        }
        JobsCommand::Watch { id, timeout } => {
            let job = watch::until_finished(&api, &id, timeout, as_json).await?;
            return submit::finish(&job, as_json);
        }
    }
    Ok(true)
}

fn list(page: &Value) {
    let rows = page["data"].as_array().into_iter().flatten().map(|job| {
        vec![
            print::cell(&job["id"]),
            print::cell(&job["model"]),
            print::cell(&job["status"]),
            print::time(&job["created_at"]),
            job["metrics"]["cost_usd"]
                .as_f64()
                .map(|c| format!("${c:.6}"))
                .unwrap_or_else(|| "-".into()),
        ]
    });
    print::table(&["ID", "MODEL", "STATUS", "CREATED (UTC)", "COST"], rows);
    if page["has_more"] == true {
        println!("more: --limit raises the page size (up to 100)");
    }
}
