//! The README's demo: submits a few jobs to a running API, shows each move through
//! its statuses, prints the results and how to try it by hand.

use std::{collections::HashMap, time::Duration};

use anyhow::Context;
use electrons_simulator::{Fault, SimulatorHandle};
use serde_json::{json, Value};

pub async fn run(base_url: &str, api_key: &str, simulator: Option<&SimulatorHandle>) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    wait_for_broker(&http, base_url).await;
    println!("\n== Distributed Electrons demo ==\n");
    if let Some(sim) = simulator {
        // The first provider call fails with a 500, so one job shows a retry.
        sim.controls().push_script([Fault::Status { status: 500 }]);
        println!(
            "(providers are simulated at {}; the first call will fail with a 500 to show a retry)\n",
            sim.base_url()
        );
    }

    let text = |prompt: &str| json!({ "prompt": prompt, "max_tokens": 200 });
    let jobs = [
        ("claude-3.5-sonnet", text("Write a haiku about electrons")),
        ("gpt-4o-mini", text("Explain a job queue in one sentence")),
        ("claude-3.5-haiku", text("Name three noble gases")),
        ("gpt-4o", text("Say hello to the new system")),
        (
            "dall-e-3",
            json!({ "prompt": "An electron orbiting a lighthouse", "size": "1024x1024" }),
        ),
        (
            "multilingual-v2",
            json!({ "text": "Distributed Electrons is up and running." }),
        ),
        (
            "shotstack-render",
            json!({ "timeline": { "tracks": [{ "clips": [
                { "asset": { "type": "title", "text": "Distributed Electrons" }, "start": 0, "length": 3 }
            ] }] } }),
        ),
    ];
    let mut ids = Vec::new();
    for (model, input) in jobs {
        let body = json!({ "model": model, "input": input, "metadata": { "demo": true } });
        let job = submit(&http, base_url, api_key, &body).await?;
        let id = job["id"].as_str().context("job without id")?.to_string();
        println!(
            "submitted {id}  model={model:<18} status={}",
            job["status"].as_str().unwrap_or("?")
        );
        ids.push(id);
    }

    let bad = json!({ "model": "gpt-5-ultra", "input": { "prompt": "hi" } });
    let response = http
        .post(format!("{base_url}/v1/jobs"))
        .bearer_auth(api_key)
        .json(&bad)
        .send()
        .await?;
    println!(
        "\nbad input (unknown model) → {} {}\n",
        response.status(),
        response.text().await?
    );

    let finished = follow(&http, base_url, api_key, &ids).await?;
    println!("\n== results ==");
    for job in finished {
        let files = job["output"]["files"].as_array();
        let cost = job["metrics"]["cost_usd"].as_f64().unwrap_or(0.0);
        let usage = match files {
            Some(files) => format!("files={} cost=${cost:.4}", files.len()),
            None => format!(
                "tokens={}/{} cost=${cost:.6}",
                job["metrics"]["input_tokens"], job["metrics"]["output_tokens"],
            ),
        };
        let shown = match (files, job["output"].is_null()) {
            (Some(files), _) => files
                .iter()
                .map(|f| {
                    format!(
                        "{} ({}, {} bytes)",
                        f["url"].as_str().unwrap_or("?"),
                        f["content_type"],
                        f["bytes"]
                    )
                })
                .collect::<Vec<_>>()
                .join("\n    "),
            (None, true) => job["error"].to_string(),
            (None, false) => job["output"].to_string(),
        };
        println!(
            "{}  {:<18} {:<9} attempts={} {usage}\n    {shown}",
            job["id"].as_str().unwrap_or("?"),
            job["model"].as_str().unwrap_or("?"),
            job["status"].as_str().unwrap_or("?"),
            job["attempts"],
        );
    }
    Ok(())
}

/// Jobs submitted before the producer reaches RabbitMQ are still safe (the
/// scheduler relays them), but the demo should show the fast path.
async fn wait_for_broker(http: &reqwest::Client, base_url: &str) {
    for _ in 0..100 {
        if let Ok(response) = http.get(format!("{base_url}/readyz")).send().await {
            if response
                .json::<Value>()
                .await
                .is_ok_and(|ready| ready["broker"] == true)
            {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn submit(http: &reqwest::Client, base_url: &str, api_key: &str, body: &Value) -> anyhow::Result<Value> {
    let response = http
        .post(format!("{base_url}/v1/jobs"))
        .bearer_auth(api_key)
        .json(body)
        .send()
        .await?;
    let status = response.status();
    let job: Value = response.json().await?;
    anyhow::ensure!(status.is_success(), "submit failed: {status} {job}");
    Ok(job)
}

/// Polls until every job is terminal, printing each status change.
async fn follow(http: &reqwest::Client, base_url: &str, api_key: &str, ids: &[String]) -> anyhow::Result<Vec<Value>> {
    let mut last: HashMap<&str, String> = HashMap::new();
    let started = tokio::time::Instant::now();
    loop {
        let mut jobs = Vec::new();
        for id in ids {
            let job: Value = http
                .get(format!("{base_url}/v1/jobs/{id}"))
                .bearer_auth(api_key)
                .send()
                .await?
                .json()
                .await?;
            let status = job["status"].as_str().unwrap_or("?").to_string();
            if last.get(id.as_str()) != Some(&status) {
                println!("{:>6.2}s  {id}  → {status}", started.elapsed().as_secs_f64());
                last.insert(id, status);
            }
            jobs.push(job);
        }
        let done = jobs
            .iter()
            .all(|j| matches!(j["status"].as_str(), Some("succeeded" | "failed" | "canceled")));
        if done || started.elapsed() > Duration::from_secs(120) {
            return Ok(jobs);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn print_try_it(base_url: &str, api_key: &str) {
    println!(
        "\nThe API is up at {base_url} (Ctrl-C to stop). Try:\n\n  curl -s {base_url}/v1/jobs \\\n    -H 'Authorization: Bearer {api_key}' -H 'Content-Type: application/json' -H 'Prefer: wait=10' \\\n    -d '{{\"model\": \"gpt-4o-mini\", \"input\": {{\"prompt\": \"Write a haiku about electrons\"}}}}'\n\n  curl -s {base_url}/v1/models -H 'Authorization: Bearer {api_key}'\n"
    );
}
