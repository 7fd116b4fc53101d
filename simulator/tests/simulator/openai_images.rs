//! `POST /v1/images/generations` answers with real PNGs and refuses like OpenAI.

use base64::{engine::general_purpose::STANDARD, Engine};
use electrons_simulator::{Fault, SimulatorHandle};
use serde_json::{json, Value};

use crate::{fetch, formats::png_size, send, spawn_simulator, Seen};

async fn generate(sim: &SimulatorHandle, body: &Value) -> Seen {
    let request = reqwest::Client::new()
        .post(format!("{}/v1/images/generations", sim.base_url()))
        .bearer_auth("sk-test")
        .json(body);
    send(request).await
}

#[tokio::test]
async fn dall_e_3_links_a_png_of_the_requested_size() {
    let sim = spawn_simulator().await;
    let body = json!({ "model": "dall-e-3", "prompt": "a lighthouse at dusk", "size": "1792x1024", "quality": "hd", "style": "natural" });
    let seen = generate(&sim, &body).await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert!(seen.header("x-request-id").is_some());
    let answer = seen.json();
    assert!(answer["created"].as_i64().is_some_and(|t| t > 1_700_000_000));
    let image = &answer["data"][0];
    assert_eq!(
        image["revised_prompt"],
        "A detailed, high-quality image of a lighthouse at dusk"
    );
    let url = image["url"].as_str().expect("url");
    assert!(url.starts_with(&format!("{}/_sim/files/", sim.base_url())), "{url}");

    let file = fetch(url).await;
    assert_eq!(file.status, 200);
    assert_eq!(file.header("content-type"), Some("image/png"));
    assert_eq!(
        file.header("content-length"),
        Some(file.bytes.len().to_string().as_str())
    );
    assert_eq!(png_size(&file.bytes), (1792, 1024));

    let recorded = &sim.controls().requests()[0];
    assert_eq!(
        (recorded.endpoint.as_str(), recorded.model.as_deref(), recorded.status),
        ("openai.images", Some("dall-e-3"), 200)
    );
    assert_eq!(recorded.prompt.as_deref(), Some("a lighthouse at dusk"));
}

#[tokio::test]
async fn dall_e_2_can_answer_inline() {
    let sim = spawn_simulator().await;
    let body = json!({ "prompt": "a cat", "n": 2, "size": "256x256", "response_format": "b64_json" });
    let answer = generate(&sim, &body).await.json();
    let images = answer["data"].as_array().expect("data");
    assert_eq!(images.len(), 2);
    for image in images {
        assert_eq!(image.get("revised_prompt"), None, "only DALL·E 3 revises");
        let png = STANDARD
            .decode(image["b64_json"].as_str().expect("b64_json"))
            .expect("base64");
        assert_eq!(png_size(&png), (256, 256));
    }
    assert_eq!(sim.controls().requests()[0].model.as_deref(), Some("dall-e-2"));
}

#[tokio::test]
async fn refusals_are_in_openai_shape() {
    let sim = spawn_simulator().await;
    let anonymous = reqwest::Client::new()
        .post(format!("{}/v1/images/generations", sim.base_url()))
        .json(&json!({ "prompt": "x" }));
    let seen = send(anonymous).await;
    assert_eq!(seen.status, 401);
    assert!(seen.json()["error"]["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("You didn't provide an API key")));

    let seen = generate(&sim, &json!({ "model": "dall-e-3", "prompt": "x", "n": 2 })).await;
    assert_eq!(seen.status, 400);
    assert_eq!(
        seen.json(),
        json!({ "error": {
            "message": "You must provide n=1 for this model.",
            "type": "invalid_request_error",
            "param": "n",
            "code": null,
        } })
    );
    let seen = generate(
        &sim,
        &json!({ "model": "dall-e-2", "prompt": "x", "size": "1792x1024" }),
    )
    .await;
    assert_eq!((seen.status, &seen.json()["error"]["param"]), (400, &json!("size")));
    let seen = generate(&sim, &json!({ "model": "dall-e-3" })).await;
    assert_eq!(seen.json()["error"]["code"], "missing_required_parameter");
}

#[tokio::test]
async fn faults_apply_to_image_generation() {
    let sim = spawn_simulator().await;
    let seen = generate(&sim, &json!({ "prompt": "x [[sim:status=503]]" })).await;
    assert_eq!(
        (seen.status, &seen.json()["error"]["type"]),
        (503, &json!("server_error"))
    );
    let seen = generate(&sim, &json!({ "prompt": "x [[sim:429=2]]" })).await;
    assert_eq!((seen.status, seen.header("retry-after")), (429, Some("2")));
    sim.controls().push_script([Fault::Malformed]);
    let seen = generate(&sim, &json!({ "prompt": "x" })).await;
    assert_eq!(seen.status, 200);
    assert!(serde_json::from_slice::<Value>(&seen.bytes).is_err(), "{}", seen.text);
}

#[tokio::test]
async fn file_directives_shape_the_linked_file() {
    let sim = spawn_simulator().await;
    let answer = generate(&sim, &json!({ "prompt": "x [[sim:file_404]]" })).await.json();
    let missing = fetch(answer["data"][0]["url"].as_str().expect("url")).await;
    assert_eq!(missing.status, 404);

    let answer = generate(&sim, &json!({ "prompt": "x [[sim:file_bytes=300000]]" }))
        .await
        .json();
    let padded = fetch(answer["data"][0]["url"].as_str().expect("url")).await;
    assert_eq!(padded.status, 200);
    assert_eq!(padded.header("content-length"), Some("300000"));
    assert_eq!(padded.bytes.len(), 300_000);
    assert_eq!(&padded.bytes[..8], b"\x89PNG\r\n\x1a\n", "the real file comes first");
    assert_eq!(
        sim.controls().request_count(),
        2,
        "file downloads are not provider calls"
    );
}
