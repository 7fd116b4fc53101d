//! Which projects have a budget, so a submit knows without a query whether its
//! insert must reserve (a budgeted project's job is inserted on its own, with
//! its reservation, rather than in a batch). PostgreSQL notifies `de_budgets`
//! when a budget is set or removed; the project is taken as budgeted at once
//! and the set reloaded (for an instance's budget, every project is, until the
//! reload says which projects the instance holds). While the listener is down, or before the first load,
//! every project is taken as budgeted: reserving for a project without a budget
//! is only slower, while skipping one with a budget would leak. A full reload
//! every `RELOAD_EVERY` is the safety net.

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, RwLock,
    },
    time::Duration,
};

use electrons_domain::{
    db::{
        budgets::{self, CHANNEL},
        listener::{self, Heard},
    },
    Shutdown,
};
use sqlx::PgPool;
use tokio::sync::Notify;
use uuid::Uuid;

const RELOAD_EVERY: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct BudgetedProjects {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    projects: RwLock<HashSet<Uuid>>,
    listening: AtomicBool,
    /// Loaded since the listener last (re)connected.
    trusted: AtomicBool,
    /// Bumped by every notification: a load that raced one keeps the
    /// projects it named, which the load may have read from before.
    changes: AtomicU64,
    reload: Notify,
}

impl BudgetedProjects {
    pub fn start(pool: PgPool, shutdown: Shutdown) -> Self {
        let cache = Self {
            inner: Arc::new(Inner {
                pool,
                projects: RwLock::new(HashSet::new()),
                listening: AtomicBool::new(false),
                trusted: AtomicBool::new(false),
                changes: AtomicU64::new(0),
                reload: Notify::new(),
            }),
        };
        tokio::spawn(cache.clone().listen(shutdown.clone()));
        tokio::spawn(cache.clone().reload_loop(shutdown));
        cache
    }

    /// Whether the project's jobs must reserve from a budget.
    pub fn may_have_budget(&self, project: Uuid) -> bool {
        !self.inner.trusted.load(Ordering::Acquire)
            || self
                .inner
                .projects
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .contains(&project)
    }

    /// A budget was just set through this producer: its next submit reserves
    /// whether or not the notification has arrived.
    pub fn budget_set(&self, project: Uuid) {
        self.inner
            .projects
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(project);
    }

    /// An instance's budget was just set through this producer: every project
    /// reserves until the reload (already asked for) says which are covered.
    pub fn instance_budget_set(&self) {
        self.inner.trusted.store(false, Ordering::Release);
        self.inner.changes.fetch_add(1, Ordering::AcqRel);
        self.inner.reload.notify_one();
    }

    async fn listen(self, shutdown: Shutdown) {
        let pool = self.inner.pool.clone();
        let inner = &self.inner;
        listener::follow(pool, CHANNEL, "budget", shutdown, |heard| match heard {
            Heard::Listening => {
                inner.listening.store(true, Ordering::Release);
                inner.reload.notify_one();
            }
            Heard::Changed(project) => {
                inner.changes.fetch_add(1, Ordering::AcqRel);
                if project.starts_with("instance:") {
                    // An instance's budget: which projects it covers, only the
                    // reload knows; until then every project reserves.
                    inner.trusted.store(false, Ordering::Release);
                } else if let Ok(project) = project.parse::<Uuid>() {
                    inner
                        .projects
                        .write()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(project);
                }
                inner.reload.notify_one();
            }
            Heard::Deaf => {
                inner.listening.store(false, Ordering::Release);
                inner.trusted.store(false, Ordering::Release);
            }
        })
        .await;
    }

    async fn reload_loop(self, shutdown: Shutdown) {
        let inner = &self.inner;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = inner.reload.notified() => {}
                _ = tokio::time::sleep(RELOAD_EVERY) => {}
            }
            let listening_before = inner.listening.load(Ordering::Acquire);
            let changes_before = inner.changes.load(Ordering::Acquire);
            match budgets::budgeted_projects(&inner.pool).await {
                Ok(projects) => {
                    let mut known = inner.projects.write().unwrap_or_else(|p| p.into_inner());
                    let unchanged = inner.changes.load(Ordering::Acquire) == changes_before;
                    if unchanged {
                        *known = projects.into_iter().collect();
                    } else {
                        // The next load (already due) drops what is gone.
                        known.extend(projects);
                    }
                    drop(known);
                    // Trusted only if no notification could have been missed
                    // while it loaded, and none came (an instance's budget
                    // covers projects this load may not have seen).
                    let still = inner.listening.load(Ordering::Acquire);
                    if unchanged {
                        inner.trusted.store(listening_before && still, Ordering::Release);
                    }
                }
                Err(error) => tracing::warn!(%error, "could not load which projects have budgets"),
            }
        }
    }
}
