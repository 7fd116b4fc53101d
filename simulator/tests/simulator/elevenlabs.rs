//! ElevenLabs text to speech answers with real audio bytes and refuses in its
//! `{"detail": {"status", "message"}}` shape.

use electrons_simulator::{Fault, SimulatorHandle};
use serde_json::{json, Value};

use crate::{formats::assert_mp3, send, spawn_simulator, Seen};

const VOICE: &str = "21m00Tcm4TlvDq8ikWAM";

async fn speak(sim: &SimulatorHandle, format: Option<&str>, body: &Value) -> Seen {
    let mut url = format!("{}/v1/text-to-speech/{VOICE}", sim.base_url());
    if let Some(format) = format {
        url.push_str(&format!("?output_format={format}"));
    }
    let request = reqwest::Client::new()
        .post(url)
        .header("xi-api-key", "xi-test")
        .json(body);
    send(request).await
}

fn speech(text: &str) -> Value {
    json!({
        "text": text,
        "model_id": "eleven_multilingual_v2",
        "voice_settings": { "stability": 0.5, "similarity_boost": 0.75, "style": 0.0, "speed": 1.0 },
    })
}

#[tokio::test]
async fn mp3_is_real_and_grows_with_the_text() {
    let sim = spawn_simulator().await;
    let short = speak(&sim, Some("mp3_44100_128"), &speech("Hello there.")).await;
    assert_eq!(short.status, 200, "{}", short.text);
    assert_eq!(short.header("content-type"), Some("audio/mpeg"));
    assert!(short.header("request-id").is_some());
    assert_eq!(short.header("character-cost"), Some("12"));
    assert_mp3(&short.bytes);

    let long = speak(&sim, None, &speech(&"A longer sentence to say. ".repeat(6))).await;
    assert_eq!(long.header("content-type"), Some("audio/mpeg"), "mp3 by default");
    assert_mp3(&long.bytes);
    // 156 characters at 15 a second is 11 s: eleven copies of the 1 s fixture.
    assert_eq!(long.bytes.len(), 11 * short.bytes.len());
    assert_mp3(&long.bytes[short.bytes.len()..]);

    let recorded = &sim.controls().requests()[0];
    assert_eq!(
        (
            recorded.endpoint.as_str(),
            recorded.model.as_deref(),
            recorded.prompt.as_deref()
        ),
        ("elevenlabs.tts", Some("eleven_multilingual_v2"), Some("Hello there."))
    );
}

#[tokio::test]
async fn pcm_and_ulaw_are_silence_of_the_right_length() {
    let sim = spawn_simulator().await;
    let pcm = speak(&sim, Some("pcm_16000"), &speech("Hello there.")).await;
    assert_eq!(pcm.header("content-type"), Some("audio/pcm"));
    assert_eq!(pcm.bytes.len(), 32_000, "one second of 16-bit samples at 16 kHz");
    assert!(pcm.bytes.iter().all(|&b| b == 0));
    let ulaw = speak(&sim, Some("ulaw_8000"), &speech("Hello there.")).await;
    assert_eq!(ulaw.header("content-type"), Some("audio/basic"));
    assert_eq!(ulaw.bytes.len(), 8000);
    assert!(ulaw.bytes.iter().all(|&b| b == 0xFF), "µ-law silence");
}

#[tokio::test]
async fn refusals_are_details() {
    let sim = spawn_simulator().await;
    let anonymous = reqwest::Client::new()
        .post(format!("{}/v1/text-to-speech/{VOICE}", sim.base_url()))
        .json(&speech("x"));
    let seen = send(anonymous).await;
    assert_eq!(seen.status, 401);
    assert_eq!(
        seen.json(),
        json!({ "detail": {
            "status": "needs_authorization",
            "message": "Neither authorization header nor xi-api-key received, please provide one.",
        } })
    );
    let seen = speak(&sim, Some("wav_44100"), &speech("x")).await;
    assert_eq!(
        (seen.status, &seen.json()["detail"]["status"]),
        (422, &json!("invalid_output_format"))
    );
    let seen = speak(&sim, None, &json!({ "model_id": "eleven_multilingual_v2" })).await;
    assert_eq!(seen.status, 422);
    assert_eq!(seen.json()["detail"]["message"], "text: Field required.");
    let mut fast = speech("x");
    fast["voice_settings"]["speed"] = json!(3);
    assert_eq!(speak(&sim, None, &fast).await.status, 422);
}

#[tokio::test]
async fn faults_apply_to_speech() {
    let sim = spawn_simulator().await;
    let seen = speak(&sim, None, &speech("x [[sim:status=500]]")).await;
    assert_eq!(
        (seen.status, &seen.json()["detail"]["status"]),
        (500, &json!("internal_server_error"))
    );
    sim.controls().push_script([Fault::Malformed]);
    let cut = speak(&sim, None, &speech("Hello there, a full sentence.")).await;
    assert_eq!((cut.status, cut.header("content-type")), (200, Some("audio/mpeg")));
    assert_eq!(cut.bytes.len(), 1000, "the audio is cut short");
    let sized = speak(&sim, None, &speech("x [[sim:file_bytes=123456]]")).await;
    assert_eq!(sized.bytes.len(), 123_456);
    assert_mp3(&sized.bytes);
}
