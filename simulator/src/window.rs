//! Sliding-window sums over arrival times, for asserting that a client kept to a
//! rate limit ("never more than 50 requests, or 40 000 tokens, in any minute").

use chrono::{DateTime, TimeDelta, Utc};

/// The largest total weight of arrivals inside any half-open window
/// `[t, t + window)` anchored at an arrival `t`.
///
/// Anchoring at arrivals is enough: sliding any window forward to its first
/// arrival loses nothing inside it. `arrivals` is sorted here because requests
/// are logged when answered, which can be a little out of arrival order; the
/// sort is linear on input that is already (almost) sorted, and the sweep is
/// one two-pointer pass.
pub fn max_in_window(arrivals: &mut [(DateTime<Utc>, u64)], window: TimeDelta) -> u64 {
    arrivals.sort_by_key(|(at, _)| *at);
    let (mut best, mut sum, mut end) = (0u64, 0u64, 0usize);
    for (start, &(anchor, weight)) in arrivals.iter().enumerate() {
        // A window too far in the future to represent holds everything after it.
        let until = anchor.checked_add_signed(window);
        while end < arrivals.len() && until.is_none_or(|until| arrivals[end].0 < until) {
            sum = sum.saturating_add(arrivals[end].1);
            end += 1;
        }
        best = best.max(sum);
        // An empty window (`window` ≤ 0) never took in its own anchor.
        if end > start {
            sum = sum.saturating_sub(weight);
        } else {
            end = start + 1;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + TimeDelta::milliseconds(ms)
    }

    fn max(arrivals: &[(i64, u64)], window_ms: i64) -> u64 {
        let mut arrivals: Vec<_> = arrivals.iter().map(|&(ms, w)| (at(ms), w)).collect();
        max_in_window(&mut arrivals, TimeDelta::milliseconds(window_ms))
    }

    #[test]
    fn windows_are_half_open() {
        let arrivals = [(0, 1), (500, 1), (1000, 1), (1500, 1)];
        assert_eq!(max(&arrivals, 1000), 2, "the arrival at t + window is outside");
        assert_eq!(max(&arrivals, 1001), 3);
        assert_eq!(max(&arrivals, 10_000), 4);
    }

    #[test]
    fn weights_are_summed_and_the_best_window_wins() {
        let arrivals = [(0, 5), (100, 1), (2000, 7), (2100, 7), (2999, 1), (3000, 100)];
        assert_eq!(max(&arrivals, 1000), 108, "[2100, 3100) beats [2000, 3000) = 15");
        assert_eq!(max(&arrivals, 900), 101, "[2999, 3899)");
    }

    #[test]
    fn out_of_order_and_simultaneous_arrivals() {
        let arrivals = [(1000, 1), (0, 1), (1000, 1), (999, 1)];
        assert_eq!(max(&arrivals, 1), 2, "two arrivals in the same instant");
        assert_eq!(max(&arrivals, 1000), 3);
    }

    #[test]
    fn degenerate_windows() {
        assert_eq!(max(&[], 1000), 0);
        assert_eq!(max(&[(0, 3), (0, 4)], 0), 0, "an empty window holds nothing");
        let mut far = vec![(at(0), 1), (at(1), 2)];
        assert_eq!(max_in_window(&mut far, TimeDelta::MAX), 3);
    }
}
