//! The isolation matrix: a key of another project (with every scope) meets
//! each of a project's things — its job, cancel, deliveries and redelivery,
//! feedback, usage, keys, audit, budget, webhook secret — and gets 404 (never
//! 403, so ids do not leak) or, for lists, nothing of the project's; and
//! nothing of the project changes.

use std::time::Duration;

use electrons_tests::{Receiver, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn another_projects_key_finds_nothing_of_a_project_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.api_key.clone();
    let project = app.project_of(&owner).await;
    let stranger = app.project_key("stranger").await;

    // The project's things: a finished job with a delivered webhook and
    // feedback, a running job, a key of its own and a budget.
    let receiver = Receiver::start().await;
    let (status, job) = app
        .submit(&json!({"model": "gpt-4o-mini", "input": {"prompt": "hello"},
                        "webhook": receiver.url("/hook")}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = job["id"].as_str().expect("id").to_string();
    app.wait_for(&job, "succeeded", WAIT).await;
    receiver.wait_for(1, WAIT).await;
    let (status, _) = app
        .call_as(
            &owner,
            Method::POST,
            &format!("/v1/jobs/{job}/feedback"),
            Some(json!({"rating": 5})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, slow) = app
        .submit(&json!({"model": "gpt-4o-mini", "input": {"prompt": "slow [[sim:latency=3000]]"}}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{slow}");
    let slow = slow["id"].as_str().expect("id").to_string();
    let (status, key) = app
        .call_as(&owner, Method::POST, "/v1/admin/keys", Some(json!({"name": "mine"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let key = key["id"].as_str().expect("key id").to_string();
    let (status, _) = app
        .admin(
            Method::PUT,
            &format!("/v1/admin/budgets/{project}"),
            Some(&json!({"monthly_usd": 100})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let deliveries = loop {
        let (_, body) = app
            .call_as(&owner, Method::GET, &format!("/v1/jobs/{job}/deliveries"), None)
            .await;
        let data = body["data"].as_array().cloned().unwrap_or_default();
        if data.iter().any(|d| d["status"] == "delivered") {
            break data;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let delivery = deliveries[0]["id"].as_str().expect("delivery id").to_string();
    let before = (app.job(&job).await, app.job(&slow).await);
    let (_, own_secret) = app.call_as(&owner, Method::GET, "/v1/webhook-secret", None).await;

    let not_found = [
        (Method::GET, format!("/v1/jobs/{job}"), None),
        (Method::POST, format!("/v1/jobs/{slow}/cancel"), None),
        (Method::GET, format!("/v1/jobs/{job}/deliveries"), None),
        (
            Method::POST,
            format!("/v1/jobs/{job}/deliveries/{delivery}/redeliver"),
            None,
        ),
        (Method::GET, format!("/v1/jobs/{job}/feedback"), None),
        (
            Method::POST,
            format!("/v1/jobs/{job}/feedback"),
            Some(json!({"rating": 1})),
        ),
        (Method::GET, format!("/v1/usage?project_id={project}"), None),
        (Method::GET, format!("/v1/admin/keys?project_id={project}"), None),
        (Method::GET, format!("/v1/admin/keys/{key}"), None),
        (Method::DELETE, format!("/v1/admin/keys/{key}"), None),
        (
            Method::POST,
            "/v1/admin/keys".to_string(),
            Some(json!({"project_id": project})),
        ),
        (Method::GET, format!("/v1/admin/audit?project_id={project}"), None),
        (Method::GET, format!("/v1/admin/budgets/{project}"), None),
        (
            Method::GET,
            format!("/v1/admin/feedback/summary?project_id={project}"),
            None,
        ),
    ];
    for (method, path, body) in not_found {
        let (status, error) = app.call_as(&stranger, method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {error}");
        assert_eq!(error["error"]["code"], "not_found", "{method} {path}: {error}");
    }

    // Lists and summaries hold nothing of the project's.
    for path in [
        "/v1/jobs",
        "/v1/feedback/summary",
        "/v1/usage",
        "/v1/admin/keys",
        "/v1/admin/audit",
    ] {
        let (status, body) = app.call_as(&stranger, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let text = body.to_string();
        assert!(
            !text.contains(&job)
                && !text.contains(&slow)
                && !text.contains(&project.to_string())
                && !text.contains(&key),
            "{path} shows the project's: {text}"
        );
    }
    // Its own webhook secret, never the project's; rotating it leaves the project's be.
    let (_, theirs) = app.call_as(&stranger, Method::GET, "/v1/webhook-secret", None).await;
    let (status, _) = app
        .call_as(&stranger, Method::POST, "/v1/webhook-secret/rotate", None)
        .await;
    assert!(status.is_success(), "{status}");
    assert_ne!(theirs["data"], own_secret["data"]);
    let (_, still) = app.call_as(&owner, Method::GET, "/v1/webhook-secret", None).await;
    assert_eq!(still["data"], own_secret["data"], "the project's secret is untouched");

    // Nothing changed.
    let after_slow = app.job(&slow).await;
    assert_ne!(after_slow["status"], "canceled", "{after_slow}");
    assert_eq!(app.job(&job).await, before.0);
    let (_, feedback) = app
        .call_as(&owner, Method::GET, &format!("/v1/jobs/{job}/feedback"), None)
        .await;
    assert_eq!(feedback["rating"], 5);
    let (_, keys) = app
        .call_as(&owner, Method::GET, &format!("/v1/admin/keys/{key}"), None)
        .await;
    assert!(keys["revoked_at"].is_null(), "{keys}");
    let (_, deliveries_after) = app
        .call_as(&owner, Method::GET, &format!("/v1/jobs/{job}/deliveries"), None)
        .await;
    assert_eq!(
        deliveries_after["data"].as_array().map(Vec::len),
        Some(deliveries.len()),
        "no redelivery"
    );
    assert_eq!(receiver.wait_for(1, WAIT).await.len(), 1);
    let (status, budget) = app.call_as(&owner, Method::GET, "/v1/budget", None).await;
    assert_eq!((status, budget["monthly_usd"].clone()), (StatusCode::OK, json!(100.0)));
    app.wait_for(&slow, "succeeded", WAIT).await;
    app.stop().await;
}
