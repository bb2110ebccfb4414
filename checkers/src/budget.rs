//! Deterministic work budgets for the exponential searches (linearizability, Elle's typed cycle
//! search), so that a verdict never depends on how fast the machine is.
//!
//! A [`Meter`] counts abstract work units (one per search step, plus the size of what the step
//! stores); when the count passes the budget the search stops and the verdict is unknown, naming
//! the budget. The count is a pure function of the input and the options, so the same history gives
//! the same verdict, anomalies and figures on any machine, loaded or idle.
//!
//! A wall-clock limit exists only as an explicit user choice (`--time-limit`,
//! `LinearOptions::time_limit`, `ElleOptions::cycle_search_timeout`); with one set, results may
//! depend on speed, and the reason reported says so (`time limit` instead of `work budget`).

use std::time::{Duration, Instant};

/// Why a search stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    /// The deterministic work budget (its size in units) was used up.
    Budget(u64),
    /// The user's wall-clock limit passed.
    Time(Duration),
}

impl Exhausted {
    /// How the reason is named in verdicts: `"work budget of 20000000 units"` or `"time limit of 2s"`.
    pub fn describe(&self) -> String {
        match self {
            Exhausted::Budget(b) => format!("work budget of {b} units"),
            Exhausted::Time(d) => format!("time limit of {:?}", d),
        }
    }
}

/// Counts work against a budget and, if the user set one, a deadline. The deadline is checked only
/// every 4096 charges, so it costs nothing measurable.
#[derive(Debug, Clone)]
pub struct Meter {
    budget: u64,
    used: u64,
    deadline: Option<(Instant, Duration)>,
    ticks: u32,
    exhausted: Option<Exhausted>,
}

impl Meter {
    /// A meter with `budget` units and an optional wall-clock limit starting now.
    pub fn new(budget: u64, time_limit: Option<Duration>) -> Meter {
        Meter {
            budget,
            used: 0,
            deadline: time_limit.map(|d| (Instant::now() + d, d)),
            ticks: 0,
            exhausted: None,
        }
    }

    /// A meter with a deadline already fixed (several searches sharing one user time limit).
    pub fn with_deadline(budget: u64, deadline: Option<(Instant, Duration)>) -> Meter {
        Meter {
            budget,
            used: 0,
            deadline,
            ticks: 0,
            exhausted: None,
        }
    }

    /// Charges `units`; returns `false` (and stays exhausted) once the budget or deadline is passed.
    #[inline]
    pub fn charge(&mut self, units: u64) -> bool {
        if self.exhausted.is_some() {
            return false;
        }
        self.used = self.used.saturating_add(units);
        if self.used > self.budget {
            self.exhausted = Some(Exhausted::Budget(self.budget));
            return false;
        }
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks & 4095 == 1 {
            if let Some((d, limit)) = self.deadline {
                if Instant::now() >= d {
                    self.exhausted = Some(Exhausted::Time(limit));
                    return false;
                }
            }
        }
        true
    }

    /// Units charged so far.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Why the meter stopped, if it did.
    pub fn exhausted(&self) -> Option<Exhausted> {
        self.exhausted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_stops_exactly_after_the_budget() {
        let mut m = Meter::new(10, None);
        assert!((0..10).all(|_| m.charge(1)));
        assert!(!m.charge(1));
        assert!(!m.charge(0), "stays exhausted");
        assert_eq!(m.exhausted(), Some(Exhausted::Budget(10)));
        assert_eq!(m.exhausted().unwrap().describe(), "work budget of 10 units");
    }
}
