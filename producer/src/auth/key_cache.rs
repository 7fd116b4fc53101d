//! Keys seen recently, so authenticating a request costs no query. PostgreSQL
//! notifies `de_api_keys` whenever a key is revoked, changed or deleted (the
//! `api_keys_changed` trigger), and every producer drops that key at once: a
//! revocation holds everywhere within moments. While the listener is not
//! connected, notifications could be missed, so the cache is not trusted and
//! every request asks the database; entries also age out after `ENTRY_TTL`,
//! the safety net. Which keys were used is written every `LAST_USED_FLUSH`, in
//! one statement.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use electrons_domain::{
    db::{
        api_keys::{self, ActiveKey},
        listener::{self, Heard},
    },
    Shutdown,
};
use sqlx::PgPool;
use uuid::Uuid;

pub const CHANNEL: &str = "de_api_keys";
const ENTRY_TTL: Duration = Duration::from_secs(300);
const LAST_USED_FLUSH: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 100_000;

#[derive(Clone)]
pub struct KeyCache {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    entries: Mutex<HashMap<String, (ActiveKey, Instant)>>,
    /// Whether notifications are arriving, so cached entries can be trusted.
    listening: AtomicBool,
    /// Bumped by every notification: a lookup that raced one does not cache
    /// what it read, which may be from before the change.
    changes: AtomicU64,
    used: Mutex<HashSet<Uuid>>,
}

impl KeyCache {
    pub fn start(pool: PgPool, shutdown: Shutdown) -> Self {
        let cache = Self {
            inner: Arc::new(Inner {
                pool,
                entries: Mutex::new(HashMap::new()),
                listening: AtomicBool::new(false),
                changes: AtomicU64::new(0),
                used: Mutex::new(HashSet::new()),
            }),
        };
        tokio::spawn(cache.clone().listen(shutdown.clone()));
        tokio::spawn(cache.clone().flush_last_used(shutdown));
        cache
    }

    /// The unrevoked key with this hash, from the cache when it can be trusted.
    pub async fn lookup(&self, hash: &str) -> Result<Option<ActiveKey>, sqlx::Error> {
        let inner = &self.inner;
        if inner.listening.load(Ordering::Acquire) {
            if let Some(key) = self.cached(hash) {
                self.used(key.id);
                return Ok(Some(key));
            }
        }
        let seen = inner.changes.load(Ordering::Acquire);
        let found = api_keys::active(&inner.pool, hash).await?;
        if let Some(key) = found {
            self.used(key.id);
            if inner.changes.load(Ordering::Acquire) == seen {
                let mut entries = lock(&inner.entries);
                if entries.len() >= MAX_ENTRIES {
                    entries.retain(|_, (_, at)| at.elapsed() < ENTRY_TTL);
                }
                entries.insert(hash.to_owned(), (key, Instant::now()));
            }
        }
        Ok(found)
    }

    fn cached(&self, hash: &str) -> Option<ActiveKey> {
        lock(&self.inner.entries)
            .get(hash)
            .filter(|(_, at)| at.elapsed() < ENTRY_TTL)
            .map(|(key, _)| *key)
    }

    fn used(&self, id: Uuid) {
        lock(&self.inner.used).insert(id);
    }

    fn forget(&self, hash: Option<&str>) {
        self.inner.changes.fetch_add(1, Ordering::AcqRel);
        let mut entries = lock(&self.inner.entries);
        match hash {
            Some(hash) => {
                entries.remove(hash);
            }
            None => entries.clear(),
        }
    }

    async fn listen(self, shutdown: Shutdown) {
        let pool = self.inner.pool.clone();
        listener::follow(pool, CHANNEL, "API key", shutdown, |heard| match heard {
            Heard::Listening => {
                // Whatever changed while no one listened is unknown.
                self.forget(None);
                self.inner.listening.store(true, Ordering::Release);
            }
            Heard::Changed(hash) => self.forget(Some(hash)),
            Heard::Deaf => self.inner.listening.store(false, Ordering::Release),
        })
        .await;
    }

    async fn flush_last_used(self, shutdown: Shutdown) {
        loop {
            let stopping = tokio::select! {
                _ = shutdown.cancelled() => true,
                _ = tokio::time::sleep(LAST_USED_FLUSH) => false,
            };
            let ids: Vec<Uuid> = lock(&self.inner.used).drain().collect();
            if !ids.is_empty() {
                if let Err(error) = api_keys::mark_used(&self.inner.pool, &ids).await {
                    // Only a timestamp; the next flush writes it.
                    tracing::warn!(%error, keys = ids.len(), "could not record keys' last use");
                    lock(&self.inner.used).extend(ids);
                }
            }
            if stopping {
                return;
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
