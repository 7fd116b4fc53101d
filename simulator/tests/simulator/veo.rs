//! Veo on the Gemini API: `predictLongRunning` starts an operation, polling it
//! ends with a sample URI, and the URI downloads a real MP4 with the API key.

use std::time::Duration;

use electrons_simulator::{Fault, SimulatorHandle};
use serde_json::{json, Value};

use crate::{formats::assert_mp4, poll_until, send, spawn_simulator, Seen};

const MODEL: &str = "veo-3.0-generate-001";
const KEY: &str = "AIza-test";

async fn submit(sim: &SimulatorHandle, body: &Value) -> Seen {
    let request = reqwest::Client::new()
        .post(format!("{}/v1beta/models/{MODEL}:predictLongRunning", sim.base_url()))
        .header("x-goog-api-key", KEY)
        .json(body);
    send(request).await
}

fn video(prompt: &str) -> Value {
    json!({
        "instances": [{ "prompt": prompt }],
        "parameters": { "aspectRatio": "16:9", "durationSeconds": 8, "negativePrompt": "text", "resolution": "720p" },
    })
}

/// Submits and returns the operation's URL.
async fn start(sim: &SimulatorHandle, body: &Value) -> String {
    let seen = submit(sim, body).await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    let name = seen.json()["name"].as_str().expect("name").to_owned();
    assert!(name.starts_with(&format!("models/{MODEL}/operations/")), "{name}");
    format!("{}/v1beta/{name}", sim.base_url())
}

async fn finish(url: &str) -> Value {
    poll_until(url, "x-goog-api-key", KEY, |body| body["done"] == true).await
}

async fn download(uri: &str, key: Option<&str>) -> Seen {
    let mut request = reqwest::Client::new().get(uri);
    if let Some(key) = key {
        request = request.header("x-goog-api-key", key);
    }
    send(request).await
}

#[tokio::test]
async fn an_operation_ends_with_a_downloadable_mp4() {
    let sim = spawn_simulator().await;
    let operation = start(&sim, &video("a drone shot over cliffs [[sim:operation_ms=500]]")).await;
    let running = poll_until(&operation, "x-goog-api-key", KEY, |_| true).await;
    assert_eq!(running["done"], false);
    assert_eq!(running.get("response"), None);

    let done = finish(&operation).await;
    assert_eq!(done["name"], operation.split("/v1beta/").nth(1).unwrap_or_default());
    let response = &done["response"];
    assert_eq!(
        response["@type"],
        "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"
    );
    let uri = response["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
        .as_str()
        .expect("uri");
    assert!(uri.ends_with(":download?alt=media"), "{uri}");

    let anonymous = download(uri, None).await;
    assert_eq!(
        (anonymous.status, &anonymous.json()["error"]["status"]),
        (403, &json!("PERMISSION_DENIED"))
    );
    let mp4 = download(uri, Some(KEY)).await;
    assert_eq!(mp4.status, 200);
    assert_eq!(mp4.header("content-type"), Some("video/mp4"));
    assert_mp4(&mp4.bytes);

    let endpoints: Vec<String> = sim.controls().requests().iter().map(|r| r.endpoint.clone()).collect();
    assert_eq!(
        endpoints.first().map(String::as_str),
        Some("gemini.predict_long_running")
    );
    assert!(endpoints.iter().any(|e| e == "gemini.operation"));
    assert_eq!(endpoints.iter().filter(|e| *e == "gemini.download").count(), 2);
    assert_eq!(sim.controls().requests()[0].model.as_deref(), Some(MODEL));
}

#[tokio::test]
async fn operation_fail_ends_with_an_error() {
    let sim = spawn_simulator().await;
    sim.controls().set_operation_duration(Duration::from_millis(30));
    let done = finish(&start(&sim, &video("a storm [[sim:operation_fail]]")).await).await;
    assert_eq!(
        done["error"],
        json!({ "code": 3, "message": "The prompt could not be processed: it was blocked by the safety filters." })
    );
    assert_eq!(done.get("response"), None);
    let done = finish(&start(&sim, &video("[[sim:operation_fail=Quota exceeded for veo]]")).await).await;
    assert_eq!(done["error"]["message"], "Quota exceeded for veo");
}

#[tokio::test]
async fn several_samples_and_file_directives() {
    let sim = spawn_simulator().await;
    sim.controls().set_operation_duration(Duration::ZERO);
    let mut body = video("x [[sim:file_404]]");
    body["parameters"]["sampleCount"] = json!(2);
    let done = finish(&start(&sim, &body).await).await;
    let samples = done["response"]["generateVideoResponse"]["generatedSamples"]
        .as_array()
        .expect("samples");
    assert_eq!(samples.len(), 2);
    let gone = download(samples[1]["video"]["uri"].as_str().expect("uri"), Some(KEY)).await;
    assert_eq!(
        (gone.status, &gone.json()["error"]["status"]),
        (404, &json!("NOT_FOUND"))
    );

    let done = finish(&start(&sim, &video("x [[sim:file_bytes=100000]]")).await).await;
    let uri = done["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
        .as_str()
        .expect("uri")
        .to_owned();
    let sized = download(&uri, Some(KEY)).await;
    assert_eq!(
        (sized.bytes.len(), sized.header("content-length")),
        (100_000, Some("100000"))
    );

    sim.controls().push_script([Fault::Malformed]);
    let cut = download(&uri, Some(KEY)).await;
    assert_eq!((cut.status, cut.bytes.len()), (200, 64), "a download cut short");
}

#[tokio::test]
async fn refusals_and_faults() {
    let sim = spawn_simulator().await;
    let anonymous = reqwest::Client::new()
        .post(format!("{}/v1beta/models/{MODEL}:predictLongRunning", sim.base_url()))
        .json(&video("x"));
    assert_eq!(send(anonymous).await.status, 403);
    let mut long = video("x");
    long["parameters"]["durationSeconds"] = json!(30);
    let seen = submit(&sim, &long).await;
    assert_eq!(
        (seen.status, &seen.json()["error"]["status"]),
        (400, &json!("INVALID_ARGUMENT"))
    );
    let seen = submit(&sim, &json!({ "instances": [] })).await;
    assert_eq!(seen.status, 400);

    let unknown = send(
        reqwest::Client::new()
            .get(format!("{}/v1beta/models/{MODEL}/operations/nosuchop", sim.base_url()))
            .header("x-goog-api-key", KEY),
    )
    .await;
    assert_eq!((unknown.status, &unknown.json()["error"]["code"]), (404, &json!(404)));

    let seen = submit(&sim, &video("x [[sim:status=500]]")).await;
    assert_eq!(
        (seen.status, &seen.json()["error"]["status"]),
        (500, &json!("INTERNAL"))
    );
    let operation = start(&sim, &video("x")).await;
    sim.controls().push_script([Fault::Status { status: 503 }]);
    let poll = send(reqwest::Client::new().get(&operation).header("x-goog-api-key", KEY)).await;
    assert_eq!(poll.status, 503, "polls get scripted faults too");
}

#[tokio::test]
async fn the_operation_duration_is_configurable_over_http() {
    let sim = spawn_simulator().await;
    let put = reqwest::Client::new()
        .put(format!("{}/_sim/config", sim.base_url()))
        .json(&json!({ "operation_ms": 60_000 }))
        .send()
        .await
        .expect("config");
    assert_eq!(put.status().as_u16(), 200);
    let operation = start(&sim, &video("x")).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let running = poll_until(&operation, "x-goog-api-key", KEY, |_| true).await;
    assert_eq!(running["done"], false, "a minute-long operation is still running");
    let quick = start(&sim, &video("x [[sim:operation_ms=0]]")).await;
    let done = poll_until(&quick, "x-goog-api-key", KEY, |_| true).await;
    assert_eq!(done["done"], true, "the directive wins over the configuration");
}

/// What DE refuses at submit because the Gemini API refuses it: the simulator
/// refuses it too, as a 400 `INVALID_ARGUMENT`.
#[tokio::test]
async fn durations_resolutions_and_seeds_are_refused_like_the_gemini_api() {
    let sim = spawn_simulator().await;
    let with = |parameters: Value| {
        let mut body = video("x");
        if let (Some(to), Some(from)) = (body["parameters"].as_object_mut(), parameters.as_object()) {
            to.extend(from.clone());
        }
        body
    };
    let cases = [
        (json!({ "durationSeconds": 5 }), "out of bound"),
        (json!({ "durationSeconds": 7 }), "out of bound"),
        (
            json!({ "resolution": "1080p", "durationSeconds": 4 }),
            "only supported with a `durationSeconds` of 8",
        ),
        (
            json!({ "resolution": "1080p", "durationSeconds": 6 }),
            "only supported with a `durationSeconds` of 8",
        ),
        (json!({ "seed": 42 }), "seed isn't supported by this model"),
    ];
    for (parameters, says) in cases {
        let seen = submit(&sim, &with(parameters.clone())).await;
        assert_eq!(seen.status, 400, "{parameters} → {}", seen.text);
        let error = &seen.json()["error"];
        assert_eq!(
            (&error["code"], &error["status"]),
            (&json!(400), &json!("INVALID_ARGUMENT"))
        );
        assert!(
            error["message"].as_str().is_some_and(|m| m.contains(says)),
            "{parameters} → {error}"
        );
    }
    for parameters in [
        json!({ "resolution": "1080p", "durationSeconds": 8 }),
        json!({ "durationSeconds": 6 }),
    ] {
        assert_eq!(
            submit(&sim, &with(parameters.clone())).await.status,
            200,
            "{parameters}"
        );
    }
}
