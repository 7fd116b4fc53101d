//! The web console in a real browser: Debian's Chromium driven by Playwright
//! for Python (`tests/python/console_test.py`, run with `DE_TEST_PYTHON`, the
//! interpreter `deploy/python-tools.sh` prepares). The script signs in, runs
//! a text and an image job from the playground, redelivers a webhook, creates
//! and revokes a key, changes a rate limit as the operator, and saves
//! screenshots of every main page at 1366×768 and 390×844 under
//! `target/console-screenshots/`. This side checks what the browser changed.

use std::{path::PathBuf, time::Duration};

use electrons_tests::{Receiver, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

const PAGES: &[&str] = &[
    "sign-in",
    "overview",
    "playground",
    "job-text",
    "job-image",
    "job-webhook",
    "jobs",
    "keys-created",
    "keys",
    "rate-limits",
    "admin-models",
    "admin-audit",
    "webhooks",
    "jobs-operator",
    "admin-refused",
    "admin-instances",
    "admin-credentials",
    "admin-dry-run",
];

/// A user's token with the viewer role in the test project's instance.
async fn viewer_token(app: &TestApp) -> String {
    let (status, user) = app
        .admin(
            Method::POST,
            "/v1/admin/users",
            Some(&json!({"email": "viewer@example.com", "name": "Vic Viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let id = user["id"].as_str().expect("user id").to_owned();
    let (status, member) = app
        .admin(
            Method::PUT,
            &format!("/v1/admin/instances/default/members/{id}"),
            Some(&json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{member}");
    let (status, token) = app
        .admin(
            Method::POST,
            &format!("/v1/admin/users/{id}/tokens"),
            Some(&json!({"name": "console"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    token["token"].as_str().expect("token").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_works_in_a_browser_at_laptop_and_phone_sizes() {
    let python = electrons_tests::test_python("Playwright");
    let chromium = std::env::var("DE_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let (status, job) = app
        .submit(&json!({
            "model": "gpt-4o-mini",
            "input": {"prompt": "tell the receiver"},
            "webhook": receiver.url("/hooks/console"),
            "webhook_events_filter": ["completed"],
        }))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let hooked = job["id"].as_str().expect("id").to_owned();
    app.wait_for(&hooked, "succeeded", Duration::from_secs(30)).await;
    receiver.wait_for(1, Duration::from_secs(30)).await;

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = root.join("target/console-screenshots");
    let _ = std::fs::remove_dir_all(&out);
    let admin = app.operator_token().to_owned();
    let viewer = viewer_token(&app).await;
    let run = tokio::process::Command::new(&python)
        .arg(root.join("tests/python/console_test.py"))
        .args(["--url", &app.base_url, "--key", &app.api_key, "--admin-token", &admin])
        .args([
            "--webhook-job",
            &hooked,
            "--chromium",
            &chromium,
            "--viewer-token",
            &viewer,
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .await
        .expect("run the browser script");
    assert!(
        run.status.success(),
        "the browser checks failed:\n{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );

    // The redelivery the browser asked for arrived.
    assert!(receiver.wait_for(2, Duration::from_secs(30)).await.len() >= 2);
    // The rate limit the operator changed is the one the workers read.
    let (status, limits) = app.admin(Method::GET, "/v1/admin/rate-limits", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(limits["data"][0]["requests_per_interval"], 777.0, "{limits}");
    // The key made in the browser is revoked.
    let (_, keys) = app.get("/v1/admin/keys").await;
    let made = keys["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["name"] == "made in the console")
        .expect("the console's key");
    assert!(!made["revoked_at"].is_null(), "{made}");
    assert!(keys["data"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|k| k["name"] != "forged"));
    // What the operator made in the console is what the admin API holds.
    let (_, organization) = app.admin(Method::GET, "/v1/admin/organizations/acme", None).await;
    assert_eq!(organization["name"], "Acme Inc", "{organization}");
    let (status, _) = app
        .admin(Method::GET, "/v1/admin/organizations/Not%20an%20id!", None)
        .await;
    assert_ne!(status, StatusCode::OK, "the refused organization was not made");
    let (_, instance) = app.admin(Method::GET, "/v1/admin/instances/acme-prod", None).await;
    assert_eq!(instance["organization"], "acme", "{instance}");
    let (_, credentials) = app
        .admin(Method::GET, "/v1/admin/instances/acme-prod/credentials", None)
        .await;
    let set: Vec<&str> = credentials["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["api_key"]["set"] == true)
        .filter_map(|c| c["provider"].as_str())
        .collect();
    assert_eq!(set, ["openai"], "anthropic's was removed: {credentials}");
    assert!(
        !credentials.to_string().contains("sk-console-typed-key"),
        "{credentials}"
    );
    let (_, budget) = app
        .admin(Method::GET, "/v1/admin/instances/acme-prod/budget", None)
        .await;
    assert_eq!(budget["monthly_usd"], 50.0, "{budget}");
    let (_, members) = app
        .admin(Method::GET, "/v1/admin/instances/acme-prod/members", None)
        .await;
    assert_eq!(members["data"][0]["email"], "ada@example.com", "{members}");
    assert_eq!(members["data"][0]["role"], "admin", "{members}");
    let (_, projects) = app
        .admin(Method::GET, "/v1/admin/projects?instance=acme-prod", None)
        .await;
    let project = projects["data"][0]["id"]
        .as_str()
        .expect("the console's project")
        .to_owned();
    assert_eq!(projects["data"][0]["name"], "acme web", "{projects}");
    let (_, budget) = app
        .admin(Method::GET, &format!("/v1/admin/budgets/{project}"), None)
        .await;
    assert_eq!(budget["monthly_usd"], 25.0, "{budget}");
    let (_, model) = app.admin(Method::GET, "/v1/admin/models/forge-console", None).await;
    assert_eq!(model["http_mapping"]["request"]["path"], "/generate", "{model}");
    // The viewer's refused change changed nothing.
    let (status, _) = app.admin(Method::GET, "/v1/admin/instances/default/budget", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the viewer set no budget");
    // The secret rotated in the browser: the new one signs, the old one retires.
    let (_, secrets) = app.get("/v1/webhook-secret").await;
    assert_eq!(secrets["data"].as_array().map(Vec::len), Some(2), "{secrets}");
    for page in PAGES {
        for size in ["1366x768", "390x844"] {
            let shot = out.join(format!("{page}-{size}.png"));
            let bytes = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
            assert!(
                bytes > 10_000,
                "{} is a real screenshot ({bytes} bytes)",
                shot.display()
            );
        }
    }
    app.stop().await;
}
