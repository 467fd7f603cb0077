//! One metric series' running total, honouring its aggregation temporality:
//! deltas are summed (a retried export's exact interval is not counted
//! twice), cumulative values replace each other with resets detected by a
//! new start time or a decrease (the earlier run's total is banked), and
//! gauges keep their latest value. Points older than the latest one seen
//! never move a cumulative or gauge total. Values are integer units
//! (tokens, nano-USD, milliseconds) converted by the caller.

/// How a series' points relate to each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temporality {
    /// Each point is the change since the previous one.
    Delta,
    /// Each point is the total since the series' start time.
    Cumulative,
    /// Each point is the current value.
    Gauge,
}

/// What one point did to a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The point was used; the series total went from `before` to `after`.
    Applied {
        /// The total before the point.
        before: u64,
        /// The total after it.
        after: u64,
    },
    /// The point repeats one already counted (same delta interval, or the
    /// same time as the latest cumulative or gauge point).
    Duplicate,
    /// The point is older than the latest one of a cumulative or gauge
    /// series.
    Stale,
    /// Adding the point would overflow the total.
    Overflow,
}

/// How many recent delta intervals are remembered to recognise a retried
/// export. Retries resend the latest intervals, so a few suffice.
const RECENT_INTERVALS: usize = 8;

/// The state of one series.
#[derive(Debug, Clone)]
pub struct Counter {
    temporality: Temporality,
    /// Totals of earlier runs (cumulative resets, temporality changes).
    banked: u64,
    /// Delta: the sum so far. Cumulative: the latest value of the current
    /// run. Gauge: the latest value.
    current: u64,
    /// The start time of the current cumulative run (0 when not reported).
    start: u64,
    /// The time of the latest point (0 before the first).
    last_time: u64,
    /// Whether a point was applied since the last temporality change.
    seen: bool,
    /// Recent delta intervals (start, time), oldest overwritten first.
    recent: [(u64, u64); RECENT_INTERVALS],
    recent_next: usize,
}

impl Counter {
    /// An empty series of `temporality`.
    pub fn new(temporality: Temporality) -> Self {
        Counter {
            temporality,
            banked: 0,
            current: 0,
            start: 0,
            last_time: 0,
            seen: false,
            recent: [(0, 0); RECENT_INTERVALS],
            recent_next: 0,
        }
    }

    /// The series' total: every run's contribution.
    pub fn total(&self) -> u64 {
        self.banked.saturating_add(self.current)
    }

    /// Applies one point: `value` in units, `start` and `time` in Unix
    /// nanoseconds (0 when absent).
    pub fn apply(
        &mut self,
        temporality: Temporality,
        start: u64,
        time: u64,
        value: u64,
    ) -> Outcome {
        let before = self.total();
        if temporality != self.temporality {
            // The agent restarted with another temporality: keep what was
            // counted and start over in the new one.
            let Some(banked) = self.banked.checked_add(self.current) else {
                return Outcome::Overflow;
            };
            *self = Counter::new(temporality);
            self.banked = banked;
        }
        match temporality {
            Temporality::Delta => {
                let interval = (start, time);
                let identified = start != 0 && time != 0;
                if identified && self.recent.contains(&interval) {
                    return Outcome::Duplicate;
                }
                let Some(current) = self.current.checked_add(value) else {
                    return Outcome::Overflow;
                };
                self.current = current;
                if identified {
                    self.recent[self.recent_next] = interval;
                    self.recent_next = (self.recent_next + 1) % RECENT_INTERVALS;
                }
                self.last_time = self.last_time.max(time);
            }
            Temporality::Cumulative => {
                if self.seen {
                    if time < self.last_time {
                        return Outcome::Stale;
                    }
                    if time == self.last_time {
                        return Outcome::Duplicate;
                    }
                    let restarted = start != 0 && self.start != 0 && start != self.start;
                    if restarted || value < self.current {
                        // A reset: the new value is the total since it.
                        let Some(banked) = self.banked.checked_add(self.current) else {
                            return Outcome::Overflow;
                        };
                        self.banked = banked;
                    }
                }
                if self.banked.checked_add(value).is_none() {
                    return Outcome::Overflow;
                }
                self.current = value;
                self.start = start;
                self.last_time = time;
            }
            Temporality::Gauge => {
                if self.seen {
                    if time < self.last_time {
                        return Outcome::Stale;
                    }
                    if time == self.last_time {
                        return Outcome::Duplicate;
                    }
                }
                if self.banked.checked_add(value).is_none() {
                    return Outcome::Overflow;
                }
                self.current = value;
                self.last_time = time;
            }
        }
        self.seen = true;
        Outcome::Applied {
            before,
            after: self.total(),
        }
    }
}
