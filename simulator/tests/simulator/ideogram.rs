//! Ideogram's `POST /generate` answers with links to real PNGs and refuses in FastAPI's shape.

use electrons_simulator::{Fault, SimulatorHandle};
use serde_json::{json, Value};

use crate::{fetch, formats::png_size, send, spawn_simulator, Seen};

async fn generate(sim: &SimulatorHandle, request: Value) -> Seen {
    let request = reqwest::Client::new()
        .post(format!("{}/generate", sim.base_url()))
        .header("Api-Key", "ideo-test")
        .json(&json!({ "image_request": request }));
    send(request).await
}

#[tokio::test]
async fn images_come_at_the_aspect_ratios_resolution() {
    let sim = spawn_simulator().await;
    let request = json!({
        "prompt": "a neon city in rain",
        "model": "V_2_TURBO",
        "aspect_ratio": "ASPECT_16_9",
        "magic_prompt_option": "OFF",
        "num_images": 2,
        "seed": 42,
        "negative_prompt": "blur",
    });
    let seen = generate(&sim, request).await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    let answer = seen.json();
    assert!(answer["created"]
        .as_str()
        .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()));
    let images = answer["data"].as_array().expect("data");
    assert_eq!(images.len(), 2);
    assert_eq!(
        (&images[0]["prompt"], &images[0]["resolution"], &images[0]["seed"]),
        (&json!("a neon city in rain"), &json!("1312x736"), &json!(42))
    );
    assert_eq!(images[1]["is_image_safe"], true);
    let file = fetch(images[1]["url"].as_str().expect("url")).await;
    assert_eq!(file.header("content-type"), Some("image/png"));
    assert_eq!(png_size(&file.bytes), (1312, 736));
    let recorded = &sim.controls().requests()[0];
    assert_eq!(
        (recorded.endpoint.as_str(), recorded.model.as_deref()),
        ("ideogram.generate", Some("V_2_TURBO"))
    );
}

#[tokio::test]
async fn refusals_are_fastapi_details() {
    let sim = spawn_simulator().await;
    let anonymous = reqwest::Client::new()
        .post(format!("{}/generate", sim.base_url()))
        .json(&json!({ "image_request": { "prompt": "x" } }));
    let seen = send(anonymous).await;
    assert_eq!(seen.status, 401);
    assert!(seen.json()["detail"].is_string());

    let seen = generate(&sim, json!({ "prompt": "x", "aspect_ratio": "ASPECT_5_4" })).await;
    assert_eq!(seen.status, 422);
    assert!(seen.json()["detail"]
        .as_str()
        .is_some_and(|d| d.starts_with("image_request.aspect_ratio")));
    let seen = generate(&sim, json!({ "aspect_ratio": "ASPECT_1_1" })).await;
    assert_eq!(seen.json(), json!({ "detail": "image_request.prompt: Field required" }));
}

#[tokio::test]
async fn faults_apply() {
    let sim = spawn_simulator().await;
    let seen = generate(&sim, json!({ "prompt": "x [[sim:status=500]]" })).await;
    assert_eq!(
        (seen.status, seen.json()),
        (500, json!({ "detail": "Internal Server Error" }))
    );
    sim.controls().push_script([Fault::RateLimit { retry_after_secs: 4 }]);
    let seen = generate(&sim, json!({ "prompt": "x" })).await;
    assert_eq!((seen.status, seen.header("retry-after")), (429, Some("4")));
    let answer = generate(&sim, json!({ "prompt": "x [[sim:file_404]]" })).await.json();
    assert_eq!(fetch(answer["data"][0]["url"].as_str().expect("url")).await.status, 404);
}
