//! Every admin change leaves an entry: who, what, when, before and after,
//! written with the change, secrets masked, readable per project.

use electrons_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn entries(body: &Value) -> Vec<Value> {
    body["data"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn admin_changes_are_audited_with_who_what_and_before_after() {
    let app = TestApp::spawn().await;
    let project = app.project_of(&app.api_key).await;
    let (status, owner) = app
        .admin(
            Method::POST,
            "/v1/admin/keys",
            Some(&json!({"project_id": project, "name": "owner", "scopes": ["admin", "jobs:read"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{owner}");
    let owner_key = owner["key"].as_str().expect("key").to_string();
    let owner_id = owner["id"].as_str().expect("id").to_string();

    // The owner key makes and revokes a key of its own project.
    let base = &app.base_url;
    let made: Value = app
        .http
        .post(format!("{base}/v1/admin/keys"))
        .bearer_auth(&owner_key)
        .json(&json!({"name": "ci"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let made_key = made["key"].as_str().expect("key").to_string();
    let made_id = made["id"].as_str().expect("id").to_string();
    let revoked = app
        .http
        .delete(format!("{base}/v1/admin/keys/{made_id}"))
        .bearer_auth(&owner_key)
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), StatusCode::OK);
    app.set_rate_limit(
        "project-cap",
        &json!({"project": project, "requests_per_interval": 10, "request_interval_ms": 1000}),
    )
    .await;
    let (status, _) = app
        .admin(Method::DELETE, "/v1/admin/rate-limits/project-cap", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, trail) = app.admin(Method::GET, "/v1/admin/audit", None).await;
    assert_eq!(status, StatusCode::OK, "{trail}");
    let trail = entries(&trail);
    let actions: Vec<&str> = trail.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(
        actions,
        [
            "rate_limit.delete",
            "rate_limit.put",
            "api_key.revoke",
            "api_key.create",
            "api_key.create"
        ],
        "newest first: {trail:?}"
    );
    assert_eq!(trail[0]["actor"], "operator");
    assert_eq!(trail[0]["after"], Value::Null);
    assert_eq!(trail[0]["before"]["requests_per_interval"], 10.0);
    assert_eq!(trail[1]["before"], Value::Null);
    let revoke = &trail[2];
    assert_eq!(revoke["actor"], format!("key:{owner_id}"));
    assert_eq!(revoke["target"], format!("api_key:{made_id}"));
    assert_eq!(revoke["before"]["revoked_at"], Value::Null);
    assert!(revoke["after"]["revoked_at"].is_string());
    assert_eq!(trail[4]["actor"], "operator");
    assert!(trail.iter().all(|e| e["project_id"] == json!(project)));
    // Keys never reach the trail, not even masked.
    let stored: String =
        sqlx::query_scalar("SELECT coalesce(string_agg(row_to_json(admin_audit)::text, ''), '') FROM admin_audit")
            .fetch_one(&app.pool)
            .await
            .expect("trail");
    for key in [&owner_key, &made_key] {
        assert!(!stored.contains(&key[12..]), "a key is in the audit log");
    }

    // An admin key reads its own project's trail only; another project's is not there.
    let other = app.project_key("other").await;
    let other_project = app.project_of(&other).await;
    let read = |path: String| {
        let request = app.http.get(format!("{base}{path}")).bearer_auth(&owner_key);
        async move {
            let response = request.send().await.expect("audit");
            (response.status(), response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, own) = read("/v1/admin/audit?action=api_key.create&limit=1".into()).await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(entries(&own).len(), 1);
    assert!(own["next_cursor"].is_string());
    let cursor = own["next_cursor"].as_str().expect("cursor");
    let (_, next) = read(format!("/v1/admin/audit?action=api_key.create&cursor={cursor}")).await;
    assert_eq!(entries(&next).len(), 1, "{next}");
    let (status, _) = read(format!("/v1/admin/audit?project_id={other_project}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, error) = read("/v1/admin/audit?limit=0".into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "limit");
    app.stop().await;
}
