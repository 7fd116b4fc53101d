//! A map by id that forgets its oldest entries beyond a capacity, for the files
//! and operations the simulated providers hand out: a benchmark that makes
//! millions of them must not grow the simulator without bound. A forgotten one
//! answers 404, as an expired link or a purged job does at a real provider.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Mutex, MutexGuard},
};

pub struct Recent<V> {
    capacity: usize,
    entries: Mutex<Entries<V>>,
}

struct Entries<V> {
    by_id: HashMap<String, V>,
    /// Ids oldest first; each id is inserted once (ids are fresh random strings).
    order: VecDeque<String>,
}

impl<V: Clone> Recent<V> {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: Mutex::new(Entries {
                by_id: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }

    pub fn insert(&self, id: String, value: V) {
        let mut entries = self.entries();
        while entries.order.len() >= self.capacity {
            if let Some(oldest) = entries.order.pop_front() {
                entries.by_id.remove(&oldest);
            }
        }
        entries.order.push_back(id.clone());
        entries.by_id.insert(id, value);
    }

    pub fn get(&self, id: &str) -> Option<V> {
        self.entries().by_id.get(id).cloned()
    }

    /// Plain data only, so a panic elsewhere cannot leave it half-written.
    fn entries(&self) -> MutexGuard<'_, Entries<V>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_are_forgotten() {
        let recent = Recent::new(2);
        for (id, value) in [("a", 1), ("b", 2), ("c", 3)] {
            recent.insert(id.into(), value);
        }
        assert_eq!(recent.get("a"), None);
        assert_eq!((recent.get("b"), recent.get("c")), (Some(2), Some(3)));
    }
}
