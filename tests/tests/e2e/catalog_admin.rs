//! Models and providers through the admin API: an OpenAI-compatible provider
//! and a model on it, added while the fleet runs, are taken by another
//! producer process within a second and run by a worker process, with no
//! restart. The provider's key is sealed at rest, shown by its last four
//! characters only, never logged, and sealed again when the keyring rotates.

use std::time::{Duration, Instant};

use electrons_domain::{catalog::provider_key_binding, keyring::Keyring};
use electrons_tests::{Options, TestApp, WorkerProcess};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::ELECTRONS;

const KEY: &str = "sk-compat-VERY-SECRET-0123456789-wxyz";

async fn sealed_key(app: &TestApp, provider: &str) -> String {
    sqlx::query_scalar("SELECT api_key_sealed FROM providers WHERE id = $1")
        .bind(provider)
        .fetch_one(&app.pool)
        .await
        .expect("sealed key")
}

#[tokio::test]
async fn an_openai_compatible_provider_and_its_model_run_without_a_restart_and_the_key_never_shows() {
    let app = TestApp::with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let worker = app.worker_process(ELECTRONS);
    let second = WorkerProcess::start_role(ELECTRONS, &app.settings, &["producer"]).expect("second producer");
    let second_url = second.http_url().await;
    let submit = |base: String| {
        let app = &app;
        async move {
            let response = app
                .http
                .post(format!("{base}/v1/jobs"))
                .bearer_auth(&app.api_key)
                .json(&json!({"model": "compat-llama", "input": {"prompt": "Say hi", "max_tokens": 20}}))
                .send()
                .await
                .expect("submit");
            let status = response.status();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, unknown) = submit(second_url.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "not there yet: {unknown}");

    let (status, provider) = app
        .admin(
            Method::PUT,
            "/v1/admin/providers/vllm-local",
            Some(&json!({"kind": "openai_chat", "base_url": app.sim.base_url(), "api_key": KEY, "timeout_ms": 5000})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{provider}");
    assert_eq!(provider["api_key"], json!({"set": true, "last4": "wxyz"}), "{provider}");
    assert_eq!(provider["key_in_use"]["source"], "database", "{provider}");
    let (status, limit) = app.admin(Method::GET, "/v1/admin/rate-limits/vllm-local", None).await;
    assert_eq!(status, StatusCode::OK, "a new provider gets a default limit: {limit}");
    let (status, model) = app
        .admin(
            Method::PUT,
            "/v1/admin/models/compat-llama",
            Some(
                &json!({"modality": "text", "provider": "vllm-local", "provider_model": "llama-3.1-8b",
                         "max_output_tokens": 2048,
                         "pricing": {"input_usd_per_mtok": 0.05, "output_usd_per_mtok": 0.10}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{model}");
    assert_eq!(model["status"], "active", "{model}");

    // The other producer knows the model within a second: it was told, not polled.
    let added = Instant::now();
    let job = loop {
        let (status, job) = submit(second_url.clone()).await;
        if status == StatusCode::ACCEPTED {
            break job;
        }
        assert!(
            added.elapsed() < Duration::from_secs(1),
            "still refused after {:?}: {job}",
            added.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let id = job["id"].as_str().expect("id");
    let done = app.wait_for(id, "succeeded", Duration::from_secs(20)).await;
    assert_eq!(done["model"], "compat-llama");
    assert!(done["metrics"]["cost_usd"].as_f64().is_some_and(|c| c > 0.0), "{done}");
    let served = app.sim.controls().requests();
    assert!(
        served.iter().any(|r| r.model.as_deref() == Some("llama-3.1-8b")),
        "the provider model name was sent"
    );

    // At rest: ciphertext bound to the row, not the key.
    let sealed = sealed_key(&app, "vllm-local").await;
    assert!(sealed.starts_with("v1.test."), "{sealed}");
    assert!(!sealed.contains("VERY-SECRET"), "{sealed}");
    let plaintext: Option<String> = sqlx::query_scalar("SELECT api_key FROM providers WHERE id = 'vllm-local'")
        .fetch_one(&app.pool)
        .await
        .expect("plaintext column");
    assert_eq!(plaintext, None);

    // The key is in no API response and no log line of any process.
    let mut seen = Vec::new();
    for path in [
        "/v1/admin/providers",
        "/v1/admin/providers/vllm-local",
        "/v1/admin/models/compat-llama",
        "/v1/admin/audit",
    ] {
        let (status, body) = app.admin(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        seen.push(body.to_string());
    }
    seen.push(app.job(id).await.to_string());
    seen.push(worker.log());
    seen.push(second.log());
    for text in &seen {
        assert!(
            !text.contains(KEY) && !text.contains("VERY-SECRET"),
            "the key shows: {text}"
        );
    }
    let (_, audit) = app
        .admin(Method::GET, "/v1/admin/audit?action=provider.put", None)
        .await;
    assert_eq!(audit["data"][0]["after"]["api_key_last4"], "wxyz", "{audit}");

    // Rotation: a new key in front of the ring seals it again.
    let mut rotated = app.settings.clone();
    let old = app
        .settings
        .keyring
        .as_ref()
        .expect("keyring")
        .env_value()
        .expose()
        .to_string();
    let ring = format!("{},{old}", Keyring::generate_entry("next"));
    rotated.keyring = Some(Keyring::parse(&ring).expect("ring"));
    let output = WorkerProcess::run_to_end(ELECTRONS, &rotated, &["admin", "rotate-secrets"]).await;
    let said = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(output.status.success(), "{said}");
    // The test's other providers hold the first migration's plaintext keys:
    // those are sealed too.
    let providers: i64 = sqlx::query_scalar("SELECT count(*) FROM providers")
        .fetch_one(&app.pool)
        .await
        .expect("providers");
    assert!(said.contains(&format!("sealed {providers} provider key")), "{said}");
    let plaintext: i64 = sqlx::query_scalar("SELECT count(*) FROM providers WHERE api_key IS NOT NULL")
        .fetch_one(&app.pool)
        .await
        .expect("plaintext keys");
    assert_eq!(plaintext, 0, "no key is left in plaintext");
    assert!(!said.contains(KEY));
    let resealed = sealed_key(&app, "vllm-local").await;
    assert!(resealed.starts_with("v1.next."), "{resealed}");
    let new_ring = Keyring::parse(&ring).expect("ring");
    let binding = provider_key_binding("vllm-local");
    assert_eq!(
        new_ring.open(&resealed, &binding).map(|k| k.expose().to_string()),
        Ok(KEY.to_string())
    );
    let old_ring = Keyring::parse(&old).expect("old ring");
    assert!(old_ring.open(&resealed, &binding).is_err(), "only the new key opens it");
    // Moved to another row, a sealed key does not open.
    assert!(new_ring.open(&resealed, &provider_key_binding("openai")).is_err());
}

#[tokio::test]
async fn bad_providers_and_models_are_refused_naming_the_field_and_change_nothing() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            "/v1/admin/providers/p1",
            json!({"kind": "carrier-pigeon", "base_url": "http://127.0.0.1:1"}),
            "kind",
        ),
        (
            "/v1/admin/providers/p1",
            json!({"kind": "openai_chat", "base_url": "ftp://x"}),
            "base_url",
        ),
        (
            "/v1/admin/providers/p1",
            json!({"kind": "openai_chat", "base_url": "http://127.0.0.1:1", "api_key": " "}),
            "api_key",
        ),
        (
            "/v1/admin/providers/bad%20id",
            json!({"kind": "openai_chat", "base_url": "http://127.0.0.1:1"}),
            "id",
        ),
        (
            "/v1/admin/models/m1",
            json!({"modality": "text", "provider": "nowhere", "provider_model": "x"}),
            "provider",
        ),
        (
            "/v1/admin/models/m1",
            json!({"modality": "audio", "provider": "openai", "provider_model": "x"}),
            "modality",
        ),
        (
            "/v1/admin/models/m1",
            json!({"modality": "image", "provider": "openai", "provider_model": "dall-e-9"}),
            "provider_model",
        ),
        (
            "/v1/admin/models/m1",
            json!({"modality": "text", "provider": "openai", "provider_model": "x",
                                       "default_max_tokens": 5000, "max_output_tokens": 100}),
            "default_max_tokens",
        ),
        (
            "/v1/admin/models/m1",
            json!({"modality": "text", "provider": "openai", "provider_model": "x",
                                       "pricing": {"usd_per_request": -1}}),
            "pricing.usd_per_request",
        ),
    ];
    for (path, body, field) in cases {
        let (status, error) = app.admin(Method::PUT, path, Some(&body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path} {body}: {error}");
        assert_eq!(error["error"]["field"], field, "{path} {body}: {error}");
    }
    for (path, what) in [("/v1/admin/providers/p1", "provider"), ("/v1/admin/models/m1", "model")] {
        let (status, _) = app.admin(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "no {what} was made");
    }
    // A provider with models is not removed from under them; a model is disabled, then deleted.
    let (status, error) = app.admin(Method::DELETE, "/v1/admin/providers/openai", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["error"]["code"], "provider_in_use");
    let (status, model) = app.admin(Method::GET, "/v1/admin/models/gpt-4o-mini", None).await;
    assert_eq!(status, StatusCode::OK, "{model}");
    let mut disabled = model.clone();
    for field in ["id", "created_at", "updated_at", "deprecated_at"] {
        disabled.as_object_mut().expect("object").remove(field);
    }
    disabled["status"] = json!("disabled");
    let (status, saved) = app
        .admin(Method::PUT, "/v1/admin/models/gpt-4o-mini", Some(&disabled))
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (status, refused) = app
        .submit(&json!({"model": "gpt-4o-mini", "input": {"prompt": "hi"}}))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a disabled model takes no jobs: {refused}"
    );
    let (_, listed) = app.get("/v1/models").await;
    assert!(!listed.to_string().contains("\"gpt-4o-mini\""), "{listed}");
    let (status, _) = app.admin(Method::DELETE, "/v1/admin/models/gpt-4o-mini", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Only the operator manages them.
    let response = app
        .http
        .get(format!("{}/v1/admin/providers", app.base_url))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .expect("as a key");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_deprecated_model_still_runs_and_its_submits_say_since_when() {
    let app = TestApp::spawn().await;
    let body = json!({"model": "gpt-4o-mini", "input": {"prompt": "hi"}});
    let submit = || async {
        app.http
            .post(format!("{}/v1/jobs", app.base_url))
            .bearer_auth(&app.api_key)
            .json(&body)
            .send()
            .await
            .expect("submit")
    };
    let active = submit().await;
    assert_eq!(active.status(), StatusCode::ACCEPTED);
    assert!(active.headers().get("deprecation").is_none());

    let before = chrono::Utc::now().timestamp();
    app.change_model("gpt-4o-mini", "status = 'deprecated'").await;
    let deprecated = submit().await;
    assert_eq!(deprecated.status(), StatusCode::ACCEPTED);
    let since = deprecated
        .headers()
        .get("deprecation")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix('@'))
        .and_then(|v| v.parse::<i64>().ok())
        .expect("Deprecation: @<unix time>");
    assert!((before - 1..=before + 5).contains(&since), "{since} vs {before}");
    let link = deprecated
        .headers()
        .get("link")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(link.contains("/v1/models>; rel=\"deprecation\""), "{link}");
    let job: Value = deprecated.json().await.expect("job");
    app.wait_for(job["id"].as_str().expect("id"), "succeeded", Duration::from_secs(20))
        .await;

    // Changed again while deprecated, it keeps the date it was deprecated on.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.change_model("gpt-4o-mini", "max_output_tokens = 8000").await;
    let (_, models) = app.get("/v1/models").await;
    let listed = models["data"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["id"] == "gpt-4o-mini").cloned())
        .expect("listed");
    assert_eq!(listed["status"], "deprecated");
    let at = listed["deprecated_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    assert_eq!(at.map(|t| t.timestamp()), Some(since), "{listed}");
    let again = submit().await;
    assert_eq!(
        again.headers().get("deprecation").and_then(|v| v.to_str().ok()),
        Some(format!("@{since}").as_str())
    );
    app.change_model("gpt-4o-mini", "status = 'active'").await;
    assert!(submit().await.headers().get("deprecation").is_none());
    app.stop().await;
}
