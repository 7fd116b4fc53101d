//! Metric handles kept per label set. `counter!(name, labels…)` builds the
//! metric's key on every call — a copy of each label value, a hash, a lookup
//! in the recorder's registry — and every job records about a dozen metrics on
//! its way through; the hot paths look their handles up here by the borrowed
//! label values instead, and build a key only the first time a set is seen.
//! Label sets are bounded (models, providers, outcomes), so the maps stay small.

use std::{
    hash::{Hash, Hasher},
    sync::{LazyLock, RwLock},
};

use hashbrown::{Equivalent, HashMap};

type Labels = Box<[Box<str>]>;

/// One metric's handles (or a group of them), by label values.
pub(super) struct Handles<H> {
    by_labels: LazyLock<RwLock<HashMap<Labels, H>>>,
}

impl<H: Clone> Handles<H> {
    pub(super) const fn new() -> Self {
        Self {
            by_labels: LazyLock::new(|| RwLock::new(HashMap::new())),
        }
    }

    /// The handle for `labels`, made by `make` the first time.
    pub(super) fn get(&self, labels: &[&str], make: impl FnOnce() -> H) -> H {
        let borrowed = Borrowed(labels);
        if let Ok(map) = self.by_labels.read() {
            if let Some(handle) = map.get(&borrowed) {
                return handle.clone();
            }
        }
        let handle = make();
        if let Ok(mut map) = self.by_labels.write() {
            let key: Labels = labels.iter().map(|l| Box::<str>::from(*l)).collect();
            return map.entry(key).or_insert(handle).clone();
        }
        handle
    }
}

/// Label values as a caller has them: hashes as the owned key does (a slice
/// hashes its length, then each string), so the map is searched without copies.
struct Borrowed<'a>(&'a [&'a str]);

impl Hash for Borrowed<'_> {
    fn hash<S: Hasher>(&self, state: &mut S) {
        self.0.hash(state);
    }
}

impl Equivalent<Labels> for Borrowed<'_> {
    fn equivalent(&self, key: &Labels) -> bool {
        self.0.len() == key.len() && self.0.iter().zip(key.iter()).all(|(a, b)| *a == &**b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_set_is_made_once_and_found_by_borrowed_values() {
        static SEEN: Handles<u32> = Handles::new();
        let mut made = 0;
        let mut make = |n| {
            made += 1;
            n
        };
        assert_eq!(SEEN.get(&["openai", "gpt-4o"], || make(1)), 1);
        assert_eq!(SEEN.get(&["openai", "gpt-4o"], || make(2)), 1);
        assert_eq!(SEEN.get(&["openai", "gpt-4o-mini"], || make(3)), 3);
        // Same strings, split differently: another label set.
        assert_eq!(SEEN.get(&["openaigpt-4o", ""], || make(4)), 4);
        assert_eq!(SEEN.get(&["openai"], || make(5)), 5);
        assert_eq!(made, 4);
    }
}
