//! The API reference: `/openapi.json` is a valid OpenAPI 3.1 document
//! (`openapi-spec-validator`, from `deploy/python-tools.sh`) listing exactly
//! the routes the producer serves, each one answered by its handler, and
//! `/docs` serves Swagger UI from the producer itself, no CDN.

use std::collections::BTreeSet;

use electrons_tests::{Options, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Every (method, path) `producer/src/routes/mod.rs` routes, as the document
/// writes paths (axum's catch-all `{*key}` is `{key}`). A new route belongs
/// here and in the document: the test fails until it is in both.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/jobs"),
    ("get", "/v1/jobs"),
    ("get", "/v1/jobs/{id}"),
    ("post", "/v1/jobs/{id}/cancel"),
    ("get", "/v1/jobs/{id}/events"),
    ("get", "/v1/jobs/{id}/deliveries"),
    ("post", "/v1/jobs/{id}/deliveries/{delivery}/redeliver"),
    ("post", "/v1/jobs/{id}/feedback"),
    ("get", "/v1/jobs/{id}/feedback"),
    ("get", "/v1/feedback/summary"),
    ("get", "/v1/admin/feedback/summary"),
    ("get", "/v1/usage"),
    ("get", "/v1/stats"),
    ("get", "/v1/files/{key}"),
    ("get", "/v1/models"),
    ("get", "/v1/webhook-endpoints"),
    ("post", "/v1/webhook-endpoints/enable"),
    ("get", "/v1/webhook-secret"),
    ("post", "/v1/webhook-secret/rotate"),
    ("post", "/v1/admin/keys"),
    ("get", "/v1/admin/keys"),
    ("get", "/v1/admin/keys/{id}"),
    ("delete", "/v1/admin/keys/{id}"),
    ("get", "/v1/admin/audit"),
    ("get", "/v1/budget"),
    ("get", "/v1/admin/budgets"),
    ("get", "/v1/admin/budgets/{project_id}"),
    ("put", "/v1/admin/budgets/{project_id}"),
    ("delete", "/v1/admin/budgets/{project_id}"),
    ("get", "/v1/admin/providers"),
    ("get", "/v1/admin/providers/{id}"),
    ("put", "/v1/admin/providers/{id}"),
    ("delete", "/v1/admin/providers/{id}"),
    ("get", "/v1/admin/models"),
    ("get", "/v1/admin/models/{id}"),
    ("put", "/v1/admin/models/{id}"),
    ("delete", "/v1/admin/models/{id}"),
    ("post", "/v1/admin/models/{id}/dry-run"),
    ("get", "/v1/admin/organizations"),
    ("get", "/v1/admin/organizations/{id}"),
    ("put", "/v1/admin/organizations/{id}"),
    ("delete", "/v1/admin/organizations/{id}"),
    ("get", "/v1/admin/instances"),
    ("get", "/v1/admin/instances/{id}"),
    ("put", "/v1/admin/instances/{id}"),
    ("delete", "/v1/admin/instances/{id}"),
    ("get", "/v1/admin/instances/{id}/budget"),
    ("put", "/v1/admin/instances/{id}/budget"),
    ("delete", "/v1/admin/instances/{id}/budget"),
    ("get", "/v1/admin/instances/{id}/credentials"),
    ("put", "/v1/admin/instances/{id}/credentials/{provider}"),
    ("delete", "/v1/admin/instances/{id}/credentials/{provider}"),
    ("get", "/v1/admin/instances/{id}/members"),
    ("put", "/v1/admin/instances/{id}/members/{user}"),
    ("delete", "/v1/admin/instances/{id}/members/{user}"),
    ("post", "/v1/admin/users"),
    ("get", "/v1/admin/users"),
    ("get", "/v1/admin/users/{id}"),
    ("patch", "/v1/admin/users/{id}"),
    ("post", "/v1/admin/users/{id}/tokens"),
    ("get", "/v1/admin/users/{id}/tokens"),
    ("delete", "/v1/admin/users/{id}/tokens/{token}"),
    ("post", "/v1/admin/projects/{id}/keys"),
    ("get", "/v1/admin/projects/{id}/keys"),
    ("delete", "/v1/admin/projects/{id}/keys/{key}"),
    ("post", "/v1/admin/projects"),
    ("get", "/v1/admin/projects"),
    ("get", "/v1/admin/projects/{id}"),
    ("patch", "/v1/admin/projects/{id}"),
    ("get", "/v1/admin/rate-limits"),
    ("get", "/v1/admin/rate-limits/{id}"),
    ("put", "/v1/admin/rate-limits/{id}"),
    ("delete", "/v1/admin/rate-limits/{id}"),
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/readyz"),
];

/// Unauthenticated: probes and scrapes, and the local store's file links,
/// whose signature is the credential.
const OPEN: &[&str] = &["/healthz", "/readyz", "/metrics", "/v1/files/{key}"];

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "options", "head", "trace"];

async fn app() -> TestApp {
    TestApp::with(Options {
        worker: false,
        scheduler: false,
        webhooks: false,
        ..Options::default()
    })
    .await
}

async fn document(app: &TestApp) -> Value {
    let response = app
        .http
        .get(format!("{}/openapi.json", app.base_url))
        .send()
        .await
        .expect("GET /openapi.json");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("the document is JSON")
}

/// Every (method, path, operation) of the document.
fn operations(document: &Value) -> Vec<(String, String, &Value)> {
    let paths = document["paths"].as_object().expect("paths");
    let mut operations = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("a path item") {
            if METHODS.contains(&method.as_str()) {
                operations.push((method.clone(), path.clone(), operation));
            }
        }
    }
    operations
}

#[tokio::test]
async fn openapi_json_is_a_valid_openapi_3_1_document() {
    let python = electrons_tests::test_python("openapi-spec-validator");
    let app = app().await;
    let document = document(&app).await;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "Distributed Electrons");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    let scheme = &document["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(
        (&scheme["type"], &scheme["scheme"]),
        (&json!("http"), &json!("bearer")),
        "{scheme}"
    );

    let file = std::env::temp_dir().join(format!("de-openapi-{}.json", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, serde_json::to_vec_pretty(&document).expect("serialize")).expect("write the document");
    let output = tokio::process::Command::new(&python)
        .args([
            "-m",
            "openapi_spec_validator",
            "--schema",
            "3.1",
            "--validation-errors",
            "all",
        ])
        .arg(&file)
        .output()
        .await
        .expect("the validator runs (bash deploy/python-tools.sh installs it)");
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "openapi-spec-validator refuses /openapi.json:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    app.stop().await;
}

#[tokio::test]
async fn openapi_lists_exactly_the_routes_served_each_one_complete() {
    let app = app().await;
    let document = document(&app).await;
    let documented: BTreeSet<(String, String)> = operations(&document)
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    let routed: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(ROUTES.len(), routed.len(), "ROUTES lists a route twice");
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(undocumented.is_empty(), "routes the document lacks: {undocumented:?}");
    let unknown: Vec<_> = documented.difference(&routed).collect();
    assert!(
        unknown.is_empty(),
        "operations ROUTES lacks (add a new route to both): {unknown:?}"
    );

    for (method, path, operation) in operations(&document) {
        let name = format!("{} {path}", method.to_uppercase());
        let summary = operation["summary"].as_str().unwrap_or_default();
        assert!(!summary.trim().is_empty(), "{name} has no summary");
        let tags = operation["tags"].as_array().map(Vec::len).unwrap_or(0);
        assert!(tags > 0, "{name} has no tag");
        assert!(operation["operationId"].is_string(), "{name} has no operationId");
        let responses = operation["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|status| status.starts_with('2')),
            "{name} documents no 2xx answer"
        );
        for (status, response) in responses {
            if status.starts_with('4') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ApiErrorBody",
                    "{name}'s {status} is not the API's error"
                );
            }
        }
        let bearer = operation["security"]
            .as_array()
            .is_some_and(|all| all.iter().any(|requirement| requirement.get("bearerAuth").is_some()));
        if OPEN.contains(&path.as_str()) {
            assert!(!bearer, "{name} is unauthenticated, yet asks for a bearer credential");
        } else {
            assert!(bearer, "{name} lacks the bearerAuth security requirement");
            assert!(responses.contains_key("401"), "{name} does not document its 401");
        }
    }

    let mut refs = Vec::new();
    collect_refs(&document, &mut refs);
    assert!(refs.len() > 100, "only {} $refs", refs.len());
    for reference in refs {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{reference} is not local"));
        assert!(document.pointer(pointer).is_some(), "{reference} resolves to nothing");
    }
    app.stop().await;
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                refs.push(reference.clone());
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

/// What the router's fallback answers: `404 not_found`, "route not found".
fn is_fallback(status: StatusCode, body: &Value) -> bool {
    status == StatusCode::NOT_FOUND && body["error"]["message"] == "route not found"
}

#[tokio::test]
async fn openapi_every_documented_operation_is_served_by_a_handler() {
    let app = app().await;
    let document = document(&app).await;
    let operator = app.operator_token().to_owned();
    let call = |method: Method, path: String, credential: String| {
        let mut request = app
            .http
            .request(method.clone(), format!("{}{path}", app.base_url))
            .bearer_auth(credential);
        if [Method::POST, Method::PUT, Method::PATCH].contains(&method) {
            request = request.json(&json!({}));
        }
        async move {
            let response = request.send().await.expect("the producer answers");
            let status = response.status();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    // The detector works: an unrouted path is the fallback, a wrong method 405.
    let (status, body) = call(Method::GET, "/v1/no-such-route".into(), app.api_key.clone()).await;
    assert!(is_fallback(status, &body), "{status} {body}");
    let (status, _) = call(Method::DELETE, "/v1/models".into(), app.api_key.clone()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    for (method, template, _) in operations(&document) {
        let path = fill(&template);
        let credential = if path.starts_with("/v1/admin") {
            operator.clone()
        } else {
            app.api_key.clone()
        };
        let method: Method = method.to_uppercase().parse().expect("a method");
        let (status, body) = call(method.clone(), path.clone(), credential).await;
        assert!(
            !is_fallback(status, &body) && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} (documented as {template}) is not routed: {status} {body}"
        );
    }
    app.stop().await;
}

/// A path with plausible values for its parameters. None of them names
/// anything that exists, so nothing changes: handlers answer 400, 403, 404 or 422.
fn fill(template: &str) -> String {
    template
        .split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(param) => value_for(template, param),
                None => segment.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

fn value_for(template: &str, param: &str) -> String {
    // What the operator names (providers, models, organizations, instances, rate limits) is a slug.
    const NAMED: &[&str] = &[
        "/v1/admin/providers/",
        "/v1/admin/models/",
        "/v1/admin/organizations/",
        "/v1/admin/instances/",
        "/v1/admin/rate-limits/",
    ];
    match param {
        "id" if template.starts_with("/v1/jobs/") => "job_0199a4c2e9b37d21a0f6c1d2e3f40516".to_owned(),
        "delivery" => "msg_0199a4c2e9b37d21a0f6c1d2e3f40516".to_owned(),
        "key" if template.starts_with("/v1/files/") => "projects/probe/output.png".to_owned(),
        "provider" => "openapi-probe".to_owned(),
        "id" if NAMED.iter().any(|prefix| template.starts_with(prefix)) => "openapi-probe".to_owned(),
        // Users, tokens, keys and projects have UUIDs.
        _ => uuid::Uuid::new_v4().to_string(),
    }
}

#[tokio::test]
async fn openapi_docs_serve_swagger_ui_from_the_producer_itself() {
    let app = app().await;
    let response = app
        .http
        .get(format!("{}/docs", app.base_url))
        .send()
        .await
        .expect("GET /docs");
    assert_eq!(response.status(), StatusCode::OK);
    let page_url = response.url().clone();
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.expect("the page");
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page loads something from elsewhere:\n{html}"
    );

    let assets: Vec<&str> = html
        .split("src=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let bundle = assets
        .iter()
        .find(|src| src.contains("swagger-ui-bundle"))
        .unwrap_or_else(|| panic!("no script bundle in the page:\n{html}"));
    let initializer = assets
        .iter()
        .find(|src| src.contains("swagger-initializer"))
        .unwrap_or_else(|| panic!("no initializer in the page:\n{html}"));
    for (asset, needle) in [(*bundle, "SwaggerUIBundle"), (*initializer, "/openapi.json")] {
        let url = page_url.join(asset).expect("an asset URL");
        assert!(url.as_str().starts_with(&app.base_url), "{url} is not the producer's");
        let response = app.http.get(url.clone()).send().await.expect("GET an asset");
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let text = response.text().await.expect("the asset");
        assert!(text.contains(needle), "{url} does not mention {needle}");
    }
    app.stop().await;
}
