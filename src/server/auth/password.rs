//! argon2id password hashes (PHC strings), computed off the async threads.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use std::sync::OnceLock;

/// Password checks at once: each argon2id run takes 19 MiB and a core for
/// a while, so a burst of sign-ins waits here instead of taking gigabytes
/// (and every blocking thread) at once.
/// The turn moves into the blocking task: a request dropped while its
/// check runs gives the turn back only when the check ends.
fn room() -> std::sync::Arc<tokio::sync::Semaphore> {
    static ROOM: OnceLock<std::sync::Arc<tokio::sync::Semaphore>> = OnceLock::new();
    ROOM.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        std::sync::Arc::new(tokio::sync::Semaphore::new(2 * cores))
    })
    .clone()
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    let turn = room().acquire_owned().await?;
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        hash_blocking(&password)
    })
    .await?
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// Checks `password` against a stored hash. With `None` (no such user) it
/// still does the same work against a throw-away hash, so the answer takes
/// as long whether or not the account exists.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    let Ok(turn) = room().acquire_owned().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        #[cfg(test)]
        let _running = tests::Running::start();
        let stored = stored.as_deref().unwrap_or_else(|| dummy_hash());
        let known = PasswordHash::new(stored)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        known && stored != dummy_hash()
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_blocking("no user has this password; it only costs time")
            .expect("argon2 hashes a constant")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Checks running now, and the most seen at once.
    static RUNNING: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    pub(super) struct Running;

    impl Running {
        pub(super) fn start() -> Running {
            let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
            PEAK.fetch_max(now, Ordering::SeqCst);
            Running
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            RUNNING.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_burst_of_checks_takes_turns() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let bound = 2 * cores;
        let checks: Vec<_> = (0..bound * 3)
            .map(|_| tokio::spawn(verify("guess".into(), None)))
            .collect();
        for c in checks {
            assert!(!c.await.unwrap());
        }
        let peak = PEAK.load(Ordering::SeqCst);
        assert!(peak <= bound, "{peak} checks ran at once, bound {bound}");
        assert!(peak >= 2, "they ran side by side ({peak})");
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse battery".into(), Some(h.clone())).await);
        assert!(!verify("wrong horse battery".into(), Some(h)).await);
        assert!(!verify("anything".into(), None).await);
    }
}
