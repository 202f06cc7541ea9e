//! Sign-in throttling, within 15 minutes: after 5 failures for one account
//! from one address, 100 for one account from all addresses together, or
//! 20 from one address for any accounts, further attempts are refused
//! unchecked. An attacker elsewhere cannot lock the owner out of their
//! account from the owner's own address (short of 100 failures from many
//! addresses, which a password reset clears).

/// Failures for one account from one address.
pub const MAX_PER_EMAIL: usize = 5;
/// Failures for one account from every address together.
pub const MAX_PER_EMAIL_ALL: usize = 100;
pub const MAX_PER_IP: usize = 20;
pub const WINDOW_MS: i64 = 15 * 60 * 1000;

/// Given the failure times in the window (oldest first), how many whole
/// minutes until an attempt is allowed again, or `None` if it is now.
pub fn wait_minutes(failures: &[i64], limit: usize, now: i64) -> Option<u64> {
    if failures.len() < limit {
        return None;
    }
    // The attempt is allowed once enough failures have left the window.
    let must_expire = failures[failures.len() - limit];
    let wait_ms = (must_expire + WINDOW_MS - now).max(1);
    Some((wait_ms as u64).div_ceil(60_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_the_limit_is_allowed() {
        assert_eq!(wait_minutes(&[1, 2, 3, 4], MAX_PER_EMAIL, 10), None);
    }

    #[test]
    fn at_the_limit_waits_for_the_oldest_to_leave_the_window() {
        let now = 1_000_000;
        let fails = [
            now - 60_000,
            now - 50_000,
            now - 40_000,
            now - 30_000,
            now - 1,
        ];
        // The oldest expires 14 minutes from now.
        assert_eq!(wait_minutes(&fails, 5, now), Some(14));
        let more = [
            now - 600_000,
            now - 60_000,
            now - 50_000,
            now - 40_000,
            now - 30_000,
            now - 1,
        ];
        assert_eq!(wait_minutes(&more, 5, now), Some(14));
        // Never "0 minutes".
        assert_eq!(wait_minutes(&[now - WINDOW_MS + 1; 5], 5, now), Some(1));
    }
}
