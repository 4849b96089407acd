//! Throttling failed sign-ins, per account and per client address: after `max` failures of
//! one key within `window`, every sign-in under that key is refused (`R0482`), with the right
//! password too, until the oldest of those failures is older than `window`. A success clears
//! the account's failures, not the address's.
//!
//! The counts live in the server's memory: a restart forgets them, and each server of several
//! counts its own (every failure is in the audit trail regardless).

use crate::error::{codes, Error, Result};
use chrono::{Duration, NaiveDateTime};
use std::collections::HashMap;
use std::sync::Mutex;

/// How many failures, over how long.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures of one account that close it to sign-ins.
    pub per_account: usize,
    /// Failures from one address that close it.
    pub per_address: usize,
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { per_account: 5, per_address: 20, window: Duration::minutes(15) }
    }
}

/// The failures of each key within the window.
#[derive(Debug, Default)]
pub struct Throttle {
    limits: Limits,
    failures: Mutex<HashMap<String, Vec<NaiveDateTime>>>,
}

fn account(user_id: &str) -> String {
    format!("user:{user_id}")
}

fn address(client: &str) -> String {
    format!("addr:{client}")
}

impl Throttle {
    pub fn new(limits: Limits) -> Throttle {
        Throttle { limits, failures: Mutex::default() }
    }

    /// `R0482` when `user_id` or `client` has had too many failures within the window.
    pub fn check(&self, user_id: &str, client: &str, now: NaiveDateTime) -> Result<()> {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let since = now - self.limits.window;
        failures.retain(|_, times| {
            times.retain(|t| *t > since);
            !times.is_empty()
        });
        let count = |key: &str| failures.get(key).map_or(0, Vec::len);
        let minutes = self.limits.window.num_minutes();
        if count(&account(user_id)) >= self.limits.per_account {
            return Err(Error::new(
                codes::SIGN_IN_THROTTLED,
                format!(
                    "too many failed sign-ins for this account: {} within {minutes} minutes",
                    self.limits.per_account
                ),
            )
            .help(format!(
                "wait {minutes} minutes, or ask an administrator: tally user reset USER"
            )));
        }
        if count(&address(client)) >= self.limits.per_address {
            return Err(Error::new(
                codes::SIGN_IN_THROTTLED,
                format!(
                    "too many failed sign-ins from this address: {} within {minutes} minutes",
                    self.limits.per_address
                ),
            )
            .help(format!("wait {minutes} minutes")));
        }
        Ok(())
    }

    /// Counts a failed sign-in of `user_id` from `client`.
    pub fn failed(&self, user_id: &str, client: &str, now: NaiveDateTime) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.entry(account(user_id)).or_default().push(now);
        failures.entry(address(client)).or_default().push(now);
    }

    /// Clears the account's failures after a successful sign-in.
    pub fn succeeded(&self, user_id: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(&account(user_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_700_000_000 + minute * 60, 0)
            .map(|t| t.naive_utc())
            .unwrap_or_default()
    }

    #[test]
    fn an_account_closes_after_its_failures_and_opens_after_the_window() {
        let throttle =
            Throttle::new(Limits { per_account: 3, per_address: 5, window: Duration::minutes(10) });
        for minute in 0..3 {
            assert!(throttle.check("ann", "10.0.0.1", at(minute)).is_ok());
            throttle.failed("ann", "10.0.0.1", at(minute));
        }
        let refused = throttle.check("ann", "10.0.0.2", at(3)).map_err(|e| e.code);
        assert_eq!(refused, Err(codes::SIGN_IN_THROTTLED));
        // Another account from the same address is still open (2 of 5 address failures left).
        assert!(throttle.check("bob", "10.0.0.1", at(3)).is_ok());
        // Ten minutes after the first failure, one of the three has left the window.
        assert!(throttle.check("ann", "10.0.0.1", at(10)).is_ok());
    }

    #[test]
    fn an_address_closes_for_every_account() {
        let throttle = Throttle::new(Limits {
            per_account: 10,
            per_address: 2,
            window: Duration::minutes(10),
        });
        throttle.failed("ann", "10.0.0.1", at(0));
        throttle.failed("bob", "10.0.0.1", at(1));
        assert_eq!(
            throttle.check("carl", "10.0.0.1", at(2)).map_err(|e| e.code),
            Err(codes::SIGN_IN_THROTTLED)
        );
        assert!(throttle.check("carl", "10.0.0.9", at(2)).is_ok());
        throttle.succeeded("ann");
        assert_eq!(
            throttle.check("ann", "10.0.0.1", at(2)).map_err(|e| e.code),
            Err(codes::SIGN_IN_THROTTLED)
        );
    }
}
