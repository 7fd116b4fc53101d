//! What can go wrong with a request, and how a prompt asks for it itself.
//!
//! A prompt may carry one directive — `[[sim:status=500]]`, `[[sim:429=3]]`,
//! `[[sim:hang]]`, `[[sim:malformed]]`, `[[sim:latency=1500]]` — so a single job
//! can misbehave without touching the simulator's global switches. Which fault
//! wins when several apply is decided in `controls.rs`, not here.

use serde::{Deserialize, Serialize};

const OPEN: &str = "[[sim:";
const CLOSE: &str = "]]";

/// One way a provider call can fail (or be slow).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer with this status and the provider's own error body.
    Status { status: u16 },
    /// 429 with `retry-after: N` and the provider's rate-limit body.
    RateLimit { retry_after_secs: u64 },
    /// Never answer: hold the connection until the client gives up or the simulator stops.
    Hang,
    /// 200 with a body that is not the endpoint's JSON (truncated).
    Malformed,
    /// Wait this long, then answer normally.
    Latency { ms: u64 },
}

/// The fault named by the first well-formed directive in `prompt`, if any.
///
/// An unknown or badly written directive is ignored rather than rejected: the
/// real provider would not know about directives at all, so the request goes on
/// as a normal one.
pub fn directive(prompt: &str) -> Option<Fault> {
    directives(prompt).find_map(parse)
}

/// The prompt without any directive, as the simulated reply echoes it.
pub fn strip_directives(prompt: &str) -> String {
    let mut rest = prompt;
    let mut kept = String::with_capacity(prompt.len());
    while let Some((start, end)) = next_span(rest) {
        kept.push_str(&rest[..start]);
        rest = &rest[end..];
    }
    kept.push_str(rest);
    kept.trim().to_string()
}

/// The bodies (`status=500`) of every `[[sim:…]]` in `prompt`.
fn directives(prompt: &str) -> impl Iterator<Item = &str> {
    let mut rest = prompt;
    std::iter::from_fn(move || {
        let (start, end) = next_span(rest)?;
        let body = &rest[start + OPEN.len()..end - CLOSE.len()];
        rest = &rest[end..];
        Some(body)
    })
}

/// Byte range of the next complete directive, `[[sim:` through `]]`.
fn next_span(text: &str) -> Option<(usize, usize)> {
    let start = text.find(OPEN)?;
    let close = text[start + OPEN.len()..].find(CLOSE)?;
    Some((start, start + OPEN.len() + close + CLOSE.len()))
}

fn parse(body: &str) -> Option<Fault> {
    let (name, value) = match body.split_once('=') {
        Some((name, value)) => (name.trim(), Some(value.trim())),
        None => (body.trim(), None),
    };
    match (name, value) {
        ("status", Some(v)) => {
            let status = v.parse::<u16>().ok().filter(|s| (400..=599).contains(s))?;
            Some(Fault::Status { status })
        }
        ("429", v) => Some(Fault::RateLimit {
            retry_after_secs: v.map_or(Some(1), |v| v.parse().ok())?,
        }),
        ("hang", None) => Some(Fault::Hang),
        ("malformed", None) => Some(Fault::Malformed),
        ("latency", Some(v)) => Some(Fault::Latency { ms: v.parse().ok()? }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_directive_parses() {
        assert_eq!(directive("hi [[sim:status=500]]"), Some(Fault::Status { status: 500 }));
        assert_eq!(
            directive("[[sim:429=3]] x"),
            Some(Fault::RateLimit { retry_after_secs: 3 })
        );
        assert_eq!(directive("[[sim:429]]"), Some(Fault::RateLimit { retry_after_secs: 1 }));
        assert_eq!(directive("[[sim:hang]]"), Some(Fault::Hang));
        assert_eq!(directive("[[sim:malformed]]"), Some(Fault::Malformed));
        assert_eq!(directive("[[sim:latency=1500]]"), Some(Fault::Latency { ms: 1500 }));
        assert_eq!(directive("[[sim: status = 529 ]]"), Some(Fault::Status { status: 529 }));
    }

    #[test]
    fn nonsense_is_ignored() {
        assert_eq!(directive("plain prompt"), None);
        assert_eq!(directive("[[sim:nonsense]]"), None);
        assert_eq!(directive("[[sim:status=abc]]"), None);
        assert_eq!(directive("[[sim:status=200]]"), None, "not a fault");
        assert_eq!(directive("[[sim:status=70000]]"), None);
        assert_eq!(directive("[[sim:latency]]"), None);
        assert_eq!(directive("[[sim:hang"), None, "unterminated");
    }

    #[test]
    fn the_first_valid_directive_wins() {
        assert_eq!(
            directive("[[sim:bogus]] [[sim:hang]] [[sim:malformed]]"),
            Some(Fault::Hang)
        );
    }

    #[test]
    fn directives_are_cut_from_the_echo() {
        assert_eq!(strip_directives("hi [[sim:hang]] there"), "hi  there");
        assert_eq!(strip_directives("[[sim:429=3]] a [[sim:x]]b"), "a b");
        assert_eq!(strip_directives("no directive ]] [["), "no directive ]] [[");
        assert_eq!(strip_directives("open [[sim:hang"), "open [[sim:hang");
    }
}
