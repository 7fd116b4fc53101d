//! Answers streamed as server-sent events, the way OpenAI and Anthropic stream
//! text: the reply cut into pieces (a word and the space after it), each piece
//! its own event, `[[sim:token_ms=N]]` apart when the prompt asks.

use std::{convert::Infallible, time::Duration};

use axum::{
    body::{Body, Bytes},
    http::{header, HeaderValue},
    response::Response,
};
use futures::StreamExt;
use serde_json::Value;

/// One event: its `event:` name, if the API names them (Anthropic), and its data.
pub struct Event {
    pub name: Option<&'static str>,
    pub data: String,
}

impl Event {
    /// An unnamed `data:` event (OpenAI's).
    pub fn data(data: &Value) -> Self {
        Self {
            name: None,
            data: data.to_string(),
        }
    }

    /// A named event whose data is JSON (Anthropic's).
    pub fn named(name: &'static str, data: &Value) -> Self {
        Self {
            name: Some(name),
            data: data.to_string(),
        }
    }

    fn encode(&self) -> Bytes {
        let mut text = String::with_capacity(self.data.len() + 24);
        if let Some(name) = self.name {
            text.push_str("event: ");
            text.push_str(name);
            text.push('\n');
        }
        text.push_str("data: ");
        text.push_str(&self.data);
        text.push_str("\n\n");
        Bytes::from(text)
    }
}

/// The reply in the pieces it streams in: each word with the whitespace after it.
pub fn pieces(text: &str) -> Vec<&str> {
    text.split_inclusive(char::is_whitespace).collect()
}

/// A `text/event-stream` answer sending `events` in order, `gap` apart.
pub fn response(events: Vec<Event>, gap: Duration) -> Response {
    let stream = futures::stream::iter(events.into_iter().enumerate()).then(move |(index, event)| async move {
        if index > 0 && !gap.is_zero() {
            tokio::time::sleep(gap).await;
        }
        Ok::<_, Infallible>(event.encode())
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_add_up_to_the_text() {
        let text = "Simulated reply from m: hello  there\nfriend";
        let pieces = pieces(text);
        assert_eq!(pieces.concat(), text);
        assert_eq!(pieces[0], "Simulated ");
        assert!(pieces.len() > 4);
    }

    #[test]
    fn events_are_framed_as_the_apis_frame_them() {
        let named = Event::named("ping", &serde_json::json!({"type": "ping"})).encode();
        assert_eq!(&named[..], b"event: ping\ndata: {\"type\":\"ping\"}\n\n");
        let data = Event::data(&serde_json::json!(1)).encode();
        assert_eq!(&data[..], b"data: 1\n\n");
    }
}
