//! What can go wrong with a request, and how a prompt asks for it itself.
//!
//! A prompt may carry one directive — `[[sim:status=500]]`, `[[sim:429=3]]`,
//! `[[sim:hang]]`, `[[sim:malformed]]`, `[[sim:latency=1500]]` — so a single job
//! can misbehave without touching the simulator's global switches. The directive
//! syntax is `directives.rs`'s; which fault wins when several apply is decided in
//! `controls.rs`, not here.

use serde::{Deserialize, Serialize};

use crate::directives::directives;

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

/// The fault named by the first well-formed fault directive in `prompt`, if any.
///
/// An unknown or badly written directive is ignored rather than rejected: the
/// real provider would not know about directives at all, so the request goes on
/// as a normal one. Directives that shape outputs (`directives.rs`) are skipped.
pub fn directive(prompt: &str) -> Option<Fault> {
    directives(prompt).find_map(|(name, value)| parse(name, value))
}

fn parse(name: &str, value: Option<&str>) -> Option<Fault> {
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
        assert_eq!(
            directive("[[sim:file_404]] [[sim:operation_ms=5]] [[sim:status=502]]"),
            Some(Fault::Status { status: 502 }),
            "output directives are not faults"
        );
    }
}
