//! Gemini `generateContent` with image output answers with an inline PNG and
//! refuses in Google's shape.

use base64::{engine::general_purpose::STANDARD, Engine};
use electrons_simulator::SimulatorHandle;
use serde_json::{json, Value};

use crate::{formats::png_size, send, spawn_simulator, Seen};

const MODEL: &str = "gemini-2.5-flash-image";

async fn generate(sim: &SimulatorHandle, model: &str, body: &Value) -> Seen {
    let request = reqwest::Client::new()
        .post(format!("{}/v1beta/models/{model}:generateContent", sim.base_url()))
        .header("x-goog-api-key", "AIza-test")
        .json(body);
    send(request).await
}

fn image_request(prompt: &str, aspect: &str) -> Value {
    json!({
        "contents": [{ "role": "user", "parts": [{ "text": prompt }] }],
        "generationConfig": { "responseModalities": ["TEXT", "IMAGE"], "imageConfig": { "aspectRatio": aspect } },
    })
}

#[tokio::test]
async fn an_image_comes_inline_at_the_aspect_ratio() {
    let sim = spawn_simulator().await;
    let seen = generate(&sim, MODEL, &image_request("a paper boat", "16:9")).await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    let answer = seen.json();
    let candidate = &answer["candidates"][0];
    assert_eq!(
        (&candidate["finishReason"], &candidate["content"]["role"]),
        (&json!("STOP"), &json!("model"))
    );
    let parts = candidate["content"]["parts"].as_array().expect("parts");
    assert_eq!(parts[0]["text"], "Here is your image of a paper boat.");
    assert_eq!(parts[1]["inlineData"]["mimeType"], "image/png");
    let png = STANDARD
        .decode(parts[1]["inlineData"]["data"].as_str().expect("data"))
        .expect("base64");
    assert_eq!(png_size(&png), (1344, 768));
    assert_eq!(answer["modelVersion"], MODEL);
    assert_eq!(answer["usageMetadata"]["promptTokenCount"], 3);
    let recorded = &sim.controls().requests()[0];
    assert_eq!(
        (
            recorded.endpoint.as_str(),
            recorded.model.as_deref(),
            recorded.prompt.as_deref()
        ),
        ("gemini.generate_content", Some(MODEL), Some("a paper boat"))
    );
}

#[tokio::test]
async fn refusals_are_in_google_shape() {
    let sim = spawn_simulator().await;
    let anonymous = reqwest::Client::new()
        .post(format!("{}/v1beta/models/{MODEL}:generateContent", sim.base_url()))
        .json(&image_request("x", "1:1"));
    let seen = send(anonymous).await;
    assert_eq!(seen.status, 403);
    assert_eq!(seen.json()["error"]["status"], "PERMISSION_DENIED");

    let seen = generate(&sim, MODEL, &json!({ "generationConfig": {} })).await;
    assert_eq!(seen.status, 400);
    let error = &seen.json()["error"];
    assert_eq!(
        (&error["code"], &error["status"]),
        (&json!(400), &json!("INVALID_ARGUMENT"))
    );

    let seen = generate(&sim, "gemini-2.5-flash", &image_request("x", "1:1")).await;
    assert_eq!(seen.status, 400, "a text model cannot draw");
    let seen = generate(&sim, "veo-3.0-generate-001", &image_request("x", "1:1")).await;
    assert_eq!(
        (seen.status, &seen.json()["error"]["status"]),
        (404, &json!("NOT_FOUND"))
    );
    let seen = send(
        reqwest::Client::new()
            .post(format!("{}/v1beta/models/{MODEL}:countTokens", sim.base_url()))
            .header("x-goog-api-key", "k"),
    )
    .await;
    assert_eq!(seen.status, 404, "unknown methods are not served");
}

#[tokio::test]
async fn faults_are_google_errors() {
    let sim = spawn_simulator().await;
    let seen = generate(&sim, MODEL, &image_request("x [[sim:429=3]]", "1:1")).await;
    assert_eq!((seen.status, seen.header("retry-after")), (429, Some("3")));
    let error = &seen.json()["error"];
    assert_eq!(error["status"], "RESOURCE_EXHAUSTED");
    assert_eq!(error["details"][0]["retryDelay"], "3s");
    let seen = generate(&sim, MODEL, &image_request("x [[sim:status=503]]", "1:1")).await;
    assert_eq!(
        (seen.status, &seen.json()["error"]["status"]),
        (503, &json!("UNAVAILABLE"))
    );
}

#[tokio::test]
async fn without_image_modality_it_answers_text() {
    let sim = spawn_simulator().await;
    let body = json!({ "contents": [{ "parts": [{ "text": "hello" }] }] });
    let answer = generate(&sim, "gemini-2.5-flash", &body).await.json();
    let parts = answer["candidates"][0]["content"]["parts"].as_array().expect("parts");
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0]["text"], "Simulated reply from gemini-2.5-flash: hello");
}
