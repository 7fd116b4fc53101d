//! Group commit for hot statements. Callers hand in one item each; a driver runs
//! whatever has accumulated as one statement, up to `parallel` statements at once.
//! Under light load a batch is a single item and adds no delay; under heavy load
//! one round trip and one commit serve hundreds of jobs.

use std::{future::Future, sync::Arc};

use tokio::sync::{mpsc, oneshot, Semaphore};

/// What each caller gets: its own output, or the error of the statement it was in.
pub type Reply<O, E> = Result<O, Arc<E>>;

type Request<I, O, E> = (I, oneshot::Sender<Reply<O, E>>);

pub struct Batcher<I, O, E> {
    tx: mpsc::UnboundedSender<Request<I, O, E>>,
}

impl<I, O, E> Clone for Batcher<I, O, E> {
    fn clone(&self) -> Self {
        Self { tx: self.tx.clone() }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the batcher stopped")]
pub struct Stopped;

impl<I: Send + 'static, O: Send + 'static, E: Send + Sync + 'static> Batcher<I, O, E> {
    /// `run` receives the items and returns one output per item, in order, or
    /// one error that every caller of that batch receives.
    pub fn start<F, Fut>(max_batch: usize, parallel: usize, run: F) -> Self
    where
        F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<O>, E>> + Send + 'static,
    {
        let (tx, mut rx) = mpsc::unbounded_channel::<Request<I, O, E>>();
        let run = Arc::new(run);
        let slots = Arc::new(Semaphore::new(parallel.max(1)));
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                // Wait for a free slot first: requests arriving meanwhile join this batch.
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let mut batch = vec![first];
                while batch.len() < max_batch {
                    match rx.try_recv() {
                        Ok(request) => batch.push(request),
                        Err(_) => break,
                    }
                }
                let run = run.clone();
                tokio::spawn(async move {
                    let (items, replies): (Vec<I>, Vec<oneshot::Sender<Reply<O, E>>>) = batch.into_iter().unzip();
                    match run(items).await {
                        Ok(outputs) => {
                            for (reply, output) in replies.into_iter().zip(outputs) {
                                let _ = reply.send(Ok(output));
                            }
                        }
                        Err(error) => {
                            let error = Arc::new(error);
                            for reply in replies {
                                let _ = reply.send(Err(error.clone()));
                            }
                        }
                    }
                    drop(permit);
                });
            }
        });
        Self { tx }
    }

    pub async fn call(&self, item: I) -> Result<Reply<O, E>, Stopped> {
        let (reply, rx) = oneshot::channel();
        self.tx.send((item, reply)).map_err(|_| Stopped)?;
        rx.await.map_err(|_| Stopped)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn answers_each_caller_and_groups_concurrent_calls() {
        let statements = Arc::new(AtomicUsize::new(0));
        let counter = statements.clone();
        let doubler = Batcher::start(64, 1, move |items: Vec<u32>| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                Ok::<_, std::convert::Infallible>(items.into_iter().map(|i| i * 2).collect())
            }
        });
        let calls: Vec<_> = (0..100u32)
            .map(|i| {
                let b = doubler.clone();
                tokio::spawn(async move { b.call(i).await.ok().and_then(Result::ok) })
            })
            .collect();
        for (i, call) in calls.into_iter().enumerate() {
            assert_eq!(call.await.ok().flatten(), Some(i as u32 * 2));
        }
        assert!(statements.load(Ordering::SeqCst) < 100, "calls were grouped");
    }
}
