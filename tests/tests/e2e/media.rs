//! Every modality besides text, end to end: submit → succeeded → each file
//! downloads from its link with the type, size and hash the job states, and is
//! really what it says (a PNG, an MP3, an MP4). Outputs in the local store
//! (served by the producer) unless the test says S3.

use std::time::Duration;

use electrons_tests::{Options, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
const FINISH: Duration = Duration::from_secs(30);

/// Submits, waits until it succeeds, returns the finished job.
async fn run(app: &TestApp, body: Value) -> Value {
    let (status, job) = app.submit(&body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let done = app.wait_finished(job["id"].as_str().expect("id"), FINISH).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    done
}

/// Fetches one listed file from its link and checks it is what the job says.
async fn download(app: &TestApp, file: &Value, content_type: &str) -> Vec<u8> {
    assert_eq!(file["content_type"], content_type, "{file}");
    let url = file["url"].as_str().unwrap_or_else(|| panic!("no url: {file}"));
    assert!(file.get("key").is_none(), "storage keys are not shown: {file}");
    let response = app.http.get(url).send().await.expect("download");
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    let served = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(served, content_type, "{url}");
    let bytes = response.bytes().await.expect("body").to_vec();
    assert_eq!(bytes.len() as u64, file["bytes"].as_u64().expect("bytes"), "{file}");
    assert_eq!(hex::encode(Sha256::digest(&bytes)), file["sha256"], "{file}");
    bytes
}

fn files(job: &Value) -> &Vec<Value> {
    job["output"]["files"]
        .as_array()
        .unwrap_or_else(|| panic!("no files: {job}"))
}

fn is_mp4(bytes: &[u8]) -> bool {
    bytes.len() > 12 && &bytes[4..8] == b"ftyp"
}

fn is_mp3(bytes: &[u8]) -> bool {
    bytes.starts_with(b"ID3") || (bytes.len() > 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0)
}

/// The endpoints the simulator saw, in order.
fn endpoints(app: &TestApp) -> Vec<String> {
    app.sim.controls().requests().into_iter().map(|r| r.endpoint).collect()
}

#[tokio::test]
async fn openai_images_are_copied_from_their_links() {
    let app = TestApp::spawn().await;
    let done = run(
        &app,
        json!({ "model": "dall-e-3", "input": { "prompt": "A lighthouse at dusk", "size": "1792x1024", "quality": "hd" } }),
    )
    .await;
    assert_eq!(done["modality"], "image");
    assert_eq!(files(&done).len(), 1);
    assert!(download(&app, &files(&done)[0], "image/png").await.starts_with(PNG));
    assert!(done["output"]["revised_prompts"][0].is_string(), "{done}");
    assert_eq!(done["metrics"]["files"], 1);

    let two = run(
        &app,
        json!({ "model": "dall-e-2", "input": { "prompt": "A red kite", "n": 2, "size": "256x256" } }),
    )
    .await;
    assert_eq!(files(&two).len(), 2, "{two}");
    for file in files(&two) {
        assert!(download(&app, file, "image/png").await.starts_with(PNG));
    }
    assert!(
        endpoints(&app).iter().all(|e| e == "openai.images"),
        "{:?}",
        endpoints(&app)
    );
    app.stop().await;
}

#[tokio::test]
async fn ideogram_images_are_copied_from_their_links() {
    let app = TestApp::spawn().await;
    let done = run(
        &app,
        json!({ "model": "ideogram-v2", "input": { "prompt": "A poster that says DE", "aspect_ratio": "16:9", "magic_prompt": "off", "seed": 7 } }),
    )
    .await;
    assert!(download(&app, &files(&done)[0], "image/png").await.starts_with(PNG));
    assert!(done["output"]["images"][0]["resolution"].is_string(), "{done}");
    assert_eq!(endpoints(&app), ["ideogram.generate"]);
    app.stop().await;
}

#[tokio::test]
async fn gemini_inline_images_are_decoded_into_storage() {
    let app = TestApp::spawn().await;
    let done = run(
        &app,
        json!({ "model": "flash-nano-banana", "input": { "prompt": "A banana made of circuits", "aspect_ratio": "1:1" } }),
    )
    .await;
    assert!(download(&app, &files(&done)[0], "image/png").await.starts_with(PNG));
    assert_eq!(endpoints(&app), ["gemini.generate_content"]);
    app.stop().await;
}

#[tokio::test]
async fn speech_is_streamed_into_storage() {
    let app = TestApp::spawn().await;
    let done = run(
        &app,
        json!({ "model": "multilingual-v2", "input": { "text": "Electrons are small.", "stability": 0.5 } }),
    )
    .await;
    assert_eq!(done["modality"], "audio");
    let audio = download(&app, &files(&done)[0], "audio/mpeg").await;
    assert!(is_mp3(&audio), "not an MP3: {:02x?}", &audio[..4.min(audio.len())]);
    assert_eq!(done["output"]["format"], "mp3_44100_128");
    assert_eq!(endpoints(&app), ["elevenlabs.tts"]);
    app.stop().await;
}

#[tokio::test]
async fn webhooks_carry_working_links_to_the_files() {
    let app = TestApp::spawn().await;
    let receiver = electrons_tests::Receiver::start().await;
    let (status, job) = app
        .submit(&json!({ "model": "flash-nano-banana", "input": { "prompt": "Sent by webhook" }, "webhook": receiver.url("/hook") }))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let received = receiver.wait_for(1, FINISH).await;
    let sent = &received[0].json;
    assert_eq!(sent["status"], "succeeded", "{sent}");
    assert!(download(&app, &files(sent)[0], "image/png").await.starts_with(PNG));
    receiver.stop();
    app.stop().await;
}

#[tokio::test]
async fn stock_search_keeps_results_and_copies_the_chosen_files() {
    let app = TestApp::spawn().await;
    let videos = run(
        &app,
        json!({ "model": "pexels-videos", "input": { "query": "ocean waves", "orientation": "landscape", "per_page": 5, "download": 2 } }),
    )
    .await;
    assert_eq!(
        videos["output"]["results"].as_array().map(Vec::len),
        Some(5),
        "{videos}"
    );
    assert_eq!(files(&videos).len(), 2);
    for file in files(&videos) {
        assert!(is_mp4(&download(&app, file, "video/mp4").await));
    }
    let photos = run(
        &app,
        json!({ "model": "pexels-photos", "input": { "query": "mountains" } }),
    )
    .await;
    assert_eq!(files(&photos).len(), 1, "one file unless asked: {photos}");
    let photo = download(&app, &files(&photos)[0], "image/jpeg").await;
    assert!(photo.starts_with(&[0xFF, 0xD8, 0xFF]));
    assert!(photos["output"]["results"][0]["photographer"].is_string(), "{photos}");
    app.stop().await;
}

fn timeline(text: &str) -> Value {
    json!({ "tracks": [{ "clips": [
        { "asset": { "type": "title", "text": text }, "start": 0, "length": 2 }
    ] }] })
}

#[tokio::test]
async fn renders_are_polled_until_done_without_holding_a_worker() {
    let app = TestApp::spawn().await;
    app.sim.controls().set_operation_duration(Duration::from_millis(1500));
    let (status, job) = app
        .submit(&json!({ "model": "shotstack-render", "input": { "timeline": timeline("Hello"), "output": { "format": "mp4", "resolution": "sd" } } }))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().expect("id");
    // While Shotstack renders, the job is running with its operation and no lease.
    let deadline = tokio::time::Instant::now() + FINISH;
    let waiting = loop {
        let job = app.job_as(&app.api_key, id).await;
        if job["operation"]["id"].is_string() {
            break job;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never waited on an operation: {job}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(waiting["status"], "running");
    let leased: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT lease_until FROM jobs WHERE operation IS NOT NULL")
            .fetch_one(&app.pool)
            .await
            .expect("lease");
    assert!(leased.is_none(), "a job waiting on its provider holds no lease");

    let done = app.wait_finished(id, FINISH).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(done.get("operation").is_none(), "{done}");
    assert!(is_mp4(&download(&app, &files(&done)[0], "video/mp4").await));
    let seen = endpoints(&app);
    assert_eq!(seen.iter().filter(|e| *e == "shotstack.render").count(), 1, "{seen:?}");
    assert!(
        seen.iter().filter(|e| *e == "shotstack.status").count() >= 2,
        "{seen:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_stale_poll_message_cannot_poll_out_of_turn() {
    let app = TestApp::spawn().await;
    app.sim.controls().set_operation_duration(Duration::from_secs(60));
    let (_, job) = app
        .submit(&json!({ "model": "shotstack-render", "input": { "timeline": timeline("Slow") } }))
        .await;
    let id: electrons_domain::ids::JobId = job["id"].as_str().expect("id").parse().expect("job id");
    let deadline = tokio::time::Instant::now() + FINISH;
    // Once it has been polled, a poll message is waiting its turn (poll_at set).
    let (attempt, seq) = loop {
        let row: Option<(i32, i32)> = sqlx::query_as(
            "SELECT attempt, poll_seq FROM jobs WHERE id = $1 AND poll_seq > 0 AND poll_at > now() + interval '100 ms'",
        )
        .bind(id.0)
        .fetch_optional(&app.pool)
        .await
        .expect("job");
        if let Some(row) = row {
            break row;
        }
        assert!(tokio::time::Instant::now() < deadline, "never polled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let stale = electrons_domain::db::polls::claim_poll(&app.pool, id, attempt, seq - 1, Duration::from_secs(5))
        .await
        .expect("claim");
    assert!(stale.is_none(), "an earlier poll message took the poll");
    app.stop().await;
}

#[tokio::test]
async fn veo_videos_are_polled_then_fetched_with_the_key() {
    let app = TestApp::spawn().await;
    app.sim.controls().set_operation_duration(Duration::from_millis(600));
    let done = run(
        &app,
        json!({ "model": "veo-3.1", "input": { "prompt": "A drone shot of a glacier", "duration_seconds": 8, "aspect_ratio": "16:9" } }),
    )
    .await;
    assert!(is_mp4(&download(&app, &files(&done)[0], "video/mp4").await));
    let seen = endpoints(&app);
    assert_eq!(
        seen.iter().filter(|e| *e == "gemini.predict_long_running").count(),
        1,
        "{seen:?}"
    );
    assert!(seen.contains(&"gemini.download".to_string()), "{seen:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_render_the_provider_fails_says_why() {
    let app = TestApp::spawn().await;
    let reason = "Asset at https://example.com/missing.mp4 could not be downloaded";
    let (_, job) = app
        .submit(&json!({ "model": "shotstack-render", "input": { "timeline": timeline(&format!("[[sim:operation_fail={reason}]]")) } }))
        .await;
    let done = app.wait_finished(job["id"].as_str().expect("id"), FINISH).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "provider_operation_failed");
    assert_eq!(done["error"]["retryable"], false);
    let message = done["error"]["message"].as_str().expect("message");
    assert!(message.contains(reason), "{message}");
    app.stop().await;
}

#[tokio::test]
async fn an_output_link_that_is_gone_fails_the_job_clearly() {
    let app = TestApp::spawn().await;
    let (_, job) = app
        .submit(&json!({ "model": "ideogram-v2", "input": { "prompt": "A cat [[sim:file_404]]" } }))
        .await;
    let done = app.wait_finished(job["id"].as_str().expect("id"), FINISH).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "output_unavailable");
    assert_eq!(done["error"]["provider_status"], 404);
    assert_eq!(done["attempts"], 1, "a 404 will not come back: {done}");
    assert!(
        done["error"]["message"].as_str().expect("message").contains("404"),
        "{done}"
    );
    assert_eq!(stored_files(&app), 0);
    app.stop().await;
}

#[tokio::test]
async fn an_output_over_the_size_cap_fails_the_job_and_keeps_nothing() {
    let mut app = TestApp::with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    app.settings.storage.max_output_bytes = 64 * 1024;
    app.start_worker();
    let (_, job) = app
        .submit(&json!({ "model": "dall-e-2", "input": { "prompt": "A big one [[sim:file_bytes=1000000]]" } }))
        .await;
    let done = app.wait_finished(job["id"].as_str().expect("id"), FINISH).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "output_too_large");
    assert!(
        done["error"]["message"].as_str().expect("message").contains("65536"),
        "{done}"
    );
    assert_eq!(stored_files(&app), 0);
    app.stop().await;
}

/// Files in the app's local store (its signing key aside).
fn stored_files(app: &TestApp) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .flatten()
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() {
                        count(&path)
                    } else {
                        usize::from(!e.file_name().to_string_lossy().starts_with('.'))
                    }
                })
                .sum()
        })
    }
    count(&app.settings.storage.local_dir)
}

#[tokio::test]
async fn retention_deletes_outputs_and_marks_them() {
    let mut app = TestApp::with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    app.settings.storage.retention = Some(Duration::from_secs(3));
    app.start_worker();
    let done = run(
        &app,
        json!({ "model": "flash-nano-banana", "input": { "prompt": "Short-lived" } }),
    )
    .await;
    let link = files(&done)[0]["url"].as_str().expect("url").to_string();
    assert_eq!(app.http.get(&link).send().await.expect("get").status(), StatusCode::OK);
    assert_eq!(stored_files(&app), 1);

    let deadline = tokio::time::Instant::now() + FINISH;
    let expired = loop {
        let job = app.job_as(&app.api_key, done["id"].as_str().expect("id")).await;
        if job["output"]["files"][0]["deleted_at"].is_string() {
            break job;
        }
        assert!(tokio::time::Instant::now() < deadline, "never deleted: {job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let file = &files(&expired)[0];
    assert!(file["url"].is_null(), "{file}");
    assert_eq!(file["sha256"], files(&done)[0]["sha256"], "the description stays");
    assert_eq!(stored_files(&app), 0);
    assert_eq!(
        app.http.get(&link).send().await.expect("get").status(),
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

#[tokio::test]
async fn outputs_go_to_s3_with_presigned_links() {
    let app = TestApp::with(Options {
        s3: true,
        ..Options::default()
    })
    .await;
    let image = run(
        &app,
        json!({ "model": "ideogram-v2", "input": { "prompt": "Into the bucket" } }),
    )
    .await;
    let file = &files(&image)[0];
    assert!(file["url"].as_str().expect("url").contains("X-Amz-Signature"), "{file}");
    assert!(download(&app, file, "image/png").await.starts_with(PNG));

    app.sim.controls().set_operation_duration(Duration::from_millis(300));
    let video = run(
        &app,
        json!({ "model": "veo-3.1", "input": { "prompt": "A bucket of video" } }),
    )
    .await;
    assert!(is_mp4(&download(&app, &files(&video)[0], "video/mp4").await));
    let speech = run(
        &app,
        json!({ "model": "multilingual-v2", "input": { "text": "Stored in S3." } }),
    )
    .await;
    assert!(is_mp3(&download(&app, &files(&speech)[0], "audio/mpeg").await));
    assert_eq!(stored_files(&app), 0, "nothing in the local directory");
    app.stop().await;
}

#[tokio::test]
async fn polled_jobs_survive_a_worker_killed_mid_poll() {
    let mut app = TestApp::with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    // A poll's lease covers the provider timeout (5 s here) and the download time.
    app.settings.storage.download_timeout = Duration::from_secs(1);
    app.sim.controls().set_operation_duration(Duration::from_secs(3));
    let mut worker =
        electrons_tests::WorkerProcess::start_for(crate::ELECTRONS, &app.settings, "video", 4).expect("worker");
    let (_, job) = app
        .submit(&json!({ "model": "shotstack-render", "input": { "timeline": timeline("Survivor") } }))
        .await;
    let id = job["id"].as_str().expect("id");
    let deadline = tokio::time::Instant::now() + FINISH;
    while !app.job_as(&app.api_key, id).await["operation"]["id"].is_string() {
        assert!(tokio::time::Instant::now() < deadline, "never submitted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The next call to the provider — the first poll — never answers; the worker
    // dies while waiting for it.
    app.sim.controls().push_script([electrons_simulator::Fault::Hang]);
    while !endpoints(&app).iter().any(|e| e == "shotstack.status") {
        assert!(tokio::time::Instant::now() < deadline, "never polled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    worker.kill().await;
    let mut replacement =
        electrons_tests::WorkerProcess::start_for(crate::ELECTRONS, &app.settings, "video", 4).expect("worker");
    let done = app.wait_finished(id, FINISH).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 1, "{done}");
    assert!(is_mp4(&download(&app, &files(&done)[0], "video/mp4").await));
    let seen = endpoints(&app);
    assert_eq!(
        seen.iter().filter(|e| *e == "shotstack.render").count(),
        1,
        "the render was submitted once and polled again after the kill: {seen:?}"
    );
    assert!(
        seen.iter().filter(|e| *e == "shotstack.status").count() >= 2,
        "{seen:?}"
    );
    replacement.kill().await;
    app.stop().await;
}

#[tokio::test]
async fn each_modality_refuses_bad_input_naming_the_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({ "model": "dall-e-3", "input": { "prompt": "x", "n": 2 } }),
            "input.n",
        ),
        (
            json!({ "model": "dall-e-2", "input": { "prompt": "x", "size": "1792x1024" } }),
            "input.size",
        ),
        (
            json!({ "model": "ideogram-v2", "input": { "prompt": "x", "size": "1024x1024" } }),
            "input.size",
        ),
        (
            json!({ "model": "flash-nano-banana", "input": { "prompt": " " } }),
            "input.prompt",
        ),
        (
            json!({ "model": "multilingual-v2", "input": { "text": "hi", "format": "wav" } }),
            "input.format",
        ),
        (
            json!({ "model": "multilingual-v2", "input": { "voice": "Rachel!" , "text": "hi" } }),
            "input.voice",
        ),
        (
            json!({ "model": "pexels-videos", "input": { "query": "sea", "per_page": 200 } }),
            "input.per_page",
        ),
        (
            json!({ "model": "pexels-photos", "input": { "query": "sea", "orientation": "diagonal" } }),
            "input.orientation",
        ),
        (
            json!({ "model": "shotstack-render", "input": { "timeline": { "tracks": [] } } }),
            "input.timeline.tracks",
        ),
        (
            json!({ "model": "shotstack-render", "input": { "timeline": { "tracks": [{ "clips": [{ "asset": { "type": "video", "src": "https://example.com/a.mp4" }, "start": 0, "length": -1 }] }] } } }),
            "input.timeline.tracks[0].clips[0].length",
        ),
        (
            json!({ "model": "veo-3.1", "input": { "prompt": "x", "duration_seconds": 5 } }),
            "input.duration_seconds",
        ),
        (
            json!({ "model": "veo-3.1", "input": { "prompt": "x", "aspect_ratio": "4:3" } }),
            "input.aspect_ratio",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = app.submit(&body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
        assert!(error["error"]["message"].is_string());
    }
    assert_eq!(app.job_rows().await, 0, "nothing was written");
    assert_eq!(app.sim.controls().request_count(), 0);
    app.stop().await;
}
