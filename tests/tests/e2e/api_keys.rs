//! Generated API keys: shown once and stored as a hash, scoped, expiring,
//! revoked on every producer within a second, made by the CLI before there is
//! any key at all.

use std::time::{Duration, Instant};

use electrons_domain::auth::{hash_key, key_format};
use electrons_tests::{TestApp, WorkerProcess};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::ELECTRONS;

const TEXT_JOB: &str = r#"{"model": "gpt-4o-mini", "input": {"prompt": "hello"}}"#;

async fn call(
    app: &TestApp,
    base_url: &str,
    method: Method,
    path: &str,
    key: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut request = app.http.request(method, format!("{base_url}{path}")).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn text_job() -> Value {
    serde_json::from_str(TEXT_JOB).expect("job")
}

/// A key made by the operator through the admin API for the app's project.
async fn create_key(app: &TestApp, body: Value) -> Value {
    let project = app.project_of(&app.api_key).await;
    let mut body = body;
    body["project_id"] = json!(project);
    let (status, created) = app.admin(Method::POST, "/v1/admin/keys", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

#[tokio::test]
async fn a_generated_key_is_shown_once_stored_as_a_hash_and_works() {
    let app = TestApp::spawn().await;
    let created = create_key(&app, json!({"name": "ci", "environment": "test"})).await;
    let key = created["key"].as_str().expect("the key, this once").to_string();
    assert!(key.starts_with("de_test_") && key_format::is_generated(&key), "{key}");
    assert_eq!(created["prefix"], key[..12]);
    assert_eq!(created["scopes"], json!(["jobs:write", "jobs:read"]));
    let id = created["id"].as_str().expect("id").to_string();

    let (status, job) = call(&app, &app.base_url, Method::POST, "/v1/jobs", &key, Some(&text_job())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");

    // Never again: not in the list, not in the key's own record, not in PostgreSQL.
    let (_, listed) = app.admin(Method::GET, "/v1/admin/keys", None).await;
    assert!(!listed.to_string().contains(&key), "{listed}");
    assert!(listed["data"]
        .as_array()
        .is_some_and(|keys| keys.iter().any(|k| k["id"] == id.as_str())));
    let (_, record) = app.admin(Method::GET, &format!("/v1/admin/keys/{id}"), None).await;
    assert!(
        !record.to_string().contains(&key) && record["key"].is_null(),
        "{record}"
    );
    let row: (String, String) =
        sqlx::query_as("SELECT key_hash, row_to_json(api_keys)::text FROM api_keys WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .expect("row");
    assert_eq!(row.0, hash_key(&key));
    assert!(!row.1.contains(&key[12..]), "the row holds the key: {}", row.1);

    // Last use is written in batches, within a few seconds.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let used: Option<chrono::DateTime<chrono::Utc>> =
            sqlx::query_scalar("SELECT last_used_at FROM api_keys WHERE id = $1::uuid")
                .bind(&id)
                .fetch_one(&app.pool)
                .await
                .expect("last used");
        if used.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "last_used_at never written");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A look-alike with a broken checksum is refused like any unknown key.
    let mut forged = key.clone().into_bytes();
    forged[20] = if forged[20] == b'a' { b'b' } else { b'a' };
    let forged = String::from_utf8(forged).expect("ascii");
    let (status, error) = call(&app, &app.base_url, Method::GET, "/v1/jobs", &forged, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
    app.stop().await;
}

#[tokio::test]
async fn each_scope_is_enforced() {
    let app = TestApp::spawn().await;
    let (_, job) = app.submit(&text_job()).await;
    let job_id = job["id"].as_str().expect("job id").to_string();
    let reader = create_key(&app, json!({"scopes": ["jobs:read"]})).await["key"]
        .as_str()
        .expect("key")
        .to_string();
    let writer = create_key(&app, json!({"scopes": ["jobs:write"]})).await["key"]
        .as_str()
        .expect("key")
        .to_string();
    let base = app.base_url.clone();

    let (status, error) = call(&app, &base, Method::POST, "/v1/jobs", &reader, Some(&text_job())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(error["error"]["code"], "insufficient_scope");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("jobs:write")),
        "{error}"
    );
    let (status, _) = call(
        &app,
        &base,
        Method::POST,
        &format!("/v1/jobs/{job_id}/cancel"),
        &reader,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, read) = call(&app, &base, Method::GET, &format!("/v1/jobs/{job_id}"), &reader, None).await;
    assert_eq!(status, StatusCode::OK, "{read}");

    let (status, _) = call(&app, &base, Method::GET, &format!("/v1/jobs/{job_id}"), &writer, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&app, &base, Method::GET, "/v1/jobs", &writer, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, submitted) = call(&app, &base, Method::POST, "/v1/jobs", &writer, Some(&text_job())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{submitted}");

    // Neither may manage keys; an admin key manages its own project's only.
    for key in [&reader, &writer] {
        let (status, error) = call(&app, &base, Method::GET, "/v1/admin/keys", key, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
        assert_eq!(error["error"]["code"], "insufficient_scope");
    }
    let admin = create_key(&app, json!({"scopes": ["admin"]})).await["key"]
        .as_str()
        .expect("key")
        .to_string();
    let (status, made) = call(
        &app,
        &base,
        Method::POST,
        "/v1/admin/keys",
        &admin,
        Some(&json!({"name": "by admin"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["project_id"], json!(app.project_of(&app.api_key).await));
    // A key with only `admin` manages keys but runs no jobs.
    let (status, _) = call(&app, &base, Method::POST, "/v1/jobs", &admin, Some(&text_job())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The fleet-wide admin API is the operator's alone.
    let (status, _) = call(&app, &base, Method::GET, "/v1/admin/rate-limits", &admin, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let other = app.project_key("other").await;
    let other_project = app.project_of(&other).await;
    let (status, theirs) = app
        .admin(
            Method::POST,
            "/v1/admin/keys",
            Some(&json!({"project_id": other_project})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{theirs}");
    let their_id = theirs["id"].as_str().expect("id");
    let (_, listed) = call(&app, &base, Method::GET, "/v1/admin/keys", &admin, None).await;
    let listed = listed["data"].as_array().cloned().unwrap_or_default();
    assert!(!listed.is_empty() && listed.iter().all(|k| k["project_id"] != json!(other_project)));
    for (method, path) in [
        (Method::GET, format!("/v1/admin/keys/{their_id}")),
        (Method::DELETE, format!("/v1/admin/keys/{their_id}")),
    ] {
        let (status, error) = call(&app, &base, method, &path, &admin, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    }
    let (status, error) = call(
        &app,
        &base,
        Method::POST,
        "/v1/admin/keys",
        &admin,
        Some(&json!({"project_id": other_project})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    let revoked: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT revoked_at FROM api_keys WHERE id = $1::uuid")
            .bind(their_id)
            .fetch_one(&app.pool)
            .await
            .expect("row");
    assert!(revoked.is_none(), "another project's key was revoked");

    // Bad input names its field and makes nothing.
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    for (body, field) in [
        (json!({"scopes": ["jobs:delete"]}), "scopes[0]"),
        (json!({"scopes": []}), "scopes"),
        (json!({"expires_at": "2020-01-01T00:00:00Z"}), "expires_at"),
        (json!({"environment": "prod"}), "environment"),
        (json!({"colour": "red"}), ""),
    ] {
        let (status, error) = call(&app, &base, Method::POST, "/v1/admin/keys", &admin, Some(&body)).await;
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
            "{body}: {status} {error}"
        );
        if !field.is_empty() {
            assert_eq!(error["error"]["field"], field, "{body}: {error}");
        }
    }
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(before, after);
    app.stop().await;
}

#[tokio::test]
async fn an_expired_key_is_refused() {
    let app = TestApp::spawn().await;
    let expires_at = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let key = create_key(&app, json!({"expires_at": expires_at})).await["key"]
        .as_str()
        .expect("key")
        .to_string();
    let (status, _) = call(&app, &app.base_url, Method::GET, "/v1/jobs", &key, None).await;
    assert_eq!(status, StatusCode::OK, "works until it expires (and is cached now)");
    tokio::time::sleep_until((Instant::now() + (expires_at - chrono::Utc::now()).to_std().unwrap_or_default()).into())
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, error) = call(&app, &app.base_url, Method::GET, "/v1/jobs", &key, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
    assert_eq!(error["error"]["code"], "key_expired");
    app.stop().await;
}

#[tokio::test]
async fn a_revoked_key_is_refused_by_another_producer_within_a_second() {
    let app = TestApp::spawn().await;
    let second = WorkerProcess::start_role(ELECTRONS, &app.settings, &["producer"]).expect("second producer");
    let second_url = second.http_url().await;
    let created = create_key(&app, json!({})).await;
    let key = created["key"].as_str().expect("key").to_string();
    let id = created["id"].as_str().expect("id").to_string();
    // Both producers have the key cached.
    for base in [&app.base_url, &second_url] {
        for _ in 0..3 {
            let (status, body) = call(&app, base, Method::GET, "/v1/jobs", &key, None).await;
            assert_eq!(status, StatusCode::OK, "{base}: {body}");
        }
    }

    let (status, revoked) = app.admin(Method::DELETE, &format!("/v1/admin/keys/{id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let revoked_at = Instant::now();
    loop {
        let (status, _) = call(&app, &second_url, Method::GET, "/v1/jobs", &key, None).await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            revoked_at.elapsed() < Duration::from_secs(1),
            "the second producer still took the key {:?} after its revocation",
            revoked_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, _) = call(&app, &app.base_url, Method::GET, "/v1/jobs", &key, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Revoking again keeps the first time.
    let (status, again) = app.admin(Method::DELETE, &format!("/v1/admin/keys/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["revoked_at"], revoked["revoked_at"]);
    app.stop().await;
}

#[tokio::test]
async fn the_cli_makes_a_projects_first_key_and_prints_it_once() {
    let app = TestApp::spawn().await;
    let output = WorkerProcess::run_to_end(
        ELECTRONS,
        &app.settings,
        &[
            "admin",
            "create-key",
            "--project",
            "launch",
            "--name",
            "owner",
            "--expires-in",
            "30d",
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let key = stdout.trim();
    assert!(
        key.starts_with("de_live_") && key_format::is_generated(key),
        "stdout is the key alone: {stdout:?}"
    );
    assert!(!stderr.contains(key), "the key is printed once, on stdout");
    assert!(
        stderr.contains("launch") && stderr.contains("jobs:write,jobs:read,admin"),
        "{stderr}"
    );

    let (status, job) = call(&app, &app.base_url, Method::POST, "/v1/jobs", key, Some(&text_job())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let (status, keys) = call(&app, &app.base_url, Method::GET, "/v1/admin/keys", key, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the owner key manages its project's keys: {keys}"
    );
    assert!(keys["data"][0]["expires_at"].is_string(), "{keys}");

    let output = WorkerProcess::run_to_end(
        ELECTRONS,
        &app.settings,
        &["admin", "create-key", "--project", "launch", "--scope", "jobs:delete"],
    )
    .await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("jobs:delete"));
    app.stop().await;
}
