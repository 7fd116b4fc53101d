//! Organizations → instances → projects through the admin API, and provider
//! keys per instance: an instance's projects call with its own key (the
//! simulator sees which), fall back to the deployment's without one, and two
//! instances with their own keys each get their own full rate at once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use electrons_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const KEY_A: &str = "sk-instance-a-SECRET-aaaa";
const KEY_B: &str = "sk-instance-b-SECRET-bbbb";
/// The deployment's key for every provider in tests is `sim-key`.
const DEPLOYMENT_LAST4: &str = "-key";

async fn put(app: &TestApp, path: &str, body: Value) -> Value {
    let (status, saved) = app.admin(Method::PUT, path, Some(&body)).await;
    assert!(status.is_success(), "PUT {path}: {status} {saved}");
    saved
}

/// Submits `count` jobs with `key`; their ids.
async fn submit_many(app: &TestApp, key: &str, tag: &str, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..count {
        let (status, job) = app
            .submit_as(
                key,
                &json!({"model": "gpt-4o-mini", "input": {"prompt": format!("{tag} {i}"), "max_tokens": 5}}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        ids.push(job["id"].as_str().expect("id").to_string());
    }
    ids
}

/// When the simulator saw each request whose prompt starts with `tag`, and with which key.
fn seen(app: &TestApp, tag: &str) -> Vec<(DateTime<Utc>, String)> {
    let mut seen: Vec<_> = app
        .sim
        .controls()
        .requests()
        .into_iter()
        .filter(|r| r.prompt.as_deref().is_some_and(|p| p.starts_with(&format!("{tag} "))))
        .map(|r| (r.at, r.key_last4.unwrap_or_default()))
        .collect();
    seen.sort();
    seen
}

/// Requests a second past the burst: what the limit let through once it bit.
fn rate(seen: &[(DateTime<Utc>, String)], burst: usize) -> f64 {
    let after = &seen[burst..];
    let span = (after[after.len() - 1].0 - after[0].0).num_milliseconds() as f64 / 1000.0;
    (after.len() - 1) as f64 / span
}

#[tokio::test]
async fn instances_call_with_their_own_keys_and_each_reach_their_own_full_rate() {
    let app = TestApp::spawn().await;
    // The deployment's OpenAI limit: 8 requests a second, 2 at once, no margin.
    app.set_rate_limit(
        "openai",
        &json!({"provider": "openai", "requests_per_interval": 8, "request_interval_ms": 1000,
                "request_burst": 2, "arrival_margin_ms": 0}),
    )
    .await;
    put(&app, "/v1/admin/organizations/acme", json!({"name": "Acme"})).await;
    for instance in ["acme-a", "acme-b"] {
        let saved = put(
            &app,
            &format!("/v1/admin/instances/{instance}"),
            json!({"organization": "acme", "name": instance}),
        )
        .await;
        assert_eq!(saved["organization"], "acme");
    }
    let (_, key_a) = app.project_in("team-a", "acme-a").await;
    let (project_b, key_b) = app.project_in("team-b", "acme-b").await;
    let (project_c, key_c) = app.project_in("team-c", "default").await;
    for (instance, key) in [("acme-a", KEY_A), ("acme-b", KEY_B)] {
        let (status, credential) = app
            .admin(
                Method::PUT,
                &format!("/v1/admin/instances/{instance}/credentials/openai"),
                Some(&json!({"api_key": key})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{credential}");
        assert_eq!(credential["api_key"]["last4"], key[key.len() - 4..], "{credential}");
        assert_eq!(credential["credential_id"], format!("openai@{instance}"));
    }
    // Each key got its own copy of the provider's limit.
    let (status, limit) = app
        .admin(Method::GET, "/v1/admin/rate-limits/openai@acme-a", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{limit}");
    assert_eq!(limit["provider"], "openai@acme-a", "{limit}");

    // Both instances at once, each with more than its bucket holds.
    let per_instance = 24;
    let (a, b) = tokio::join!(
        submit_many(&app, &key_a, "from-a", per_instance),
        submit_many(&app, &key_b, "from-b", per_instance)
    );
    app.wait_for_all_as(&key_a, &a, "succeeded", Duration::from_secs(60))
        .await;
    app.wait_for_all_as(&key_b, &b, "succeeded", Duration::from_secs(60))
        .await;
    let (seen_a, seen_b) = (seen(&app, "from-a"), seen(&app, "from-b"));
    assert_eq!((seen_a.len(), seen_b.len()), (per_instance, per_instance));
    assert!(
        seen_a.iter().all(|(_, key)| key == "aaaa"),
        "instance A's key: {seen_a:?}"
    );
    assert!(
        seen_b.iter().all(|(_, key)| key == "bbbb"),
        "instance B's key: {seen_b:?}"
    );
    let (rate_a, rate_b) = (rate(&seen_a, 2), rate(&seen_b, 2));
    // Sharing one bucket, each would get about 4 a second.
    assert!(
        (6.5..=9.0).contains(&rate_a) && (6.5..=9.0).contains(&rate_b),
        "each instance gets its own 8/s: {rate_a:.1}/s and {rate_b:.1}/s"
    );
    let overlap = seen_a[seen_a.len() - 1].0.min(seen_b[seen_b.len() - 1].0) - seen_a[0].0.max(seen_b[0].0);
    assert!(overlap > chrono::TimeDelta::seconds(1), "at the same time: {overlap}");

    // The default instance has no key of its own: the deployment's.
    let c = submit_many(&app, &key_c, "from-c", 1).await;
    app.wait_for_all_as(&key_c, &c, "succeeded", Duration::from_secs(20))
        .await;
    assert_eq!(seen(&app, "from-c")[0].1, DEPLOYMENT_LAST4);

    // Moved into instance A, a project calls with A's key; without its key, B falls back.
    let (status, moved) = app
        .admin(
            Method::PATCH,
            &format!("/v1/admin/projects/{project_c}"),
            Some(&json!({"instance": "acme-a"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    let (status, _) = app
        .admin(Method::DELETE, "/v1/admin/instances/acme-b/credentials/openai", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let moved = submit_many(&app, &key_c, "moved-c", 1).await;
    let fallen = submit_many(&app, &key_b, "fallen-b", 1).await;
    app.wait_for_all_as(&key_c, &moved, "succeeded", Duration::from_secs(20))
        .await;
    app.wait_for_all_as(&key_b, &fallen, "succeeded", Duration::from_secs(20))
        .await;
    assert_eq!(seen(&app, "moved-c")[0].1, "aaaa");
    assert_eq!(seen(&app, "fallen-b")[0].1, DEPLOYMENT_LAST4);
    let limits: i64 = sqlx::query_scalar("SELECT count(*) FROM rate_limits WHERE provider_id = 'openai@acme-b'")
        .fetch_one(&app.pool)
        .await
        .expect("limits");
    assert_eq!(limits, 0, "its limits went with it");

    // Sealed at rest, bound to its row; the key shows nowhere.
    let sealed: String = sqlx::query_scalar("SELECT api_key_sealed FROM providers WHERE id = 'openai@acme-a'")
        .fetch_one(&app.pool)
        .await
        .expect("sealed");
    assert!(!sealed.contains("SECRET"), "{sealed}");
    let mut texts = Vec::new();
    for path in [
        "/v1/admin/instances/acme-a/credentials",
        "/v1/admin/audit",
        "/v1/admin/providers",
        &format!("/v1/admin/projects/{project_b}"),
    ] {
        let (status, body) = app.admin(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        texts.push(body.to_string());
    }
    for text in &texts {
        assert!(!text.contains("SECRET"), "a key shows: {text}");
    }
    let (_, providers) = app.admin(Method::GET, "/v1/admin/providers", None).await;
    assert!(
        !providers.to_string().contains("openai@"),
        "instance keys are not deployment providers: {providers}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_tenancy_refuses_what_would_orphan_or_collide_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            Method::PUT,
            "/v1/admin/instances/i1",
            json!({"organization": "nobody", "name": "x"}),
            422,
            "organization",
        ),
        (
            Method::PUT,
            "/v1/admin/organizations/o1",
            json!({"name": " "}),
            422,
            "name",
        ),
        (
            Method::PUT,
            "/v1/admin/organizations/o@1",
            json!({"name": "x"}),
            422,
            "id",
        ),
        (
            Method::POST,
            "/v1/admin/projects",
            json!({"name": "p", "instance": "nowhere"}),
            422,
            "instance",
        ),
        (
            Method::PUT,
            "/v1/admin/providers/openai@default",
            json!({"kind": "openai_chat", "base_url": "http://127.0.0.1:1"}),
            422,
            "id",
        ),
        (
            Method::PUT,
            "/v1/admin/instances/default/credentials/nope",
            json!({"api_key": "k"}),
            404,
            "",
        ),
        (
            Method::PUT,
            "/v1/admin/instances/nowhere/credentials/openai",
            json!({"api_key": "k"}),
            404,
            "",
        ),
        (
            Method::PUT,
            "/v1/admin/instances/default/credentials/openai",
            json!({"api_key": " "}),
            422,
            "api_key",
        ),
    ];
    for (method, path, body, status, field) in cases {
        let (got, error) = app.admin(method.clone(), path, Some(&body)).await;
        assert_eq!(got.as_u16(), status, "{method} {path}: {error}");
        if !field.is_empty() {
            assert_eq!(error["error"]["field"], field, "{method} {path}: {error}");
        }
    }
    put(&app, "/v1/admin/organizations/o1", json!({"name": "One"})).await;
    put(
        &app,
        "/v1/admin/instances/i1",
        json!({"organization": "o1", "name": "First"}),
    )
    .await;
    let (project, _) = app.project_in("p1", "i1").await;
    let (status, error) = app.admin(Method::DELETE, "/v1/admin/organizations/o1", None).await;
    assert_eq!(
        (status, error["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("not_empty"))
    );
    let (status, error) = app.admin(Method::DELETE, "/v1/admin/instances/i1", None).await;
    assert_eq!(
        (status, error["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("not_empty"))
    );
    let (_, listed) = app.admin(Method::GET, "/v1/admin/projects?instance=i1", None).await;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1), "{listed}");
    // Emptied, both go.
    let (status, _) = app
        .admin(
            Method::PATCH,
            &format!("/v1/admin/projects/{project}"),
            Some(&json!({"instance": "default"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.admin(Method::DELETE, "/v1/admin/instances/i1", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.admin(Method::DELETE, "/v1/admin/organizations/o1", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, organizations) = app.admin(Method::GET, "/v1/admin/organizations", None).await;
    assert_eq!(
        organizations["data"].as_array().map(Vec::len),
        Some(1),
        "only the default: {organizations}"
    );
    let instances: i64 = sqlx::query_scalar("SELECT count(*) FROM instances")
        .fetch_one(&app.pool)
        .await
        .expect("instances");
    assert_eq!(instances, 1);
    // Only the operator manages tenancy.
    let response = app
        .http
        .get(format!("{}/v1/admin/organizations", app.base_url))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}
