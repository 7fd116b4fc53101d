//! The OpenAI-compatible API (`/openai/v1`) with OpenAI's official Python
//! client (`tests/python/openai_test.py`, run with `DE_TEST_PYTHON`), only its
//! base URL changed: models, chat on an OpenAI and an Anthropic model, an
//! idempotent retry, images (as links and inline), speech, and refusals as the
//! client's own error types. This side checks that each call was an ordinary
//! DE job of the caller's project, and that nothing refused made one.

use electrons_tests::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn openais_client_runs_chat_as_de_jobs() {
    let app = TestApp::spawn().await;
    let made = electrons_tests::run_client_script(
        "the openai client",
        "openai_test.py",
        &["--url", &app.base_url, "--key", &app.api_key],
    )
    .await;
    let jobs: Vec<&str> = made["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(jobs.len(), 12, "{made}");
    // Each call is a job of the key's project, in its list, finished.
    for id in &jobs {
        let (status, job) = app.get(&format!("/v1/jobs/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    let (_, anthropic) = app.get(&format!("/v1/jobs/{}", jobs[1])).await;
    assert_eq!(anthropic["model"], "claude-3.5-haiku");
    assert_eq!(anthropic["input"]["system"], "Be brief.");
    // The streamed chats were streaming jobs, their text committed as any job's is.
    for id in &jobs[4..6] {
        let (_, streamed) = app.get(&format!("/v1/jobs/{id}")).await;
        assert_eq!(streamed["input"]["stream"], true, "{streamed}");
        assert!(
            streamed["output"].as_str().is_some_and(|o| o.contains("electrons")),
            "{streamed}"
        );
    }
    // The idempotent retry made no second job, and nothing refused made one:
    // the chats, two image requests and one speech request, each succeeded.
    let (_, listed) = app.get("/v1/jobs?limit=100").await;
    let mut models: Vec<(&str, &str)> = listed["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|j| {
            (
                j["model"].as_str().unwrap_or_default(),
                j["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    models.sort_unstable();
    let done = "succeeded";
    assert_eq!(
        models,
        [
            ("claude-3.5-haiku", done),
            ("claude-3.5-haiku", done),
            ("claude-3.5-haiku", done),
            ("claude-3.5-haiku", done),
            ("claude-3.5-haiku", done),
            ("claude-3.5-haiku", done),
            ("dall-e-3", done),
            ("gpt-4o-mini", done),
            ("gpt-4o-mini", done),
            ("gpt-4o-mini", done),
            ("gpt-4o-mini", done),
            ("gpt-4o-mini", done),
            ("gpt-4o-mini", done),
            ("gpt-4o-mini", done),
            ("gpt-4o-mini", done),
            ("gpt-4o-mini", done),
            ("gpt-4o-mini", done),
            ("ideogram-v2", done),
            ("multilingual-v2", done),
        ],
        "{listed}"
    );
    app.stop().await;
}
