//! A text model's prompt template, set through the admin API: its system
//! prompt, prompt wrapper and default settings reach the provider (OpenAI's
//! and Anthropic's wire formats), a job's own values win, what it supplied is
//! in the job's metrics, and feedback is summarised per template.

use std::time::Duration;

use electrons_simulator::RecordedRequest;
use electrons_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The model's row as the admin API writes it, with `template` set.
async fn with_template(app: &TestApp, model: &str, template: Value) -> (StatusCode, Value) {
    let (status, row) = app.admin(Method::GET, &format!("/v1/admin/models/{model}"), None).await;
    assert_eq!(status, StatusCode::OK, "{row}");
    let mut write = json!({"prompt_template": template});
    for field in [
        "modality",
        "provider",
        "provider_model",
        "default_max_tokens",
        "max_output_tokens",
        "pricing",
        "status",
        "retry_unusable_answers",
        "regenerate_unavailable_outputs",
    ] {
        write[field] = row[field].clone();
    }
    app.admin(Method::PUT, &format!("/v1/admin/models/{model}"), Some(&write))
        .await
}

/// Runs a job to success; what the provider received for it.
async fn run(app: &TestApp, model: &str, input: Value) -> (Value, RecordedRequest) {
    let marker = uuid::Uuid::new_v4().to_string();
    let mut input = input;
    let prompt = format!("{} {marker}", input["prompt"].as_str().unwrap_or("hello"));
    input["prompt"] = json!(prompt);
    let (status, job) = app.submit(&json!({"model": model, "input": input})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().expect("id");
    let done = app.wait_for(id, "succeeded", Duration::from_secs(20)).await;
    let sent = app
        .sim
        .controls()
        .requests()
        .into_iter()
        .find(|r| r.prompt.as_deref().is_some_and(|p| p.contains(&marker)))
        .expect("the provider saw the job");
    assert_eq!(
        done["input"]["prompt"],
        json!(prompt),
        "the job keeps what was submitted"
    );
    (done, sent)
}

async fn rate(app: &TestApp, job: &Value, rating: u8) {
    let id = job["id"].as_str().expect("id");
    let response = app
        .http
        .post(format!("{}/v1/jobs/{id}/feedback", app.base_url))
        .bearer_auth(&app.api_key)
        .json(&json!({"rating": rating}))
        .send()
        .await
        .expect("feedback");
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_prompt_template_reaches_the_provider_and_feedback_is_summarised_per_template() {
    let app = TestApp::spawn().await;
    let template = json!({"name": "brief-v1", "system": "Answer in one line.", "user": "Question: {{prompt}}",
                          "temperature": 0.3, "max_tokens": 50, "stop": ["END"]});
    for model in ["claude-3.5-haiku", "gpt-4o-mini"] {
        let (status, saved) = with_template(&app, model, template.clone()).await;
        assert_eq!(status, StatusCode::OK, "{saved}");
        assert_eq!(saved["prompt_template"], template, "{saved}");
    }

    // Anthropic's top-level `system` and OpenAI's system message both carry it.
    let mut brief = Vec::new();
    for model in ["claude-3.5-haiku", "gpt-4o-mini"] {
        let (job, sent) = run(&app, model, json!({"prompt": "capital of France?"})).await;
        assert_eq!(sent.system.as_deref(), Some("Answer in one line."), "{model}");
        assert!(
            sent.prompt
                .as_deref()
                .is_some_and(|p| p.starts_with("Question: capital of France? ")),
            "{model}: {:?}",
            sent.prompt
        );
        assert_eq!(sent.temperature, Some(0.3), "{model}");
        assert_eq!(job["metrics"]["prompt_template"], template, "{job}");
        assert!(
            job["metrics"]["calls"][0].get("prompt_template").is_none(),
            "kept once, not per call: {job}"
        );
        brief.push(job);
    }

    // The job's own system prompt and temperature win; the wrapper still applies.
    let (own, sent) = run(
        &app,
        "gpt-4o-mini",
        json!({"prompt": "tell me", "system": "Be verbose.", "temperature": 0.9}),
    )
    .await;
    assert_eq!(sent.system.as_deref(), Some("Be verbose."));
    assert_eq!(sent.temperature, Some(0.9));
    assert!(sent
        .prompt
        .as_deref()
        .is_some_and(|p| p.starts_with("Question: tell me")));
    assert_eq!(
        own["metrics"]["prompt_template"],
        json!({"name": "brief-v1", "user": "Question: {{prompt}}", "max_tokens": 50, "stop": ["END"]}),
        "only what the template supplied: {own}"
    );

    // A new wording under a new name, and a job without any template.
    let v2 = json!({"name": "brief-v2", "system": "One line, no preamble."});
    let (status, saved) = with_template(&app, "gpt-4o-mini", v2).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (newer, sent) = run(&app, "gpt-4o-mini", json!({"prompt": "again"})).await;
    assert_eq!(sent.system.as_deref(), Some("One line, no preamble."));
    assert_eq!(sent.temperature, None, "v2 sets no temperature");
    let (status, saved) = with_template(&app, "gpt-4o-mini", Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (plain, sent) = run(&app, "gpt-4o-mini", json!({"prompt": "plain"})).await;
    assert_eq!(sent.system, None);
    assert!(plain["metrics"].get("prompt_template").is_none(), "{plain}");

    for (job, rating) in [(&brief[0], 5), (&brief[1], 3), (&own, 4), (&newer, 1), (&plain, 2)] {
        rate(&app, job, rating).await;
    }
    let (status, summary) = app.get("/v1/feedback/summary").await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    let groups: Vec<(String, Option<String>, i64, f64)> = summary["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|row| {
            (
                row["model"].as_str().unwrap_or_default().to_string(),
                row["prompt_template"].as_str().map(str::to_owned),
                row["count"].as_i64().unwrap_or_default(),
                row["average_rating"].as_f64().unwrap_or_default(),
            )
        })
        .collect();
    let some = |name: &str| Some(name.to_string());
    assert_eq!(
        groups,
        vec![
            ("claude-3.5-haiku".to_string(), some("brief-v1"), 1, 5.0),
            ("gpt-4o-mini".to_string(), None, 1, 2.0),
            ("gpt-4o-mini".to_string(), some("brief-v1"), 2, 3.5),
            ("gpt-4o-mini".to_string(), some("brief-v2"), 1, 1.0),
        ],
        "{summary}"
    );
    let (_, only) = app.get("/v1/feedback/summary?prompt_template=brief-v1").await;
    assert_eq!(only["data"].as_array().map(Vec::len), Some(2), "{only}");
    app.stop().await;
}

#[tokio::test]
async fn a_bad_prompt_template_is_refused_naming_the_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            "gpt-4o-mini",
            json!({"name": "t", "user": "{{prompt}} in {{language}}"}),
            "prompt_template.user",
        ),
        (
            "gpt-4o-mini",
            json!({"name": "t", "user": "no slot"}),
            "prompt_template.user",
        ),
        ("gpt-4o-mini", json!({"name": "two words"}), "prompt_template.name"),
        (
            "gpt-4o-mini",
            json!({"name": "t", "temperature": 7}),
            "prompt_template.temperature",
        ),
        (
            "gpt-4o-mini",
            json!({"name": "t", "max_tokens": 999999}),
            "prompt_template.max_tokens",
        ),
        (
            "gpt-4o-mini",
            json!({"name": "t", "system": " "}),
            "prompt_template.system",
        ),
        // Anthropic refuses whitespace-only stop sequences; OpenAI takes them.
        (
            "claude-3.5-haiku",
            json!({"name": "t", "stop": ["\n"]}),
            "prompt_template.stop[0]",
        ),
        ("dall-e-3", json!({"name": "t", "system": "draw"}), "prompt_template"),
    ];
    for (model, template, field) in cases {
        let (status, error) = with_template(&app, model, template.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{model} {template}: {error}");
        assert_eq!(error["error"]["field"], field, "{model} {template}: {error}");
    }
    let (status, error) = with_template(&app, "gpt-4o-mini", json!({"name": "t", "wrapper": "x"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"]["field"], "prompt_template.wrapper", "{error}");
    let (status, ok) = with_template(&app, "gpt-4o-mini", json!({"name": "t", "stop": ["\n"]})).await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM models WHERE prompt_template IS NOT NULL AND id <> 'gpt-4o-mini'")
            .fetch_one(&app.pool)
            .await
            .expect("count");
    assert_eq!(stored, 0, "no refused template was saved");
    app.stop().await;
}
