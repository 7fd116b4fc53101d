//! A simulated provider account's rate limits: one token bucket per limit, each
//! refilling continuously to its per-minute capacity, as Anthropic documents its
//! limits. This module owns the arithmetic (room, charges, when a bucket is full
//! again); how each provider words its standing in headers lives next to that
//! provider, and when a request is charged is the pipeline's business.
//!
//! Each endpoint is a separate account configured from the same [`AccountLimits`]
//! — a real OpenAI account and a real Anthropic one share nothing — and honours
//! only the limits its provider really has (OpenAI has no input/output split).

use std::{
    collections::BTreeMap,
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

/// Per-minute limits for the simulated account; a `None` limit is unlimited and
/// sends no headers. A limit of 0 is taken as 1: a bucket that never refills
/// would make "seconds until room" infinite.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AccountLimits {
    pub requests_per_minute: Option<u64>,
    /// OpenAI-style combined tokens (input plus output).
    pub tokens_per_minute: Option<u64>,
    /// Anthropic-style; OpenAI endpoints ignore it.
    pub input_tokens_per_minute: Option<u64>,
    /// Anthropic-style; OpenAI endpoints ignore it.
    pub output_tokens_per_minute: Option<u64>,
    /// When true, a request beyond the limit gets a 429 with retry-after (seconds until room); when false only the headers are sent.
    pub enforce: bool,
}

/// One kind of per-minute limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    Requests,
    /// Input plus output tokens.
    Tokens,
    InputTokens,
    OutputTokens,
}

impl Limit {
    fn per_minute(self, limits: &AccountLimits) -> Option<u64> {
        match self {
            Self::Requests => limits.requests_per_minute,
            Self::Tokens => limits.tokens_per_minute,
            Self::InputTokens => limits.input_tokens_per_minute,
            Self::OutputTokens => limits.output_tokens_per_minute,
        }
    }

    /// What a request costs this bucket when it is let in. Output is not known
    /// yet then, as at a real provider; it is charged once the reply is built.
    fn on_admission(self, input_tokens: u64) -> u64 {
        match self {
            Self::Requests => 1,
            Self::Tokens | Self::InputTokens => input_tokens,
            Self::OutputTokens => 0,
        }
    }

    fn on_reply(self, output_tokens: u64) -> u64 {
        match self {
            Self::Tokens | Self::OutputTokens => output_tokens,
            Self::Requests | Self::InputTokens => 0,
        }
    }
}

/// Where one bucket stands, as a provider reports it in headers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    pub limit: u64,
    /// Whole units left; 0 while the bucket is in debt.
    pub remaining: u64,
    /// Until the bucket is full again.
    pub full_in: Duration,
}

/// Every bucket an endpoint's account has, in the order of its provider's limits.
pub type Standing = Vec<(Limit, Budget)>;

/// Whether a request may go ahead.
#[derive(Debug, PartialEq)]
pub enum Admission {
    /// Charged; or no limits are set.
    Admitted,
    /// Enforced limits have no room: not charged; retry in this many whole seconds (at least 1).
    Refused { retry_after_secs: u64 },
}

/// The simulator's accounts, one per endpoint, all under the same limits.
#[derive(Default)]
pub struct Account {
    state: Mutex<Option<Configured>>,
}

struct Configured {
    limits: AccountLimits,
    /// Created on an endpoint's first request, full.
    endpoints: BTreeMap<&'static str, Vec<(Limit, Bucket)>>,
}

impl Account {
    /// Replaces the limits; every bucket starts full again.
    pub fn set(&self, limits: Option<AccountLimits>) {
        *self.state() = limits.map(|limits| Configured {
            limits,
            endpoints: BTreeMap::new(),
        });
    }

    pub fn limits(&self) -> Option<AccountLimits> {
        self.state().as_ref().map(|configured| configured.limits.clone())
    }

    /// Lets a request with `input_tokens` in and charges it, unless limits are
    /// enforced and some bucket lacks room for it.
    pub fn admit(&self, endpoint: &'static str, kinds: &[Limit], input_tokens: u64, now: Instant) -> Admission {
        let mut state = self.state();
        let Some(configured) = state.as_mut() else {
            return Admission::Admitted;
        };
        let enforce = configured.limits.enforce;
        let buckets = configured.buckets(endpoint, kinds, now);
        if enforce {
            let wait = buckets
                .iter()
                .map(|(limit, bucket)| bucket.room_in(limit.on_admission(input_tokens).max(1)))
                .max()
                .unwrap_or_default();
            if !wait.is_zero() {
                return Admission::Refused {
                    retry_after_secs: whole_seconds(wait),
                };
            }
        }
        for (limit, bucket) in buckets.iter_mut() {
            bucket.take(limit.on_admission(input_tokens));
        }
        Admission::Admitted
    }

    /// Charges the reply's `output_tokens` (0 when there was none) and reports
    /// where the endpoint's account stands afterwards; `None` without limits.
    pub fn settle(
        &self,
        endpoint: &'static str,
        kinds: &[Limit],
        output_tokens: u64,
        now: Instant,
    ) -> Option<Standing> {
        let mut state = self.state();
        let buckets = state.as_mut()?.buckets(endpoint, kinds, now);
        let standing = buckets
            .iter_mut()
            .map(|(limit, bucket)| {
                bucket.take(limit.on_reply(output_tokens));
                (*limit, bucket.budget())
            })
            .collect();
        Some(standing)
    }

    /// Only plain numbers live here, so a panic elsewhere cannot leave them half-written.
    fn state(&self) -> MutexGuard<'_, Option<Configured>> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Configured {
    /// The endpoint's buckets for the limits that are set, refilled up to `now`.
    fn buckets(&mut self, endpoint: &'static str, kinds: &[Limit], now: Instant) -> &mut Vec<(Limit, Bucket)> {
        let limits = &self.limits;
        let buckets = self.endpoints.entry(endpoint).or_insert_with(|| {
            kinds
                .iter()
                .filter_map(|&limit| Some((limit, Bucket::full(limit.per_minute(limits)?, now))))
                .collect()
        });
        for (_, bucket) in buckets.iter_mut() {
            bucket.refill(now);
        }
        buckets
    }
}

/// A bucket that refills at `capacity` per minute, continuously. It may go into
/// debt: output is charged after admission, and without enforcement nothing
/// stops a client from overspending; the debt then delays "full" accordingly.
#[derive(Debug)]
struct Bucket {
    capacity: u64,
    level: f64,
    at: Instant,
}

impl Bucket {
    fn full(per_minute: u64, now: Instant) -> Self {
        let capacity = per_minute.max(1);
        Self {
            capacity,
            level: capacity as f64,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        // Multiplying before dividing keeps whole figures whole (30 s at 2 a minute is exactly 1).
        self.level = (self.level + elapsed * self.capacity as f64 / 60.0).min(self.capacity as f64);
        self.at = self.at.max(now);
    }

    fn take(&mut self, amount: u64) {
        self.level -= amount as f64;
    }

    /// Until `need` fits; a need above capacity waits for a full bucket rather than forever.
    fn room_in(&self, need: u64) -> Duration {
        let need = need.min(self.capacity) as f64;
        self.seconds_to(need)
    }

    fn budget(&self) -> Budget {
        Budget {
            limit: self.capacity,
            // Truncation is the point: a fraction of a request is no room.
            remaining: self.level.max(0.0) as u64,
            full_in: self.seconds_to(self.capacity as f64),
        }
    }

    fn seconds_to(&self, level: f64) -> Duration {
        let secs = (level - self.level).max(0.0) * 60.0 / self.capacity as f64;
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
    }
}

/// Whole seconds, rounded up, never 0: `retry-after: 0` would invite a hot loop.
fn whole_seconds(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANTHROPIC: &[Limit] = &[Limit::Requests, Limit::Tokens, Limit::InputTokens, Limit::OutputTokens];

    fn account(limits: AccountLimits) -> Account {
        let account = Account::default();
        account.set(Some(limits));
        account
    }

    fn budget(standing: &Standing, limit: Limit) -> Budget {
        standing
            .iter()
            .find(|(l, _)| *l == limit)
            .map(|(_, b)| *b)
            .unwrap_or_else(|| panic!("no {limit:?} in {standing:?}"))
    }

    #[test]
    fn no_limits_admit_everything_and_report_nothing() {
        let account = Account::default();
        let now = Instant::now();
        assert_eq!(account.admit("e", ANTHROPIC, 10, now), Admission::Admitted);
        assert_eq!(account.settle("e", ANTHROPIC, 10, now), None);
    }

    #[test]
    fn charges_and_refills_continuously() {
        let account = account(AccountLimits {
            requests_per_minute: Some(60),
            tokens_per_minute: Some(600),
            input_tokens_per_minute: Some(300),
            ..AccountLimits::default()
        });
        let start = Instant::now();
        assert_eq!(account.admit("e", ANTHROPIC, 100, start), Admission::Admitted);
        let standing = account.settle("e", ANTHROPIC, 20, start).expect("limits set");
        assert_eq!(standing.len(), 3, "unset limits have no bucket: {standing:?}");
        let requests = budget(&standing, Limit::Requests);
        assert_eq!((requests.limit, requests.remaining), (60, 59));
        assert_eq!(requests.full_in, Duration::from_secs(1), "one request a second");
        let tokens = budget(&standing, Limit::Tokens);
        assert_eq!((tokens.remaining, tokens.full_in), (480, Duration::from_secs(12)));
        assert_eq!(budget(&standing, Limit::InputTokens).remaining, 200);

        let later = account
            .settle("e", ANTHROPIC, 0, start + Duration::from_secs(6))
            .expect("limits set");
        assert_eq!(
            budget(&later, Limit::Tokens).remaining,
            540,
            "6 s at 10 tokens a second"
        );
        assert_eq!(budget(&later, Limit::Requests).remaining, 60, "never above capacity");
    }

    #[test]
    fn enforced_limits_refuse_until_there_is_room() {
        let account = account(AccountLimits {
            requests_per_minute: Some(2),
            enforce: true,
            ..AccountLimits::default()
        });
        let start = Instant::now();
        for _ in 0..2 {
            assert_eq!(account.admit("e", ANTHROPIC, 5, start), Admission::Admitted);
        }
        assert_eq!(
            account.admit("e", ANTHROPIC, 5, start),
            Admission::Refused { retry_after_secs: 30 }
        );
        assert_eq!(
            account.admit("other", ANTHROPIC, 5, start),
            Admission::Admitted,
            "each endpoint is its own account"
        );
        let almost = start + Duration::from_millis(29_500);
        assert_eq!(
            account.admit("e", ANTHROPIC, 5, almost),
            Admission::Refused { retry_after_secs: 1 },
            "rounded up, never 0"
        );
        assert_eq!(
            account.admit("e", ANTHROPIC, 5, start + Duration::from_secs(30)),
            Admission::Admitted
        );
    }

    #[test]
    fn output_debt_blocks_the_next_request() {
        let account = account(AccountLimits {
            output_tokens_per_minute: Some(60),
            enforce: true,
            ..AccountLimits::default()
        });
        let start = Instant::now();
        assert_eq!(account.admit("e", ANTHROPIC, 1, start), Admission::Admitted);
        let standing = account.settle("e", ANTHROPIC, 90, start).expect("limits set");
        let output = budget(&standing, Limit::OutputTokens);
        assert_eq!((output.remaining, output.full_in), (0, Duration::from_secs(90)));
        assert_eq!(
            account.admit("e", ANTHROPIC, 1, start),
            Admission::Refused { retry_after_secs: 31 },
            "30 s to pay the debt, 1 more for a token of room"
        );
    }

    #[test]
    fn a_request_larger_than_the_bucket_waits_for_a_full_one() {
        let account = account(AccountLimits {
            input_tokens_per_minute: Some(100),
            enforce: true,
            ..AccountLimits::default()
        });
        let start = Instant::now();
        assert_eq!(account.admit("e", ANTHROPIC, 500, start), Admission::Admitted);
        assert_eq!(
            account.admit("e", ANTHROPIC, 500, start),
            Admission::Refused { retry_after_secs: 300 }
        );
    }

    #[test]
    fn setting_limits_again_refills_and_none_clears() {
        let account = account(AccountLimits {
            requests_per_minute: Some(1),
            enforce: true,
            ..AccountLimits::default()
        });
        let now = Instant::now();
        assert_eq!(account.admit("e", ANTHROPIC, 0, now), Admission::Admitted);
        account.set(account.limits());
        assert_eq!(account.admit("e", ANTHROPIC, 0, now), Admission::Admitted);
        account.set(None);
        assert_eq!(account.limits(), None);
        assert_eq!(account.settle("e", ANTHROPIC, 0, now), None);
    }

    #[test]
    fn zero_is_one() {
        let account = account(AccountLimits {
            requests_per_minute: Some(0),
            ..AccountLimits::default()
        });
        let standing = account.settle("e", ANTHROPIC, 0, Instant::now()).expect("limits set");
        assert_eq!(budget(&standing, Limit::Requests).limit, 1);
    }
}
