//! The simulated model: a deterministic echo, and a token count good enough for
//! usage figures. Deterministic so tests and the benchmark can assert on output.

use serde_json::Value;

use crate::directives::strip;

/// How much of the prompt the reply echoes, in characters.
const ECHO_CHARS: usize = 200;

/// Rough token count: a token is about four characters of English.
pub fn tokens(text: &str) -> u64 {
    chars(text).div_ceil(4)
}

/// What the simulated model answers.
#[derive(Debug, PartialEq)]
pub struct Reply {
    pub text: String,
    pub tokens: u64,
    /// True when `max_tokens` cut the text short.
    pub cut: bool,
}

/// `Simulated reply from {model}: {prompt}` (directives removed, 200 characters
/// at most), cut to `max_tokens * 4` characters when it would exceed `max_tokens`.
pub fn reply(model: &str, prompt: &str, max_tokens: Option<u64>) -> Reply {
    let echo: String = strip(prompt).chars().take(ECHO_CHARS).collect();
    let mut text = format!("Simulated reply from {model}: {echo}");
    let limit = max_tokens.unwrap_or(u64::MAX);
    let cut = tokens(&text) > limit;
    if cut {
        let keep = usize::try_from(limit.saturating_mul(4)).unwrap_or(usize::MAX);
        if let Some((index, _)) = text.char_indices().nth(keep) {
            text.truncate(index);
        }
    }
    Reply {
        tokens: tokens(&text),
        text,
        cut,
    }
}

/// The text of a message's content, leniently: a string, or the `text` of every
/// text part/block in a list. Used to record and echo prompts, not to validate.
pub fn plain_text(content: &Value) -> Option<String> {
    match content {
        Value::String(text) => Some(text.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter(|part| part.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|part| part.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        _ => None,
    }
}

/// The last `role: "user"` message's text; where directives and the echo come from.
pub fn last_user_text(messages: Option<&Value>) -> Option<String> {
    messages?
        .as_array()?
        .iter()
        .rev()
        .find(|message| message.get("role").and_then(Value::as_str) == Some("user"))
        .and_then(|message| message.get("content"))
        .and_then(plain_text)
}

/// The system prompt: OpenAI's `system` (or `developer`) messages, or
/// Anthropic's top-level `system`, string or text blocks.
pub fn system_text(body: Option<&Value>) -> Option<String> {
    let body = body?;
    if let Some(system) = body.get("system") {
        return plain_text(system);
    }
    let parts: Vec<String> = body
        .get("messages")?
        .as_array()?
        .iter()
        .filter(|m| matches!(m.get("role").and_then(Value::as_str), Some("system" | "developer")))
        .filter_map(|m| m.get("content").and_then(plain_text))
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n"))
}

fn chars(text: &str) -> u64 {
    u64::try_from(text.chars().count()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tokens_round_up() {
        assert_eq!(tokens(""), 0);
        assert_eq!(tokens("abcd"), 1);
        assert_eq!(tokens("abcde"), 2);
        assert_eq!(tokens("ééééé"), 2, "characters, not bytes");
    }

    #[test]
    fn the_reply_echoes_without_directives() {
        let reply = reply("m", "hello [[sim:latency=5]]", None);
        assert_eq!(reply.text, "Simulated reply from m: hello");
        assert_eq!((reply.tokens, reply.cut), (8, false));
    }

    #[test]
    fn the_echo_is_at_most_200_characters() {
        let reply = reply("m", &"x".repeat(500), None);
        assert_eq!(reply.text.chars().count(), "Simulated reply from m: ".len() + 200);
    }

    #[test]
    fn max_tokens_cuts_the_text() {
        let reply = reply("m", "hello", Some(2));
        assert_eq!(reply.text, "Simulate");
        assert_eq!((reply.tokens, reply.cut), (2, true));
        let exact = super::reply("m", "abcd", Some(7)); // 28 characters, 7 tokens
        assert!(!exact.cut);
    }

    #[test]
    fn the_last_user_message_is_the_prompt() {
        let messages = json!([
            { "role": "user", "content": "first" },
            { "role": "user", "content": [{ "type": "image", "source": {} }, { "type": "text", "text": "a" }, { "type": "text", "text": "b" }] },
            { "role": "assistant", "content": "reply" },
        ]);
        assert_eq!(last_user_text(Some(&messages)).as_deref(), Some("a\nb"));
        assert_eq!(last_user_text(Some(&json!("nope"))), None);
    }
}
