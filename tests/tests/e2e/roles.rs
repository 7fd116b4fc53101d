//! Users with a role per instance act on the admin API with their own tokens:
//! viewers read, members make jobs keys, admins manage projects and provider
//! keys, owners the rest. An instance a user has no role in does not exist to
//! them (404); too little a role is a 403 naming the role needed. Tokens are
//! shown once, and a revoked token or a disabled user is refused at once.

use electrons_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;

struct User {
    id: String,
    token: String,
}

async fn user(app: &TestApp, email: &str) -> User {
    let (status, user) = app
        .admin(
            Method::POST,
            "/v1/admin/users",
            Some(&json!({"email": email, "name": email})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let id = user["id"].as_str().expect("id").to_string();
    let (status, token) = app
        .admin(
            Method::POST,
            &format!("/v1/admin/users/{id}/tokens"),
            Some(&json!({"name": "laptop"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    let token = token["token"].as_str().expect("shown once").to_string();
    assert!(token.starts_with("de_user_"), "{token}");
    User { id, token }
}

#[tokio::test]
async fn each_role_does_what_it_allows_and_strangers_see_nothing() {
    let app = TestApp::spawn().await;
    let (status, _) = app
        .admin(
            Method::PUT,
            "/v1/admin/instances/lab",
            Some(&json!({"organization": "default", "name": "Lab"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (alice, bob, carol, dave) = (
        user(&app, "alice@example.com").await,
        user(&app, "bob@example.com").await,
        user(&app, "carol@example.com").await,
        user(&app, "dave@example.com").await,
    );
    let (status, _) = app
        .admin(
            Method::PUT,
            &format!("/v1/admin/instances/lab/members/{}", alice.id),
            Some(&json!({"role": "owner"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let member = |who: &User| format!("/v1/admin/instances/lab/members/{}", who.id);
    for (who, role) in [(&bob, "viewer"), (&carol, "member")] {
        let (status, body) = app
            .call_as(&alice.token, Method::PUT, &member(who), Some(json!({"role": role})))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // A member cannot add anyone.
    let (status, body) = app
        .call_as(
            &carol.token,
            Method::PUT,
            &member(&dave),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("insufficient_role"))
    );

    // Strangers: the instance is not there, and their lists are empty.
    let (status, _) = app
        .call_as(&dave.token, Method::GET, "/v1/admin/instances/lab", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = app.call_as(&dave.token, Method::GET, "/v1/admin/instances", None).await;
    assert_eq!(listed["data"], json!([]), "{listed}");
    let (_, listed) = app.call_as(&bob.token, Method::GET, "/v1/admin/instances", None).await;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1), "{listed}");

    // Projects: an admin or owner makes them; a viewer reads; a stranger cannot tell.
    let new_project = json!({"name": "experiments", "instance": "lab"});
    let (status, body) = app
        .call_as(
            &bob.token,
            Method::POST,
            "/v1/admin/projects",
            Some(new_project.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = app
        .call_as(
            &dave.token,
            Method::POST,
            "/v1/admin/projects",
            Some(new_project.clone()),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("instance"))
    );
    let (status, project) = app
        .call_as(&alice.token, Method::POST, "/v1/admin/projects", Some(new_project))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    let project = project["id"].as_str().expect("id").to_string();
    let (status, _) = app
        .call_as(&bob.token, Method::GET, &format!("/v1/admin/projects/{project}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call_as(&dave.token, Method::GET, &format!("/v1/admin/projects/{project}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Keys: a member makes jobs keys, not admin keys; a viewer makes none.
    let keys = format!("/v1/admin/projects/{project}/keys");
    let (status, body) = app
        .call_as(&carol.token, Method::POST, &keys, Some(json!({"scopes": ["admin"]})))
        .await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (StatusCode::FORBIDDEN, json!("scopes")),
        "{body}"
    );
    let (status, _) = app.call_as(&bob.token, Method::POST, &keys, Some(json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, key) = app
        .call_as(&carol.token, Method::POST, &keys, Some(json!({"name": "ci"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let jobs_key = key["key"].as_str().expect("key").to_string();
    let (status, job) = app
        .submit_as(&jobs_key, &json!({"model": "gpt-4o-mini", "input": {"prompt": "hi"}}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let key_id = key["id"].as_str().expect("id");
    let (status, _) = app
        .call_as(&carol.token, Method::DELETE, &format!("{keys}/{key_id}"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "revoking is an admin's");

    // Provider keys and the budget: admins and owners; viewers read.
    let credential = "/v1/admin/instances/lab/credentials/openai";
    let (status, _) = app
        .call_as(
            &bob.token,
            Method::PUT,
            credential,
            Some(json!({"api_key": "sk-lab-1234"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .call_as(
            &alice.token,
            Method::PUT,
            credential,
            Some(json!({"api_key": "sk-lab-1234"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, listed) = app
        .call_as(&bob.token, Method::GET, "/v1/admin/instances/lab/credentials", None)
        .await;
    assert_eq!(
        (status, listed["data"][0]["api_key"]["last4"].clone()),
        (StatusCode::OK, json!("1234"))
    );
    let budget = "/v1/admin/instances/lab/budget";
    let (status, _) = app
        .call_as(&bob.token, Method::PUT, budget, Some(json!({"monthly_usd": 5})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call_as(&alice.token, Method::PUT, budget, Some(json!({"monthly_usd": 5})))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Admins manage members and viewers, only owners the admins and owners;
    // the last owner stays.
    let (status, _) = app
        .call_as(&alice.token, Method::PUT, &member(&bob), Some(json!({"role": "admin"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call_as(&bob.token, Method::PUT, &member(&carol), Some(json!({"role": "owner"})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call_as(&bob.token, Method::PUT, &member(&dave), Some(json!({"role": "viewer"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .call_as(
            &alice.token,
            Method::PUT,
            &member(&alice),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("last_owner"))
    );
    let (_, members) = app
        .call_as(&dave.token, Method::GET, "/v1/admin/instances/lab/members", None)
        .await;
    assert_eq!(members["data"].as_array().map(Vec::len), Some(4), "{members}");

    // Fleet-wide things stay the operator's.
    let (status, _) = app.call_as(&alice.token, Method::GET, "/v1/admin/users", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call_as(
            &alice.token,
            Method::PUT,
            "/v1/admin/instances/another",
            Some(json!({"organization": "default", "name": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Tokens: a user makes and revokes their own, sees no one else's; a
    // revoked token and a disabled user are refused at the next request.
    let own = format!("/v1/admin/users/{}/tokens", alice.id);
    let (status, second) = app
        .call_as(&alice.token, Method::POST, &own, Some(json!({"name": "second"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let (status, _) = app
        .call_as(
            &alice.token,
            Method::GET,
            &format!("/v1/admin/users/{}/tokens", bob.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = app.call_as(&alice.token, Method::GET, &own, None).await;
    assert!(
        !listed.to_string().contains(&alice.token),
        "tokens are shown once: {listed}"
    );
    let first_id = listed["data"]
        .as_array()
        .and_then(|tokens| tokens.iter().find(|t| t["name"] == "laptop"))
        .and_then(|t| t["id"].as_str())
        .expect("first token")
        .to_string();
    let second = second["token"].as_str().expect("token").to_string();
    let (status, _) = app
        .call_as(&second, Method::DELETE, &format!("{own}/{first_id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call_as(&alice.token, Method::GET, "/v1/admin/instances/lab", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked");
    let (status, _) = app
        .admin(
            Method::PATCH,
            &format!("/v1/admin/users/{}", carol.id),
            Some(&json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call_as(&carol.token, Method::GET, "/v1/admin/instances/lab", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "disabled");

    // Who did what is in the audit log.
    let (_, audit) = app
        .admin(Method::GET, "/v1/admin/audit?action=credential.put", None)
        .await;
    assert_eq!(audit["data"][0]["actor"], format!("user:{}", alice.id), "{audit}");
    assert!(!audit.to_string().contains("sk-lab-1234"), "{audit}");
    app.stop().await;
}
