//! `GET /v1/stats` (what the console's overview draws), the jobs list's time,
//! metadata and (for the operator, across projects) project filters, and the
//! input fields `/v1/models` describes.

use std::time::Duration;

use electrons_simulator::Fault;
use electrons_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn stats_count_the_windows_jobs_latencies_calls_and_spend() {
    let app = TestApp::spawn().await;
    app.sim.controls().push_script([Fault::Status { status: 400 }]);
    let (_, failed) = app
        .submit(&json!({"model": "gpt-4o-mini", "input": {"prompt": "refused"}, "metadata": {"customer": "acme"}}))
        .await;
    app.wait_for(failed["id"].as_str().expect("id"), "failed", WAIT).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let (_, job) = app
            .submit(&json!({"model": "gpt-4o-mini", "input": {"prompt": format!("ok {n}")}, "metadata": {"customer": "zeta"}}))
            .await;
        ids.push(job["id"].as_str().expect("id").to_owned());
    }
    app.wait_for_all(&ids, "succeeded", WAIT).await;

    let (status, stats) = app.get("/v1/stats?window=15m").await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["window_seconds"], 900);
    assert_eq!(stats["jobs"]["succeeded"], 3, "{stats}");
    assert_eq!(stats["jobs"]["failed"], 1, "{stats}");
    assert_eq!(stats["success_rate"], 0.75);
    let minutes: i64 = stats["per_minute"]
        .as_array()
        .expect("per_minute")
        .iter()
        .map(|m| m["succeeded"].as_i64().unwrap_or(0) + m["failed"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(minutes, 4);
    for latency in ["queue_wait", "provider", "end_to_end"] {
        let p = &stats["latency_ms"][latency];
        assert!(
            p["p50"].as_f64().is_some() && p["p99"].as_f64() >= p["p50"].as_f64(),
            "{latency}: {p}"
        );
    }
    let openai = &stats["providers"][0];
    assert_eq!(openai["provider"], "openai");
    assert_eq!(openai["calls"], 4, "one call each: {openai}");
    assert!(stats["cost"]["today_usd"].as_f64().expect("today") > 0.0);
    assert_eq!(stats["cost"]["today_usd"], stats["cost"]["month_usd"]);

    let (status, refused) = app.get("/v1/stats?window=a%20fortnight").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["error"]["field"], "window");
    app.stop().await;
}

#[tokio::test]
async fn the_jobs_list_filters_by_time_and_metadata() {
    let app = TestApp::spawn().await;
    let (_, early) = app
        .submit(&json!({"model": "gpt-4o-mini", "input": {"prompt": "early"}, "metadata": {"customer": "acme", "tier": "gold"}}))
        .await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (_, late) = app
        .submit(&json!({"model": "gpt-4o-mini", "input": {"prompt": "late"}, "metadata": {"customer": "zeta"}}))
        .await;
    let ids = |page: &serde_json::Value| -> Vec<String> {
        page["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|j| j["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let encode = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    let (_, after) = app.get(&format!("/v1/jobs?created_after={}", encode(&between))).await;
    assert_eq!(ids(&after), [late["id"].as_str().expect("id")]);
    let (_, before) = app.get(&format!("/v1/jobs?created_before={}", encode(&between))).await;
    assert_eq!(ids(&before), [early["id"].as_str().expect("id")]);
    let (_, acme) = app
        .get(&format!("/v1/jobs?metadata={}", encode(r#"{"customer":"acme"}"#)))
        .await;
    assert_eq!(ids(&acme), [early["id"].as_str().expect("id")]);
    let (_, none) = app
        .get(&format!(
            "/v1/jobs?metadata={}",
            encode(r#"{"customer":"acme","tier":"silver"}"#)
        ))
        .await;
    assert!(ids(&none).is_empty());

    let (status, bad) = app.get("/v1/jobs?metadata=customer").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["error"]["field"], "metadata");
    let (status, bad) = app.get("/v1/jobs?created_after=yesterday").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["error"]["field"], "created_after");
    app.stop().await;
}

#[tokio::test]
async fn models_describe_their_input_fields() {
    let app = TestApp::spawn().await;
    let (status, models) = app.get("/v1/models").await;
    assert_eq!(status, StatusCode::OK);
    let model = |id: &str| {
        models["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} is listed"))
    };
    let image = model("dall-e-3");
    let fields = image["input_fields"].as_array().expect("input_fields");
    assert_eq!(fields[0]["name"], "prompt");
    assert_eq!(fields[0]["required"], true);
    assert_eq!(fields[0]["max_chars"], 4000);
    let size = fields.iter().find(|f| f["name"] == "size").expect("size");
    assert_eq!(size["kind"], "choice");
    assert_eq!(size["choices"], json!(["1024x1024", "1792x1024", "1024x1792"]));
    let text = model("gpt-4o-mini");
    let max_tokens = text["input_fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["name"] == "max_tokens")
        .expect("max_tokens");
    assert_eq!(max_tokens["kind"], "integer");
    assert_eq!(
        max_tokens["max"],
        text["max_output_tokens"].as_f64().expect("max_output_tokens")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_operator_reads_every_projects_jobs_and_filters_by_project() {
    let app = TestApp::spawn().await;
    let (other, other_key) = app.project_in("other", "default").await;
    let (_, own) = app
        .submit(&json!({"model": "gpt-4o-mini", "input": {"prompt": "own"}}))
        .await;
    let (_, theirs) = app
        .submit_as(
            &other_key,
            &json!({"model": "gpt-4o-mini", "input": {"prompt": "theirs"}}),
        )
        .await;
    let own_id = own["id"].as_str().expect("id");
    let their_id = theirs["id"].as_str().expect("id");
    let ids = |page: &serde_json::Value| -> Vec<String> {
        page["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|j| j["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };

    // Every project's, newest first, each saying whose it is.
    let (status, all) = app.admin(Method::GET, "/v1/jobs", None).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(ids(&all), [their_id, own_id]);
    assert_eq!(all["data"][0]["project_id"], other.to_string());
    // One project's.
    let (_, one) = app
        .admin(Method::GET, &format!("/v1/jobs?project_id={other}"), None)
        .await;
    assert_eq!(ids(&one), [their_id]);
    let (status, bad) = app.admin(Method::GET, "/v1/jobs?project_id=nope", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(bad["error"]["field"], "project_id");
    // Any project's job and its deliveries.
    let (status, job) = app.admin(Method::GET, &format!("/v1/jobs/{their_id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{job}");
    let (status, deliveries) = app
        .admin(Method::GET, &format!("/v1/jobs/{their_id}/deliveries"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{deliveries}");

    // A key reads its own project only: naming another is not found, and
    // its list does not say whose (it is always its own).
    let (status, _) = app.get(&format!("/v1/jobs?project_id={other}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, mine) = app.get("/v1/jobs").await;
    assert_eq!(ids(&mine), [own_id]);
    assert!(mine["data"][0].get("project_id").is_none(), "{mine}");
    let (status, _) = app.get(&format!("/v1/jobs/{their_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get(&format!("/v1/jobs/{their_id}/deliveries")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}
