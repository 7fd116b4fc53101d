//! Following a PostgreSQL `NOTIFY` channel for as long as the process runs:
//! caches of what the database holds (keys, budgets) drop what changed as soon
//! as it changes. Notifications sent while the connection is down are lost, so
//! a cache is told when listening stops and starts again, and must neither
//! trust itself in between nor keep what it held from before.

use std::time::Duration;

use sqlx::{postgres::PgListener, PgPool};

use crate::Shutdown;

/// What happened on the channel.
pub enum Heard<'a> {
    /// Listening (again): whatever changed before is unknown.
    Listening,
    /// A change, with the notification's payload.
    Changed(&'a str),
    /// Not listening until the next `Listening`.
    Deaf,
}

/// Listens on `channel` until shutdown, reconnecting after a lost connection,
/// and tells `heard` everything. `what` names the cache in the warning logged
/// when the connection is lost.
pub async fn follow(
    pool: PgPool,
    channel: &'static str,
    what: &'static str,
    shutdown: Shutdown,
    mut heard: impl FnMut(Heard<'_>) + Send,
) {
    follow_channels(pool, &[channel], what, shutdown, |_, news| heard(news)).await
}

/// The same for several channels on one connection (each listener holds
/// one of the pool's connections for good); `heard` is told which channel
/// a change came on (`""` for `Listening` and `Deaf`, which are all of them).
pub async fn follow_channels(
    pool: PgPool,
    channels: &[&str],
    what: &'static str,
    shutdown: Shutdown,
    mut heard: impl FnMut(&str, Heard<'_>) + Send,
) {
    let channel = channels.join(", ");
    loop {
        let result = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen_all(channels.iter().copied()).await?;
            heard("", Heard::Listening);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok::<_, sqlx::Error>(()),
                    notification = listener.try_recv() => match notification? {
                        Some(notification) => heard(notification.channel(), Heard::Changed(notification.payload())),
                        // The connection dropped; notifications sent meanwhile are lost.
                        None => return Err(sqlx::Error::PoolClosed),
                    },
                }
            }
        }
        .await;
        heard("", Heard::Deaf);
        match result {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(%error, channel = %channel, "{what} listener lost its connection; not trusting the cache until it is back");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        }
    }
}
