//! One lane per scope (provider, model, project) and process: a task that
//! collects the jobs waiting on the same limits, asks PostgreSQL for as many
//! grants as there are waiters in one round trip, hands them out by priority
//! then arrival, and sleeps while the limits are dry.
//!
//! Lanes are per project so that, at the shared rows, a flooding project is one
//! contender among several rather than the whole line.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicU32, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use rand::Rng;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{settle::Settler, Grant, LimiterError, Reservation, Scope};
use crate::job::Priority;

/// Most waiters offered in one round trip.
const MAX_BATCH: usize = 256;
/// Longest sleep between round trips, so newcomers are seen and limits raised
/// through the admin API take effect.
const MAX_SLEEP: Duration = Duration::from_secs(1);
/// How often to look again while this lane's own calls are settling.
const SETTLE_POLL: Duration = Duration::from_millis(20);

type Reply = oneshot::Sender<Result<Grant, LimiterError>>;

struct Waiter {
    reservation: Reservation,
    since: Instant,
    /// Offered in a round trip that did not grant it.
    passed_over: bool,
    reply: Reply,
}

#[derive(Clone)]
pub(super) struct Lane {
    tx: mpsc::UnboundedSender<Waiter>,
    shared: Arc<Shared>,
    max_wait: Duration,
}

/// What callers read to decide at once whether waiting is worth it.
#[derive(Default)]
struct Shared {
    estimate: Mutex<Estimate>,
    deferred: AtomicU32,
    /// Grants of this lane whose token reservations or leases are still out:
    /// their settlements will give room back soon.
    unsettled: Arc<AtomicUsize>,
}

#[derive(Default)]
struct Estimate {
    /// Calls per second the tightest limit admits, once known.
    rate: Option<f64>,
    /// When the first in line can next be granted, if the limits said "not
    /// now" on the last round trip.
    next_grant: Option<Instant>,
    /// Waiting per priority (high, normal, low) as of the last round trip.
    waiting: [usize; 3],
    /// The next free slot for a job sent away: spreads returning jobs at the
    /// limit's rate instead of bringing them all back at once.
    horizon: Option<Instant>,
}

impl Estimate {
    /// How long until a job sent away now should come back, if its wait here
    /// would exceed `max_wait`.
    fn deferral(&mut self, priority: Priority, max_wait: Duration, now: Instant) -> Option<Duration> {
        let ahead: usize = self.waiting[..=rank(priority)].iter().sum();
        self.deferral_behind(ahead, max_wait, now)
    }

    /// The same for a job with `ahead` others in front of it: the wait of the
    /// first in line, then one grant interval per job ahead.
    fn deferral_behind(&mut self, ahead: usize, max_wait: Duration, now: Instant) -> Option<Duration> {
        let rate = self.rate.filter(|r| r.is_finite() && *r > 0.0)?;
        let wait = self.wait_behind(ahead, now)?;
        if wait <= max_wait {
            return None;
        }
        if ahead == 0 {
            // First in line: its own wait, not behind those sent away after it.
            return Some(wait);
        }
        let slot = self.horizon.filter(|h| *h > now + wait).unwrap_or(now + wait);
        self.horizon = Some(slot + Duration::from_secs_f64(1.0 / rate));
        Some(slot - now)
    }

    /// The expected wait with `ahead` others in front; `None` while the rate is
    /// unknown or unlimited. Grows with `ahead`.
    fn wait_behind(&self, ahead: usize, now: Instant) -> Option<Duration> {
        let rate = self.rate.filter(|r| r.is_finite() && *r > 0.0)?;
        let head = self
            .next_grant
            .map_or(Duration::ZERO, |at| at.saturating_duration_since(now));
        Some(head + Duration::from_secs_f64(ahead as f64 / rate))
    }
}

fn rank(priority: Priority) -> usize {
    match priority {
        Priority::High => 0,
        Priority::Normal => 1,
        Priority::Low => 2,
    }
}

impl Lane {
    pub(super) fn start(pool: PgPool, scope: Scope, max_wait: Duration, settler: Settler) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::default());
        let driver = Driver {
            pool,
            scope,
            max_wait,
            settler,
            shared: shared.clone(),
            queues: Default::default(),
            waited: 0,
            wait_ms: 0,
        };
        tokio::spawn(driver.run(rx));
        Self { tx, shared, max_wait }
    }

    pub(super) fn is_open(&self) -> bool {
        !self.tx.is_closed()
    }

    pub(super) async fn acquire(&self, reservation: Reservation) -> Result<Grant, LimiterError> {
        let deferral = self.shared.estimate.lock().unwrap_or_else(|p| p.into_inner()).deferral(
            reservation.priority,
            self.max_wait,
            Instant::now(),
        );
        if let Some(retry_in) = deferral {
            self.shared.deferred.fetch_add(1, Ordering::Relaxed);
            return Err(LimiterError::Busy { retry_in });
        }
        let (reply, rx) = oneshot::channel();
        let waiter = Waiter {
            reservation,
            since: Instant::now(),
            passed_over: false,
            reply,
        };
        self.tx.send(waiter).map_err(|_| LimiterError::Stopped)?;
        rx.await.map_err(|_| LimiterError::Stopped)?
    }
}

#[derive(sqlx::FromRow)]
struct Answer {
    granted: i32,
    wait_ms: i32,
    requests_per_sec: f64,
    settle_ids: Vec<String>,
}

struct Driver {
    pool: PgPool,
    scope: Scope,
    max_wait: Duration,
    settler: Settler,
    shared: Arc<Shared>,
    /// Waiters by priority: high, normal, low.
    queues: [VecDeque<Waiter>; 3],
    /// Counters for the limits' metrics, sent with the next round trip.
    waited: i32,
    wait_ms: i64,
}

impl Driver {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Waiter>) {
        loop {
            if self.is_empty() {
                match rx.recv().await {
                    Some(waiter) => self.push(waiter),
                    None => return,
                }
            }
            while let Ok(waiter) = rx.try_recv() {
                self.push(waiter);
            }
            for queue in &mut self.queues {
                queue.retain(|w| !w.reply.is_closed());
            }
            if self.is_empty() {
                continue;
            }
            let batch = self.take_batch();
            // Those being asked for are about to be served: newcomers count
            // only who is left behind them.
            self.publish_waiting();
            match self.ask(&batch).await {
                Ok(answer) => {
                    let granted = answer.granted.max(0) as usize;
                    let wait = Duration::from_millis(answer.wait_ms.max(1) as u64);
                    {
                        let mut estimate = self.shared.estimate.lock().unwrap_or_else(|p| p.into_inner());
                        estimate.rate = Some(answer.requests_per_sec);
                        // Settlements on their way will give room back: the
                        // limits' own answer is then too pessimistic to act on.
                        let refunds_due = self.shared.unsettled.load(Ordering::Relaxed) > 0;
                        estimate.next_grant = (granted == 0 && !refunds_due).then(|| Instant::now() + wait);
                    }
                    self.hand_out(batch, granted, answer.settle_ids.into());
                    self.send_away_the_far_back();
                    if granted == 0 {
                        if self.shared.unsettled.load(Ordering::Relaxed) > 0 {
                            // The jobs' own deadline (the runner's) still applies.
                            tokio::time::sleep(wait.min(SETTLE_POLL)).await;
                        } else if wait > self.max_wait {
                            self.send_all_away(wait);
                        } else {
                            tokio::time::sleep(wait.min(MAX_SLEEP)).await;
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(provider = %self.scope.provider, %error, "rate limits unavailable");
                    let provider = self.scope.provider.clone();
                    for waiter in batch
                        .into_iter()
                        .chain(self.queues.iter_mut().flat_map(|q| q.drain(..)))
                    {
                        let _ = waiter.reply.send(Err(LimiterError::Unavailable {
                            provider: provider.clone(),
                        }));
                    }
                }
            }
        }
    }

    async fn ask(&mut self, batch: &[Waiter]) -> Result<Answer, sqlx::Error> {
        let holders: Vec<Uuid> = batch.iter().map(|w| w.reservation.holder).collect();
        let input: Vec<i64> = batch.iter().map(|w| w.reservation.input_tokens as i64).collect();
        let output: Vec<i64> = batch.iter().map(|w| w.reservation.output_tokens as i64).collect();
        let deferred = self.shared.deferred.swap(0, Ordering::Relaxed);
        let answer =
            sqlx::query_as::<_, Answer>("SELECT * FROM acquire_rate_limits($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(&self.scope.provider)
                .bind(&self.scope.model)
                .bind(self.scope.project)
                .bind(&holders)
                .bind(&input)
                .bind(&output)
                .bind(self.waited)
                .bind(self.wait_ms)
                .bind(deferred as i32)
                .fetch_one(&self.pool)
                .await;
        match &answer {
            Ok(_) => (self.waited, self.wait_ms) = (0, 0),
            Err(_) => {
                self.shared.deferred.fetch_add(deferred, Ordering::Relaxed);
            }
        }
        answer
    }

    /// The first `granted` of the batch get their grant; the rest go back to
    /// the front of their queues, in order.
    fn hand_out(&mut self, batch: Vec<Waiter>, granted: usize, settle_ids: Arc<[String]>) {
        let mut batch = batch.into_iter();
        for waiter in batch.by_ref().take(granted) {
            if waiter.passed_over {
                self.waited += 1;
                self.wait_ms += waiter.since.elapsed().as_millis() as i64;
            }
            let grant = Grant {
                holder: waiter.reservation.holder,
                settle_ids: settle_ids.clone(),
                input_tokens: waiter.reservation.input_tokens,
                output_tokens: waiter.reservation.output_tokens,
                settler: Some(self.settler.clone()),
                unsettled: (!settle_ids.is_empty()).then(|| {
                    self.shared.unsettled.fetch_add(1, Ordering::Relaxed);
                    self.shared.unsettled.clone()
                }),
            };
            if let Err(Ok(grant)) = waiter.reply.send(Ok(grant)) {
                // The job gave up in the meantime; nothing was called.
                grant.settle(0, 0);
            }
        }
        for mut waiter in batch.rev() {
            waiter.passed_over = true;
            self.queues[rank(waiter.reservation.priority)].push_front(waiter);
        }
    }

    /// Waiters who, at the rate the limits now admit, would wait longer than
    /// `max_wait` leave at once with a time to come back, instead of holding
    /// their worker slot while the line ahead of them drains.
    fn send_away_the_far_back(&mut self) {
        let now = Instant::now();
        let mut estimate = self.shared.estimate.lock().unwrap_or_else(|p| p.into_inner());
        // The wait grows with the place in line: if the last fits, all do, and
        // the usual case costs no rebuilding of the queues.
        let last = self.len().saturating_sub(1);
        if estimate.wait_behind(last, now).is_none_or(|wait| wait <= self.max_wait) {
            drop(estimate);
            self.publish_waiting();
            return;
        }
        let mut ahead = 0;
        let mut sent = 0;
        for queue in &mut self.queues {
            let mut kept = VecDeque::with_capacity(queue.len());
            for waiter in queue.drain(..) {
                match estimate.deferral_behind(ahead, self.max_wait, now) {
                    Some(retry_in) => {
                        if waiter.reply.send(Err(LimiterError::Busy { retry_in })).is_ok() {
                            sent += 1;
                        }
                    }
                    None => {
                        kept.push_back(waiter);
                        ahead += 1;
                    }
                }
            }
            *queue = kept;
        }
        drop(estimate);
        self.shared.deferred.fetch_add(sent, Ordering::Relaxed);
        // Newcomers judge their wait by this count: it must not stay stale
        // while the lane idles.
        self.publish_waiting();
    }

    /// The limits will not admit anyone within `max_wait` (paused, or a long
    /// refill): every waiter is told when to come back, spread over a second.
    fn send_all_away(&mut self, wait: Duration) {
        let mut rng = rand::rng();
        let mut sent = 0;
        for waiter in self.queues.iter_mut().flat_map(|q| q.drain(..)) {
            let jitter = Duration::from_millis(rng.random_range(0..1000));
            if waiter
                .reply
                .send(Err(LimiterError::Busy {
                    retry_in: wait + jitter,
                }))
                .is_ok()
            {
                sent += 1;
            }
        }
        self.shared.deferred.fetch_add(sent, Ordering::Relaxed);
        self.publish_waiting();
    }

    fn take_batch(&mut self) -> Vec<Waiter> {
        let mut batch = Vec::with_capacity(MAX_BATCH.min(self.len()));
        for queue in &mut self.queues {
            while batch.len() < MAX_BATCH {
                match queue.pop_front() {
                    Some(waiter) => batch.push(waiter),
                    None => break,
                }
            }
        }
        batch
    }

    fn push(&mut self, waiter: Waiter) {
        self.queues[rank(waiter.reservation.priority)].push_back(waiter);
    }

    fn publish_waiting(&self) {
        let mut estimate = self.shared.estimate.lock().unwrap_or_else(|p| p.into_inner());
        estimate.waiting = [self.queues[0].len(), self.queues[1].len(), self.queues[2].len()];
    }

    fn len(&self) -> usize {
        self.queues.iter().map(VecDeque::len).sum()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defers_only_when_the_wait_would_exceed_the_maximum_and_spreads_returns() {
        let now = Instant::now();
        let mut estimate = Estimate {
            rate: Some(2.0),
            next_grant: None,
            waiting: [0, 5, 100],
            horizon: None,
        };
        // Nobody ahead of a high-priority job.
        assert_eq!(estimate.deferral(Priority::High, Duration::from_secs(5), now), None);
        // 5 normal jobs ahead: 2.5 s at 2/s.
        assert_eq!(estimate.deferral(Priority::Normal, Duration::from_secs(5), now), None);
        // A low one behind 105: sent away, and the next one half a second later.
        let first = estimate
            .deferral(Priority::Low, Duration::from_secs(5), now)
            .expect("deferred");
        let second = estimate
            .deferral(Priority::Low, Duration::from_secs(5), now)
            .expect("deferred");
        assert_eq!(first, Duration::from_millis(52_500));
        assert_eq!(second - first, Duration::from_millis(500));
    }

    #[test]
    fn a_lone_job_waits_only_as_long_as_the_limits_said() {
        let now = Instant::now();
        // Expensive calls: one every 30 s on average, but the bucket has room now.
        let mut estimate = Estimate {
            rate: Some(1.0 / 30.0),
            ..Default::default()
        };
        assert_eq!(estimate.deferral(Priority::Normal, Duration::from_secs(1), now), None);
        // The limits said "in 9 s": come back then, not a full average interval later.
        estimate.next_grant = Some(now + Duration::from_secs(9));
        assert_eq!(
            estimate.deferral(Priority::Normal, Duration::from_secs(1), now),
            Some(Duration::from_secs(9))
        );
    }

    #[test]
    fn unknown_or_unlimited_rates_never_defer() {
        let mut estimate = Estimate::default();
        assert_eq!(estimate.deferral(Priority::Low, Duration::ZERO, Instant::now()), None);
        estimate.rate = Some(f64::INFINITY);
        assert_eq!(estimate.deferral(Priority::Low, Duration::ZERO, Instant::now()), None);
    }
}
