//! Pexels search: videos (`GET /videos/search`) or photos (`GET /v1/search`),
//! with the bare key in `Authorization`. Results are normalized to one shape per
//! kind; the files of the first `download` results are copied into storage.

use std::time::Duration;

use chrono::{DateTime, Utc};
use electrons_domain::{
    answer::{Answer, AnswerFile},
    catalog::Api,
    limiter::Observation,
};
use reqwest::{header::HeaderMap, RequestBuilder};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::{
    adapter::{Adapter, Call, Produced, Reader},
    outputs::{link, Outputs},
    provider_call::{ProviderError, ProviderResponse},
    rate_limit_headers::{number, window},
};

/// Both searches: the model's API says which.
pub struct PexelsSearch;

/// The widest rendition copied for a video: enough for 1080p edits, far smaller than 4K.
const MAX_VIDEO_WIDTH: u64 = 1920;

#[derive(Deserialize)]
struct Page {
    page: Option<u64>,
    per_page: Option<u64>,
    total_results: Option<u64>,
    #[serde(default)]
    videos: Vec<Video>,
    #[serde(default)]
    photos: Vec<Photo>,
}

#[derive(Deserialize)]
struct Video {
    id: u64,
    width: Option<u64>,
    height: Option<u64>,
    duration: Option<u64>,
    url: Option<String>,
    image: Option<String>,
    user: Option<Value>,
    #[serde(default)]
    video_files: Vec<VideoFile>,
}

#[derive(Clone, Deserialize, serde::Serialize)]
struct VideoFile {
    quality: Option<String>,
    file_type: Option<String>,
    width: Option<u64>,
    height: Option<u64>,
    link: String,
}

#[derive(Deserialize)]
struct Photo {
    id: u64,
    width: Option<u64>,
    height: Option<u64>,
    url: Option<String>,
    photographer: Option<String>,
    photographer_url: Option<String>,
    alt: Option<String>,
    avg_color: Option<String>,
    src: Map<String, Value>,
}

impl Adapter for PexelsSearch {
    fn apis(&self) -> &'static [Api] {
        &[Api::PexelsVideos, Api::PexelsPhotos]
    }

    fn request(&self, call: &Call) -> Result<RequestBuilder, ProviderError> {
        let input = call.stock()?;
        let videos = call.model.api == Api::PexelsVideos;
        let path = if videos { "videos/search" } else { "v1/search" };
        let mut query: Vec<(&str, String)> = vec![
            ("query", input.query.clone()),
            ("page", input.page().to_string()),
            ("per_page", input.per_page().to_string()),
        ];
        for (name, value) in [("orientation", &input.orientation), ("size", &input.size)] {
            if let Some(value) = value {
                query.push((name, value.clone()));
            }
        }
        if videos {
            for (name, value) in [
                ("min_duration", input.min_duration),
                ("max_duration", input.max_duration),
            ] {
                if let Some(value) = value {
                    query.push((name, value.to_string()));
                }
            }
        }
        Ok(call
            .http
            .get(call.url(path))
            .query(&query)
            .header("Authorization", call.key.expose()))
    }

    fn reader(&self) -> Reader {
        Reader::Whole(results)
    }

    fn rate_limits(&self, headers: &HeaderMap) -> Observation {
        rate_limits_in(headers, Utc::now())
    }
}

fn results(call: &Call, response: &ProviderResponse) -> Result<Produced, ProviderError> {
    let input = call.stock()?;
    let page: Page = serde_json::from_slice(&response.body)
        .map_err(|e| response.unusable(format!("not a search result: {e}"), call.key))?;
    let videos = call.model.api == Api::PexelsVideos;
    let wanted = input.download() as usize;
    let (results, sources) = if videos {
        video_results(page.videos, wanted)
    } else {
        photo_results(page.photos, wanted)
    };
    let mut details = Map::new();
    details.insert("page".into(), json!(page.page));
    details.insert("per_page".into(), json!(page.per_page));
    details.insert("total_results".into(), json!(page.total_results));
    details.insert("results".into(), Value::Array(results));
    Ok(Produced::Files(Outputs::answered(Answer::new(
        sources,
        details,
        response.request_id(),
    ))))
}

fn video_results(videos: Vec<Video>, wanted: usize) -> (Vec<Value>, Vec<AnswerFile>) {
    let mut sources = Vec::new();
    let results = videos
        .into_iter()
        .map(|video| {
            let file = best_rendition(&video.video_files);
            if let Some(file) = file.as_ref().filter(|_| sources.len() < wanted) {
                sources.push(link(
                    format!("video-{}.mp4", video.id),
                    file.file_type.clone().unwrap_or_else(|| "video/mp4".into()),
                    file.link.clone(),
                ));
            }
            json!({
                "id": video.id,
                "width": video.width,
                "height": video.height,
                "duration": video.duration,
                "url": video.url,
                "image": video.image,
                "user": video.user,
                "file": file,
            })
        })
        .collect();
    (results, sources)
}

/// The widest MP4 no wider than `MAX_VIDEO_WIDTH`, else the narrowest there is.
fn best_rendition(files: &[VideoFile]) -> Option<VideoFile> {
    let mp4 = || {
        files
            .iter()
            .filter(|f| f.file_type.as_deref().is_none_or(|t| t == "video/mp4"))
    };
    mp4()
        .filter(|f| f.width.unwrap_or(0) <= MAX_VIDEO_WIDTH)
        .max_by_key(|f| f.width.unwrap_or(0))
        .or_else(|| mp4().min_by_key(|f| f.width.unwrap_or(u64::MAX)))
        .cloned()
}

fn photo_results(photos: Vec<Photo>, wanted: usize) -> (Vec<Value>, Vec<AnswerFile>) {
    let mut sources = Vec::new();
    let results = photos
        .into_iter()
        .map(|photo| {
            let original = photo.src.get("original").and_then(Value::as_str);
            if let Some(original_link) = original.filter(|_| sources.len() < wanted) {
                let extension = extension_of(original_link).unwrap_or("jpeg");
                sources.push(link(
                    format!("photo-{}.{extension}", photo.id),
                    electrons_domain::storage::content_type_of(&format!("x.{extension}")).to_string(),
                    original_link.to_string(),
                ));
            }
            json!({
                "id": photo.id,
                "width": photo.width,
                "height": photo.height,
                "url": photo.url,
                "photographer": photo.photographer,
                "photographer_url": photo.photographer_url,
                "alt": photo.alt,
                "avg_color": photo.avg_color,
                "src": photo.src,
            })
        })
        .collect();
    (results, sources)
}

/// `jpeg` for `…/pexels-photo-1.jpeg?auto=compress`.
fn extension_of(link: &str) -> Option<&'static str> {
    let path = link.split(['?', '#']).next()?.to_ascii_lowercase();
    ["jpeg", "jpg", "png", "webp"]
        .into_iter()
        .find(|ext| path.ends_with(&format!(".{ext}")))
}

/// Pexels' `X-Ratelimit-{Limit,Remaining,Reset}`: requests left in the
/// account's monthly period, which resets at an epoch second. The monthly limit
/// is no per-minute rate, so only what remains (and when it comes back) is used:
/// when nothing remains, the fleet stops asking until the reset.
fn rate_limits_in(headers: &HeaderMap, now: DateTime<Utc>) -> Observation {
    let reset = number(headers, "x-ratelimit-reset")
        .and_then(|epoch| DateTime::from_timestamp(epoch as i64, 0))
        .map(|at| (at - now).to_std().unwrap_or(Duration::ZERO));
    Observation {
        requests: window(None, number(headers, "x-ratelimit-remaining"), reset),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(width: u64) -> VideoFile {
        VideoFile {
            quality: None,
            file_type: Some("video/mp4".into()),
            width: Some(width),
            height: None,
            link: format!("https://cdn/{width}.mp4"),
        }
    }

    #[test]
    fn picks_the_widest_rendition_up_to_1080p() {
        let files = [file(640), file(3840), file(1920), file(1280)];
        assert_eq!(best_rendition(&files).map(|f| f.width), Some(Some(1920)));
        assert_eq!(
            best_rendition(&[file(3840), file(2560)]).map(|f| f.width),
            Some(Some(2560))
        );
        assert!(best_rendition(&[]).is_none());
        assert_eq!(
            extension_of("https://images.pexels.com/p/1.jpeg?auto=compress"),
            Some("jpeg")
        );
    }

    #[test]
    fn reads_what_remains_of_the_month() {
        use reqwest::header::{HeaderMap, HeaderValue};

        let now = DateTime::from_timestamp(1_000_000, 0).expect("time");
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-limit", HeaderValue::from_static("20000"));
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("1003600"));
        let seen = rate_limits_in(&headers, now).requests.expect("requests");
        assert_eq!(seen.limit, None);
        assert_eq!(seen.remaining, Some(0.0));
        assert_eq!(seen.reset, Some(Duration::from_secs(3600)));
        assert!(rate_limits_in(&HeaderMap::new(), now).is_empty());
    }
}
