//! Fault switches: scripts, default faults, per-request directives, latency, hangs.

use std::time::{Duration, Instant};

use electrons_simulator::Fault;
use serde_json::json;

use crate::{anthropic, chat, impatient, message, openai, spawn_simulator};

#[tokio::test]
async fn a_script_of_two_500s_then_normal_answers() {
    let sim = spawn_simulator().await;
    sim.controls()
        .push_script([Fault::Status { status: 500 }, Fault::Status { status: 500 }]);
    let first = openai(&sim, &chat("x")).await;
    assert_eq!(first.status, 500);
    assert_eq!(first.json()["error"]["type"], "server_error");
    let second = anthropic(&sim, &message("x")).await;
    assert_eq!(second.status, 500, "the script spans endpoints");
    assert_eq!(second.json()["error"]["type"], "api_error");
    assert_eq!(openai(&sim, &chat("x")).await.status, 200);
    let statuses: Vec<u16> = sim.controls().requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 500, 200]);
}

#[tokio::test]
async fn a_rate_limit_is_a_429_with_retry_after() {
    let sim = spawn_simulator().await;
    sim.controls().push_script([
        Fault::RateLimit { retry_after_secs: 3 },
        Fault::RateLimit { retry_after_secs: 7 },
    ]);
    let seen = openai(&sim, &chat("x")).await;
    assert_eq!(seen.status, 429);
    assert_eq!(seen.header("retry-after"), Some("3"));
    let error = &seen.json()["error"];
    assert_eq!(
        (&error["type"], &error["code"]),
        (&json!("requests"), &json!("rate_limit_exceeded"))
    );
    assert!(error["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("Rate limit reached")));

    let seen = anthropic(&sim, &message("x")).await;
    assert_eq!(seen.status, 429);
    assert_eq!(seen.header("retry-after"), Some("7"));
    assert_eq!(seen.json()["error"]["type"], "rate_limit_error");
    assert_eq!(seen.header("anthropic-ratelimit-requests-remaining"), Some("0"));
}

#[tokio::test]
async fn overloaded_is_anthropic_529() {
    let sim = spawn_simulator().await;
    sim.controls().set_default_fault(Some(Fault::Status { status: 529 }));
    for _ in 0..2 {
        let seen = anthropic(&sim, &message("x")).await;
        assert_eq!(seen.status, 529);
        assert_eq!(seen.json()["error"]["type"], "overloaded_error");
    }
    sim.controls().set_default_fault(None);
    assert_eq!(anthropic(&sim, &message("x")).await.status, 200);
}

#[tokio::test]
async fn malformed_bodies_do_not_parse() {
    let sim = spawn_simulator().await;
    sim.controls().push_script([Fault::Malformed, Fault::Malformed]);
    for seen in [openai(&sim, &chat("x")).await, anthropic(&sim, &message("x")).await] {
        assert_eq!(seen.status, 200);
        assert!(
            serde_json::from_str::<serde_json::Value>(&seen.text).is_err(),
            "{}",
            seen.text
        );
    }
}

#[tokio::test]
async fn a_prompt_directive_wins_over_script_and_default() {
    let sim = spawn_simulator().await;
    sim.controls().push_script([Fault::Status { status: 500 }]);
    sim.controls().set_default_fault(Some(Fault::Status { status: 503 }));
    let seen = anthropic(&sim, &message("x [[sim:429=4]]")).await;
    assert_eq!((seen.status, seen.header("retry-after")), (429, Some("4")));
    assert_eq!(
        openai(&sim, &chat("x")).await.status,
        500,
        "the script was kept for the next request"
    );
    assert_eq!(openai(&sim, &chat("x")).await.status, 503, "then the default");
    let seen = openai(&sim, &chat("[[sim:status=502]] x")).await;
    assert_eq!(seen.status, 502);
}

#[tokio::test]
async fn directives_in_any_text_block_count_and_are_not_echoed() {
    let sim = spawn_simulator().await;
    let mut body = message("ignored");
    body["messages"] = json!([{ "role": "user", "content": [
        { "type": "text", "text": "hi" },
        { "type": "text", "text": "[[sim:latency=1]]" },
    ] }]);
    let seen = anthropic(&sim, &body).await;
    assert_eq!(
        seen.json()["content"][0]["text"],
        "Simulated reply from claude-3-5-haiku-latest: hi"
    );
    assert_eq!(
        sim.controls().requests()[0].prompt.as_deref(),
        Some("hi\n[[sim:latency=1]]")
    );
}

#[tokio::test]
async fn latency_is_applied() {
    let sim = spawn_simulator().await;
    sim.controls().set_latency(Duration::from_millis(120));
    let started = Instant::now();
    assert_eq!(openai(&sim, &chat("x")).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(120), "global latency");

    sim.controls().reset();
    let started = Instant::now();
    assert_eq!(openai(&sim, &chat("x [[sim:latency=150]]")).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150), "per-request latency");

    sim.controls().push_script([Fault::Latency { ms: 100 }]);
    sim.controls().set_latency(Duration::from_millis(50));
    let started = Instant::now();
    assert_eq!(anthropic(&sim, &message("x")).await.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "scripted latency adds to global latency"
    );
}

#[tokio::test]
async fn a_hang_never_answers() {
    let sim = spawn_simulator().await;
    sim.controls().push_script([Fault::Hang]);
    let hung = impatient()
        .post(format!("{}/v1/chat/completions", sim.base_url()))
        .bearer_auth("k")
        .json(&chat("x"))
        .send()
        .await;
    assert!(hung.is_err_and(|e| e.is_timeout()));
    assert_eq!(sim.controls().requests()[0].status, 0, "a hang is recorded as status 0");
    assert_eq!(
        openai(&sim, &chat("x")).await.status,
        200,
        "the simulator is still serving"
    );
}

#[tokio::test]
async fn shutdown_releases_hung_requests() {
    let sim = spawn_simulator().await;
    sim.controls().set_default_fault(Some(Fault::Hang));
    let pending = tokio::spawn({
        let sim = sim.clone();
        async move { openai(&sim, &chat("x")).await.status }
    });
    while sim.controls().request_count() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sim.shutdown();
    let status = tokio::time::timeout(Duration::from_secs(2), pending).await;
    assert!(matches!(status, Ok(Ok(503))), "{status:?}");
    tokio::time::timeout(Duration::from_secs(2), sim.stopped())
        .await
        .expect("stopped");
}

#[tokio::test]
async fn everything_is_recorded() {
    let sim = spawn_simulator().await;
    sim.controls().push_script([Fault::Status { status: 500 }]);
    openai(&sim, &chat("first")).await;
    anthropic(&sim, &json!({ "model": "claude-x", "messages": [] })).await;
    anthropic(&sim, &message(&"long ".repeat(100))).await;
    assert_eq!(sim.controls().request_count(), 3);
    let seen = sim.controls().requests();
    let summary: Vec<(&str, Option<&str>, u16)> = seen
        .iter()
        .map(|r| (r.endpoint.as_str(), r.model.as_deref(), r.status))
        .collect();
    assert_eq!(
        summary,
        [
            ("openai.chat", Some("gpt-4o-mini"), 500),
            ("anthropic.messages", Some("claude-x"), 400),
            ("anthropic.messages", Some("claude-3-5-haiku-latest"), 200),
        ]
    );
    assert_eq!(seen[0].prompt.as_deref(), Some("first"));
    assert_eq!(seen[2].prompt.as_ref().map(|p| p.chars().count()), Some(200));
    assert!(seen.windows(2).all(|w| w[0].at <= w[1].at));
    sim.controls().reset();
    assert_eq!(
        (sim.controls().request_count(), sim.controls().requests().len()),
        (0, 0)
    );
}
