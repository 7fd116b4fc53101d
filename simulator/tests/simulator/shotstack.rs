//! Shotstack renders: queued on submission, advancing with time to `done` with
//! a link to a real MP4, or to `failed` when the edit asks for it.

use std::time::Duration;

use electrons_simulator::SimulatorHandle;
use serde_json::{json, Value};

use crate::{fetch, formats::assert_mp4, poll_until, send, spawn_simulator, Seen};

async fn submit(sim: &SimulatorHandle, path: &str, edit: &Value) -> Seen {
    let request = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .header("x-api-key", "shotstack-test")
        .json(edit);
    send(request).await
}

async fn status(sim: &SimulatorHandle, path: &str) -> Seen {
    let request = reqwest::Client::new()
        .get(format!("{}{path}", sim.base_url()))
        .header("x-api-key", "shotstack-test");
    send(request).await
}

/// A title over a video clip; `title` is where directives go.
fn edit(title: &str) -> Value {
    json!({
        "timeline": { "tracks": [
            { "clips": [{ "asset": { "type": "title", "text": title, "style": "minimal" }, "start": 0, "length": 2 }] },
            { "clips": [{ "asset": { "type": "video", "src": "https://example.com/beach.mp4" }, "start": 0, "length": 5 }] },
        ] },
        "output": { "format": "mp4", "resolution": "sd" },
    })
}

fn render_id(seen: &Seen) -> String {
    assert_eq!(seen.status, 201, "{}", seen.text);
    let body = seen.json();
    assert_eq!(
        (&body["success"], &body["message"], &body["response"]["message"]),
        (&json!(true), &json!("Created"), &json!("Render Successfully Queued"))
    );
    body["response"]["id"].as_str().expect("id").to_owned()
}

fn finished(body: &Value) -> bool {
    matches!(body["response"]["status"].as_str(), Some("done" | "failed"))
}

#[tokio::test]
async fn a_render_advances_to_done_with_a_real_mp4() {
    let sim = spawn_simulator().await;
    let id = render_id(&submit(&sim, "/edit/stage/render", &edit("Hello [[sim:operation_ms=400]]")).await);
    let first = status(&sim, &format!("/edit/stage/render/{id}")).await.json();
    let response = &first["response"];
    assert_eq!((&first["success"], &first["message"]), (&json!(true), &json!("OK")));
    assert_eq!(response["id"], id.as_str());
    assert!(
        matches!(
            response["status"].as_str(),
            Some("queued" | "fetching" | "rendering" | "saving")
        ),
        "{response}"
    );
    assert_eq!(response["url"], Value::Null, "no output yet");
    assert_eq!(
        response["data"],
        edit("Hello [[sim:operation_ms=400]]"),
        "the edit comes back"
    );

    let done = poll_until(
        &format!("{}/edit/stage/render/{id}", sim.base_url()),
        "x-api-key",
        "k",
        finished,
    )
    .await;
    let response = &done["response"];
    assert_eq!(response["status"], "done");
    assert_eq!(response["duration"], 5.0);
    let url = response["url"].as_str().expect("url");
    let mp4 = fetch(url).await;
    assert_eq!(mp4.header("content-type"), Some("video/mp4"));
    assert_mp4(&mp4.bytes);
}

#[tokio::test]
async fn statuses_move_through_the_render_stages() {
    let sim = spawn_simulator().await;
    let id = render_id(&submit(&sim, "/v1/render", &edit("[[sim:operation_ms=1000]]")).await);
    let mut stages = Vec::new();
    poll_until(
        &format!("{}/v1/render/{id}", sim.base_url()),
        "x-api-key",
        "k",
        |body| {
            let stage = body["response"]["status"].as_str().unwrap_or_default().to_owned();
            if stages.last() != Some(&stage) {
                stages.push(stage);
            }
            finished(body)
        },
    )
    .await;
    let order = ["queued", "fetching", "rendering", "saving", "done"];
    let positions: Vec<usize> = stages
        .iter()
        .map(|s| order.iter().position(|o| o == s).expect("a known status"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{stages:?}");
    assert!(stages.contains(&"rendering".to_string()), "{stages:?}");
    assert_eq!(stages.last().map(String::as_str), Some("done"));
}

#[tokio::test]
async fn operation_fail_ends_the_render_failed() {
    let sim = spawn_simulator().await;
    sim.controls().set_operation_duration(Duration::from_millis(50));
    let id = render_id(&submit(&sim, "/stage/render", &edit("[[sim:operation_fail]]")).await);
    let failed = poll_until(
        &format!("{}/stage/render/{id}", sim.base_url()),
        "x-api-key",
        "k",
        finished,
    )
    .await;
    assert_eq!(failed["response"]["status"], "failed");
    assert_eq!(
        failed["response"]["error"],
        "Asset at https://example.com/missing.mp4 could not be downloaded: 403 Forbidden"
    );
    assert_eq!(failed["response"]["url"], Value::Null);

    let id = render_id(&submit(&sim, "/stage/render", &edit("[[sim:operation_fail=Font not found]]")).await);
    let failed = poll_until(
        &format!("{}/stage/render/{id}", sim.base_url()),
        "x-api-key",
        "k",
        finished,
    )
    .await;
    assert_eq!(failed["response"]["error"], "Font not found");
}

#[tokio::test]
async fn refusals() {
    let sim = spawn_simulator().await;
    let anonymous = reqwest::Client::new()
        .post(format!("{}/edit/stage/render", sim.base_url()))
        .json(&edit("x"));
    let seen = send(anonymous).await;
    assert_eq!((seen.status, seen.json()), (403, json!({ "message": "Forbidden" })));

    let mut empty = edit("x");
    empty["timeline"]["tracks"][1]["clips"] = json!([]);
    let seen = submit(&sim, "/edit/stage/render", &empty).await;
    assert_eq!(seen.status, 400);
    assert_eq!(
        seen.json(),
        json!({ "success": false, "message": "Bad Request", "response": { "error": {
            "name": "ValidationError",
            "details": [{
                "message": "\"timeline.tracks[1].clips\" must contain at least 1 items",
                "path": ["timeline", "tracks", 1, "clips"],
                "type": "array.min",
            }],
        } } })
    );
    let seen = submit(&sim, "/edit/stage/render", &json!({ "output": { "format": "mp4" } })).await;
    assert_eq!(
        seen.json()["response"]["error"]["details"][0]["message"],
        "\"timeline\" is required"
    );
    assert_eq!(submit(&sim, "/edit/prod/render", &edit("x")).await.status, 404);

    let unknown = status(&sim, "/edit/stage/render/2f1a8b0e-0000-4000-8000-000000000000").await;
    assert_eq!((unknown.status, &unknown.json()["success"]), (404, &json!(false)));
    let id = render_id(&submit(&sim, "/edit/stage/render", &edit("x")).await);
    assert_eq!(
        status(&sim, &format!("/edit/v1/render/{id}")).await.status,
        404,
        "a stage render is not in production"
    );
}

#[tokio::test]
async fn faults_output_files_and_counts() {
    let sim = spawn_simulator().await;
    let seen = submit(&sim, "/edit/v1/render", &edit("x [[sim:status=502]]")).await;
    assert_eq!((seen.status, seen.json()), (502, json!({ "message": "Bad Gateway" })));
    let seen = submit(&sim, "/edit/v1/render", &edit("x [[sim:429=2]]")).await;
    assert_eq!((seen.status, seen.header("retry-after")), (429, Some("2")));

    sim.controls().set_operation_duration(Duration::ZERO);
    let id = render_id(&submit(&sim, "/edit/v1/render", &edit("[[sim:file_404]]")).await);
    let done = status(&sim, &format!("/edit/v1/render/{id}")).await.json();
    assert_eq!(done["response"]["status"], "done");
    assert_eq!(fetch(done["response"]["url"].as_str().expect("url")).await.status, 404);

    let id = render_id(&submit(&sim, "/edit/v1/render", &edit("[[sim:file_bytes=5000000]]")).await);
    let done = status(&sim, &format!("/edit/v1/render/{id}?data=false")).await.json();
    assert_eq!(done["response"].get("data"), None);
    let mut response = reqwest::get(done["response"]["url"].as_str().expect("url"))
        .await
        .expect("get");
    assert_eq!(response.content_length(), Some(5_000_000));
    let (mut streamed, mut head) = (0, Vec::new());
    while let Some(chunk) = response.chunk().await.expect("chunk") {
        if head.len() < 8 {
            head.extend_from_slice(&chunk);
        }
        streamed += chunk.len();
    }
    assert_eq!(streamed, 5_000_000);
    assert_eq!(&head[4..8], b"ftyp");

    let summary: Vec<(String, u16)> = sim
        .controls()
        .requests()
        .iter()
        .map(|r| (r.endpoint.clone(), r.status))
        .collect();
    let renders = summary.iter().filter(|(e, _)| e == "shotstack.render").count();
    let polls = summary.iter().filter(|(e, _)| e == "shotstack.status").count();
    assert_eq!((renders, polls), (4, 2), "{summary:?}");
}

/// What DE refuses at submit because Shotstack's schema refuses it: the
/// simulator refuses it too, as a 400 `ValidationError` naming the path.
#[tokio::test]
async fn schema_breaches_are_validation_errors() {
    let sim = spawn_simulator().await;
    let with_clip = |clip: Value| {
        let mut body = edit("x");
        body["timeline"]["tracks"][1]["clips"] = json!([clip]);
        body
    };
    let src = "https://example.com/a.mp4";
    let mut soundtrack = edit("x");
    soundtrack["timeline"]["soundtrack"] = json!({ "src": "https://example.com/a.mp3", "effect": "fade" });
    let mut fonts = edit("x");
    fonts["timeline"]["fonts"] = json!([{}]);
    let mut cache = edit("x");
    cache["timeline"]["cache"] = json!("no");
    let mut track = edit("x");
    track["timeline"]["tracks"][0]["name"] = json!("titles");
    let cases = [
        (
            with_clip(json!({ "asset": { "type": "videoo", "src": src }, "start": 0, "length": 1 })),
            "timeline.tracks[1].clips[0].asset.type",
            "any.only",
        ),
        (
            with_clip(json!({ "asset": { "type": "video", "src": src }, "start": 0, "duration": 1 })),
            "timeline.tracks[1].clips[0].duration",
            "object.unknown",
        ),
        (
            with_clip(json!({ "asset": { "type": "title" }, "start": 0, "length": 1 })),
            "timeline.tracks[1].clips[0].asset.text",
            "any.required",
        ),
        (
            with_clip(json!({ "asset": { "type": "html" }, "start": 0, "length": 1 })),
            "timeline.tracks[1].clips[0].asset.html",
            "any.required",
        ),
        (
            with_clip(json!({ "asset": { "type": "luma" }, "start": 0, "length": 1 })),
            "timeline.tracks[1].clips[0].asset.src",
            "any.required",
        ),
        (
            with_clip(json!({ "asset": { "type": "video" }, "start": 0, "length": 1 })),
            "timeline.tracks[1].clips[0].asset",
            "object.missing",
        ),
        (track, "timeline.tracks[0].name", "object.unknown"),
        (soundtrack, "timeline.soundtrack.effect", "any.only"),
        (fonts, "timeline.fonts[0].src", "any.required"),
        (cache, "timeline.cache", "boolean.base"),
    ];
    for (body, path, kind) in cases {
        let seen = submit(&sim, "/edit/stage/render", &body).await;
        assert_eq!(seen.status, 400, "{path}: {}", seen.text);
        let answer = seen.json();
        assert_eq!(
            (&answer["success"], &answer["message"]),
            (&json!(false), &json!("Bad Request"))
        );
        let error = &answer["response"]["error"];
        assert_eq!(error["name"], "ValidationError");
        let detail = &error["details"][0];
        assert_eq!(detail["type"], kind, "{path}: {detail}");
        assert!(
            detail["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(&format!("\"{path}\" "))),
            "{detail}"
        );
        assert_eq!(detail["path"], json!(joi_path(path)), "{detail}");
    }

    let mut aliased = with_clip(
        json!({ "asset": { "type": "video", "src": src }, "start": "alias://intro", "length": "alias://intro" }),
    );
    aliased["timeline"]["tracks"][0]["clips"][0]["alias"] = json!("intro");
    render_id(&submit(&sim, "/edit/stage/render", &aliased).await);
}

/// `timeline.tracks[1].clips` as Joi's path array.
fn joi_path(path: &str) -> Vec<Value> {
    path.split(['.', '['])
        .filter(|part| !part.is_empty())
        .map(|part| match part.strip_suffix(']').map(str::parse::<u64>) {
            Some(Ok(index)) => json!(index),
            _ => json!(part),
        })
        .collect()
}
