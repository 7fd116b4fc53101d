//! Pexels video and photo search: deterministic results whose links serve real
//! MP4s and JPEGs, Pexels's quota headers and error shape.

use electrons_simulator::{Fault, SimulatorHandle};
use serde_json::{json, Value};

use crate::{
    fetch,
    formats::{assert_jpeg, assert_mp4},
    send, spawn_simulator, Seen,
};

async fn search(sim: &SimulatorHandle, path: &str, query: &[(&str, &str)]) -> Seen {
    let request = reqwest::Client::new()
        .get(format!("{}{path}", sim.base_url()))
        .header("Authorization", "pexels-test-key")
        .query(query);
    send(request).await
}

fn ids(body: &Value, kind: &str) -> Vec<u64> {
    body[kind]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["id"].as_u64())
        .collect()
}

#[tokio::test]
async fn video_search_links_real_mp4s() {
    let sim = spawn_simulator().await;
    let query = [("query", "ocean waves"), ("orientation", "portrait"), ("per_page", "3")];
    let seen = search(&sim, "/videos/search", &query).await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert_eq!(seen.header("x-ratelimit-limit"), Some("20000"));
    assert!(seen.header("x-ratelimit-remaining").is_some());
    assert!(seen
        .header("x-ratelimit-reset")
        .and_then(|r| r.parse::<i64>().ok())
        .is_some_and(|r| r > chrono::Utc::now().timestamp()));
    let body = seen.json();
    assert_eq!((&body["page"], &body["per_page"]), (&json!(1), &json!(3)));
    assert!(body["total_results"].as_u64().is_some_and(|t| t >= 40));
    assert_eq!(body["url"], "https://www.pexels.com/search/videos/ocean%20waves/");
    assert!(body["next_page"]
        .as_str()
        .is_some_and(|n| n.contains("page=2") && n.contains("query=ocean+waves")));
    let video = &body["videos"][0];
    assert!(video["height"].as_u64() > video["width"].as_u64(), "portrait");
    assert!(video["user"]["name"].is_string());
    let files = video["video_files"].as_array().expect("video_files");
    assert_eq!(files[0]["quality"], "hd");
    assert_eq!(files[0]["file_type"], "video/mp4");
    let mp4 = fetch(files[0]["link"].as_str().expect("link")).await;
    assert_eq!(mp4.header("content-type"), Some("video/mp4"));
    assert_mp4(&mp4.bytes);
    assert_eq!(files[0]["size"], mp4.bytes.len());
    let thumbnail = fetch(video["image"].as_str().expect("image")).await;
    assert_jpeg(&thumbnail.bytes);

    let again = search(&sim, "/videos/search", &query).await.json();
    assert_eq!(ids(&again, "videos"), ids(&body, "videos"), "deterministic");
    let other = search(&sim, "/videos/search", &[("query", "mountains")]).await.json();
    assert_ne!(ids(&other, "videos")[..3], ids(&body, "videos")[..]);
    assert_eq!(sim.controls().requests()[0].endpoint, "pexels.videos");
    assert_eq!(sim.controls().requests()[0].prompt.as_deref(), Some("ocean waves"));
}

#[tokio::test]
async fn photo_search_links_real_jpegs() {
    let sim = spawn_simulator().await;
    let seen = search(&sim, "/v1/search", &[("query", "red bicycle"), ("per_page", "200")]).await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    let body = seen.json();
    assert_eq!(body["per_page"], 80, "at most 80 a page");
    let photo = &body["photos"][0];
    for field in ["photographer", "photographer_url", "avg_color", "alt", "url"] {
        assert!(photo[field].is_string(), "{field}: {photo}");
    }
    for size in [
        "original",
        "large2x",
        "large",
        "medium",
        "small",
        "portrait",
        "landscape",
        "tiny",
    ] {
        let link = photo["src"][size].as_str().expect("src");
        assert!(link.starts_with(&format!("{}/_sim/files/", sim.base_url())), "{link}");
    }
    let jpeg = fetch(photo["src"]["medium"].as_str().expect("medium")).await;
    assert_eq!(jpeg.header("content-type"), Some("image/jpeg"));
    assert_jpeg(&jpeg.bytes);
    assert_eq!(sim.controls().requests()[0].endpoint, "pexels.photos");
}

#[tokio::test]
async fn refusals_and_faults() {
    let sim = spawn_simulator().await;
    let anonymous = reqwest::Client::new().get(format!("{}/videos/search?query=cats", sim.base_url()));
    let seen = send(anonymous).await;
    assert_eq!(
        (seen.status, seen.json()),
        (401, json!({ "status": 401, "code": "Unauthorized" }))
    );
    let seen = search(&sim, "/v1/search", &[("per_page", "5")]).await;
    assert_eq!(seen.status, 400, "query is required");
    assert_eq!(seen.json()["code"], "Bad Request");

    sim.controls().push_script([Fault::Status { status: 500 }]);
    let seen = search(&sim, "/videos/search", &[("query", "cats")]).await;
    assert_eq!(
        (seen.status, &seen.json()["code"]),
        (500, &json!("Internal Server Error"))
    );
    let seen = search(&sim, "/videos/search", &[("query", "cats [[sim:429=6]]")]).await;
    assert_eq!((seen.status, seen.header("retry-after")), (429, Some("6")));
    assert_eq!(seen.header("x-ratelimit-remaining"), Some("0"));
}

#[tokio::test]
async fn directives_in_the_query_shape_results() {
    let sim = spawn_simulator().await;
    let empty = search(&sim, "/videos/search", &[("query", "cats [[sim:empty]]")])
        .await
        .json();
    assert_eq!((&empty["total_results"], &empty["videos"]), (&json!(0), &json!([])));
    assert_eq!(empty.get("next_page"), None);

    let gone = search(&sim, "/v1/search", &[("query", "cats [[sim:file_404]]")])
        .await
        .json();
    assert_eq!(
        fetch(gone["photos"][0]["src"]["original"].as_str().expect("src"))
            .await
            .status,
        404
    );

    let big = search(&sim, "/videos/search", &[("query", "cats [[sim:file_bytes=70000]]")])
        .await
        .json();
    let file = &big["videos"][0]["video_files"][0];
    assert_eq!(file["size"], 70_000);
    let mp4 = fetch(file["link"].as_str().expect("link")).await;
    assert_eq!(mp4.bytes.len(), 70_000);
    assert_eq!(&mp4.bytes[4..8], b"ftyp");
}
