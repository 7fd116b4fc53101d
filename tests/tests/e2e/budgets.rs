//! Budgets that cannot leak: a budgeted project's submit reserves the job's
//! worst-case cost in the statement that inserts it, completion settles to the
//! real cost, a failure before any billed call releases it all, and a job that
//! does not fit is refused `402 budget_exceeded` with the amounts. Concurrent
//! submits cannot slip past, and a new month starts from nothing.

use std::time::Duration;

use electrons_tests::TestApp;
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const FINISH: Duration = Duration::from_secs(60);
/// dall-e-2's flat price for one image of the default size.
const IMAGE_USD: f64 = 0.02;

async fn set_budget(app: &TestApp, project: uuid::Uuid, monthly_usd: f64) -> Value {
    let (status, budget) = app
        .admin(
            Method::PUT,
            &format!("/v1/admin/budgets/{project}"),
            Some(&json!({ "monthly_usd": monthly_usd })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{budget}");
    budget
}

/// The month's exact amounts, as PostgreSQL holds them.
async fn month(app: &TestApp, project: uuid::Uuid) -> (String, String) {
    sqlx::query_as(
        "SELECT spent_usd::text, reserved_usd::text FROM budget_months
         WHERE project_id = $1 AND month = date_trunc('month', now() AT TIME ZONE 'UTC')::date",
    )
    .bind(project)
    .fetch_optional(&app.pool)
    .await
    .expect("month")
    .unwrap_or_else(|| ("0".into(), "0".into()))
}

fn image(prompt: &str) -> Value {
    json!({ "model": "dall-e-2", "input": { "prompt": prompt } })
}

/// Lets the simulator's images through as fast as the test submits them
/// (workers read limits at each grant).
async fn unthrottle_images(app: &TestApp) {
    sqlx::query(
        "UPDATE rate_limits SET requests_per_interval = 1000, request_burst = 1000 WHERE id = 'openai/dall-e-2'",
    )
    .execute(&app.pool)
    .await
    .expect("unthrottle");
}

#[tokio::test]
async fn concurrent_submits_cannot_pass_the_budget_and_a_new_month_starts_afresh() {
    let app = TestApp::spawn().await;
    unthrottle_images(&app).await;
    let key = app.api_key.clone();
    let project = app.project_of(&key).await;
    const FITS: usize = 20;
    set_budget(&app, project, FITS as f64 * IMAGE_USD).await;

    let submits = (0..200).map(|i| {
        let (app, key) = (&app, &key);
        async move { app.submit_as(key, &image(&format!("fox {i}"))).await }
    });
    let answers = join_all(submits).await;
    let accepted: Vec<String> = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::ACCEPTED)
        .map(|(_, job)| job["id"].as_str().expect("id").to_string())
        .collect();
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::PAYMENT_REQUIRED)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(accepted.len(), FITS, "exactly the jobs that fit are accepted");
    assert_eq!(refused.len(), 200 - FITS, "every other submit is refused");
    let error = &refused[0]["error"];
    assert_eq!(error["code"], "budget_exceeded", "{error}");
    assert_eq!(error["budget_usd"], 0.4, "{error}");
    assert_eq!(error["required_usd"], IMAGE_USD, "{error}");
    let held = error["spent_usd"].as_f64().expect("spent") + error["reserved_usd"].as_f64().expect("reserved");
    assert!(held + IMAGE_USD > 0.4, "refused only when it does not fit: {error}");
    assert!(
        error["message"].as_str().is_some_and(|m| m.contains("budget")),
        "{error}"
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE project_id = $1")
        .bind(project)
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(rows, FITS as i64, "a refused submit inserts nothing");

    // Completion settles each reservation to the real cost.
    app.wait_for_all(&accepted, "succeeded", FINISH).await;
    assert_eq!(month(&app, project).await, ("0.40".into(), "0.00".into()));
    let (status, budget) = app.get("/v1/budget").await;
    assert_eq!(status, StatusCode::OK, "{budget}");
    assert_eq!(
        (budget["spent_usd"].as_f64(), budget["reserved_usd"].as_f64()),
        (Some(0.4), Some(0.0))
    );
    let (status, refused) = app.submit(&image("one more")).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{refused}");

    // The month rolls over: what was spent belongs to the last one.
    sqlx::query("UPDATE budget_months SET month = (month - interval '1 month')::date WHERE project_id = $1")
        .bind(project)
        .execute(&app.pool)
        .await
        .expect("last month");
    sqlx::query("UPDATE jobs SET budget_month = (budget_month - interval '1 month')::date WHERE project_id = $1")
        .bind(project)
        .execute(&app.pool)
        .await
        .expect("last month's jobs");
    // With an idempotency key the job reserves once: a replay reserves nothing.
    let keyed = [("idempotency-key", "new-month")];
    let (status, job) = app.submit_with(&image("a new month"), &keyed).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let (status, replay) = app.submit_with(&image("a new month"), &keyed).await;
    assert_eq!(status, StatusCode::OK, "{replay}");
    assert_eq!(replay["id"], job["id"]);
    app.wait_for(job["id"].as_str().expect("id"), "succeeded", FINISH).await;
    assert_eq!(month(&app, project).await, ("0.02".into(), "0.00".into()));
    set_budget(&app, project, IMAGE_USD).await;
    let (status, refused) = app
        .submit_with(&image("keyed, over"), &[("idempotency-key", "over")])
        .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{refused}");
    assert_eq!(refused["error"]["code"], "budget_exceeded", "{refused}");
}

#[tokio::test]
async fn a_failure_before_any_billed_call_releases_the_reservation() {
    let app = TestApp::spawn().await;
    unthrottle_images(&app).await;
    let project = app.project_of(&app.api_key).await;
    set_budget(&app, project, IMAGE_USD).await;

    // Refused by the provider (400, not billed): the job fails, nothing is spent.
    let (status, job) = app.submit(&image("a fox [[sim:status=400]]")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().expect("id");
    let failed = app.wait_for(id, "failed", FINISH).await;
    assert_eq!(failed["metrics"]["billed_calls"], 0, "{failed}");
    assert_eq!(month(&app, project).await, ("0".into(), "0.00".into()));

    // So the budget still fits one job, and it is spent once that job is.
    let (status, job) = app.submit(&image("a fox")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let (status, refused) = app.submit(&image("a second fox")).await;
    assert_eq!(
        status,
        StatusCode::PAYMENT_REQUIRED,
        "reserved while it runs: {refused}"
    );
    app.wait_for(job["id"].as_str().expect("id"), "succeeded", FINISH).await;
    assert_eq!(month(&app, project).await, ("0.02".into(), "0.00".into()));

    // A canceled job releases what it held.
    set_budget(&app, project, 2.0 * IMAGE_USD).await;
    let (status, slow) = app
        .submit(
            &json!({ "model": "gpt-4o-mini", "input": { "prompt": "slow [[sim:latency=30000]]", "max_tokens": 10 } }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{slow}");
    let slow = slow["id"].as_str().expect("id");
    let (status, canceled) = app.post(&format!("/v1/jobs/{slow}/cancel")).await;
    assert_eq!(status, StatusCode::OK, "{canceled}");
    let (_, reserved) = month(&app, project).await;
    assert_eq!(reserved.parse::<f64>().ok(), Some(0.0), "released at cancel");
}

#[tokio::test]
async fn an_unpriced_model_cannot_run_under_a_budget() {
    let app = TestApp::spawn().await;
    let project = app.project_of(&app.api_key).await;
    app.change_model("dall-e-2", "pricing = '{}'").await;
    let (status, job) = app.submit(&image("free before a budget")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "no budget, no price needed: {job}");

    set_budget(&app, project, 100.0).await;
    let (status, error) = app.submit(&image("a fox")).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{error}");
    assert_eq!(error["error"]["code"], "model_unpriced", "{error}");
    assert_eq!(error["error"]["field"], "model", "{error}");
}

#[tokio::test]
async fn budgets_are_the_operators_to_set_and_each_projects_own_to_read() {
    let app = TestApp::spawn().await;
    let ours = app.project_of(&app.api_key).await;
    let theirs = app.project_key("budget-other").await;
    set_budget(&app, ours, 5.0).await;

    let call = |method: Method, path: String, key: String, body: Option<Value>| {
        let app = &app;
        async move {
            let mut request = app
                .http
                .request(method, format!("{}{path}", app.base_url))
                .bearer_auth(key);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.expect("call");
            let status = response.status();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let path = format!("/v1/admin/budgets/{ours}");
    // Another project's key sees no budget of ours, and cannot set one.
    let (status, _) = call(Method::GET, path.clone(), theirs.clone(), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(Method::GET, "/v1/budget".into(), theirs.clone(), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "it has none");
    let (status, _) = call(Method::PUT, path.clone(), theirs, Some(json!({"monthly_usd": 1e9}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "only the operator sets budgets");
    // Our own admin key reads ours.
    let (status, budget) = call(Method::GET, path.clone(), app.api_key.clone(), None).await;
    assert_eq!(status, StatusCode::OK, "{budget}");
    assert_eq!(budget["monthly_usd"], 5.0);

    // Bad amounts are refused by field and change nothing.
    for bad in [
        json!({"monthly_usd": -1}),
        json!({"monthly_usd": "ten"}),
        json!({"usd": 1}),
    ] {
        let (status, error) = app.admin(Method::PUT, &path, Some(&bad)).await;
        assert!(status.is_client_error(), "{bad}: {status} {error}");
        assert!(error["error"]["code"].is_string(), "{bad}: {error}");
    }
    let (_, budget) = app.admin(Method::GET, &path, None).await;
    assert_eq!(budget["monthly_usd"], 5.0);

    // Every change is audited; removing it lets jobs run unbudgeted.
    let (status, _) = app.admin(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, trail) = app
        .admin(Method::GET, &format!("/v1/admin/audit?project_id={ours}"), None)
        .await;
    let actions: Vec<&str> = trail["data"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["budget.delete", "budget.put"], "{trail}");
    let (status, _) = app.admin(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_job_calling_again_after_a_billed_call_reserves_again_or_stops() {
    let app = TestApp::spawn().await;
    app.change_model("gpt-4o-mini", "retry_unusable_answers = true").await;
    let body = json!({ "model": "gpt-4o-mini", "input": { "prompt": "Say hi", "max_tokens": 100 } });
    // One call's worst case, as the producer and the worker reckon it.
    let catalog = app.catalog.get().await;
    let model = &catalog.models["gpt-4o-mini"];
    let input = electrons_domain::input::JobInput::Text(serde_json::from_value(body["input"].clone()).expect("input"));
    let worst = model
        .pricing
        .cost_usd(&electrons_domain::usage::Usage::worst_case(model, &input, 8));
    let project = app.project_of(&app.api_key).await;
    set_budget(&app, project, 2.5 * worst).await;

    // Every answer is billed and unusable: the first retry fits the budget,
    // the second would not, so the job stops before making it.
    let faults = std::iter::repeat_n(electrons_simulator::Fault::Malformed, 5);
    app.sim.controls().push_script(faults);
    let (status, job) = app.submit(&body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let done = app.wait_for(job["id"].as_str().expect("id"), "failed", FINISH).await;
    assert_eq!(done["error"]["code"], "budget_exceeded", "{done}");
    assert_eq!(
        done["metrics"]["billed_calls"], 2,
        "no call the budget did not cover: {done}"
    );
    let (spent, reserved) = month(&app, project).await;
    let spent: f64 = spent.parse().expect("spent");
    assert!(spent > 0.0 && spent <= 2.5 * worst, "{spent}");
    assert!(
        (spent - done["metrics"]["cost_usd"].as_f64().expect("cost")).abs() < 1e-12,
        "{done}"
    );
    assert_eq!(reserved.parse::<f64>().ok(), Some(0.0), "all released when it failed");
}

#[tokio::test]
async fn an_instance_budget_holds_all_its_projects_together_and_the_tighter_budget_binds() {
    let app = TestApp::spawn().await;
    unthrottle_images(&app).await;
    let (status, _) = app
        .admin(
            Method::PUT,
            "/v1/admin/instances/team",
            Some(&json!({"organization": "default", "name": "Team"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (first, first_key) = app.project_in("first", "team").await;
    let (second, second_key) = app.project_in("second", "team").await;
    const FITS: usize = 12;
    let (status, budget) = app
        .admin(
            Method::PUT,
            "/v1/admin/instances/team/budget",
            Some(&json!({"monthly_usd": FITS as f64 * IMAGE_USD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{budget}");
    assert_eq!(budget["instance"], "team");
    // The first project has a budget of its own too, tighter than its share.
    set_budget(&app, first, 4.0 * IMAGE_USD).await;

    // 60 concurrent submits, half from each project.
    let submits = (0..60).map(|i| {
        let (app, key) = (&app, if i % 2 == 0 { &first_key } else { &second_key });
        async move { (i % 2, app.submit_as(key, &image(&format!("owl {i}"))).await) }
    });
    let answers = join_all(submits).await;
    let accepted = |side: usize| -> Vec<String> {
        answers
            .iter()
            .filter(|(s, (status, _))| *s == side && *status == StatusCode::ACCEPTED)
            .map(|(_, (_, job))| job["id"].as_str().expect("id").to_string())
            .collect()
    };
    let (from_first, from_second) = (accepted(0), accepted(1));
    // Which submits come first is the race's: the first project gets at most
    // its own 4, and the two together exactly what the instance holds.
    assert!(
        from_first.len() <= 4,
        "the first project's own budget binds it: {}",
        from_first.len()
    );
    assert_eq!(
        from_first.len() + from_second.len(),
        FITS,
        "the instance's budget binds both together"
    );
    let refusals: Vec<&Value> = answers
        .iter()
        .filter(|(_, (status, _))| *status == StatusCode::PAYMENT_REQUIRED)
        .map(|(_, (_, body))| &body["error"])
        .collect();
    let others: Vec<&(StatusCode, Value)> = answers
        .iter()
        .map(|(_, answer)| answer)
        .filter(|(status, _)| ![StatusCode::ACCEPTED, StatusCode::PAYMENT_REQUIRED].contains(status))
        .collect();
    assert_eq!(
        refusals.len(),
        60 - FITS,
        "neither taken nor refused for the budget: {others:?}"
    );
    assert!(
        refusals
            .iter()
            .any(|e| e["scope"] == "instance" && e["instance"] == "team" && e["budget_usd"] == 0.24),
        "{refusals:?}"
    );
    if from_first.len() == 4 {
        assert!(refusals.iter().any(|e| e["scope"] == "project"), "{refusals:?}");
    }

    app.wait_for_all_as(&first_key, &from_first, "succeeded", FINISH).await;
    app.wait_for_all_as(&second_key, &from_second, "succeeded", FINISH)
        .await;
    let (status, budget) = app.admin(Method::GET, "/v1/admin/instances/team/budget", None).await;
    assert_eq!(status, StatusCode::OK, "{budget}");
    assert_eq!(
        (budget["spent_usd"].as_f64(), budget["reserved_usd"].as_f64()),
        (Some(0.24), Some(0.0)),
        "settled to the real cost: {budget}"
    );
    let (spent, reserved) = month(&app, first).await;
    let spent: f64 = spent.parse().expect("spent");
    assert!((spent - from_first.len() as f64 * IMAGE_USD).abs() < 1e-9, "{spent}");
    assert_eq!(reserved.parse::<f64>().ok(), Some(0.0));

    // A keyed submit is refused by the instance's budget in its own statement.
    let response = app
        .http
        .post(format!("{}/v1/jobs", app.base_url))
        .bearer_auth(&second_key)
        .header("idempotency-key", "over-the-instance")
        .json(&image("keyed"))
        .send()
        .await
        .expect("submit");
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let refused: Value = response.json().await.expect("body");
    assert_eq!(refused["error"]["scope"], "instance", "{refused}");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE project_id = ANY($1)")
        .bind(vec![first, second])
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(rows, FITS as i64, "a refused submit inserts nothing");

    // Without the instance's budget, the second project runs freely again.
    let (status, _) = app.admin(Method::DELETE, "/v1/admin/instances/team/budget", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, job) = app.submit_as(&second_key, &image("free again")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
}
