//! `signpost serve` as a process of its own, on a free port of 127.0.0.1,
//! killed when dropped. Shared by the integration tests (`support::process`)
//! and the benches (`bench/common.rs` includes this file by its path), so
//! it uses nothing of either: only std, tokio and reqwest.

use std::time::{Duration, Instant};

/// The secret key of the processes started here (any 32 bytes, base64).
pub const SECRET_KEY: &str = "c2lnbnBvc3QgdGVzdHM6IGEgMzItYnl0ZSBrZXkhISE=";
/// How long a process may take to answer `/healthz`.
const START_WITHIN: Duration = Duration::from_secs(30);

pub struct Process {
    child: std::process::Child,
    /// `http://127.0.0.1:{port}`.
    pub base: String,
}

impl Process {
    /// `bin serve` on the database at `db_url`, with [`SECRET_KEY`], its
    /// deliveries allowed to 127.0.0.1, and warnings logged (or
    /// `SIGNPOST_TEST_PROCESS_LOG`); `env` adds `SIGNPOST_*` variables or
    /// overrides those. Returns once `/healthz` answers 200.
    pub async fn serve(bin: &str, db_url: &str, env: &[(&str, &str)]) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::env::var("SIGNPOST_TEST_PROCESS_LOG").unwrap_or("warn".into());
        let child = std::process::Command::new(bin)
            .arg("serve")
            .env("SIGNPOST_DATABASE_URL", db_url)
            .env("SIGNPOST_ADDR", format!("127.0.0.1:{port}"))
            .env("SIGNPOST_SECRET_KEY", SECRET_KEY)
            .env("SIGNPOST_ALLOW_TARGETS", "127.0.0.1")
            .env("SIGNPOST_LOG", log)
            .envs(env.iter().copied())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
        let p = Process {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + START_WITHIN;
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", p.base)).send().await {
                if r.status() == reqwest::StatusCode::OK {
                    return p;
                }
            }
            assert!(Instant::now() < deadline, "signpost did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[allow(dead_code)] // the benches' (its CPU time and memory)
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends the signal `name` (`TERM`, `KILL`, `STOP`, `CONT`, …).
    pub fn signal(&self, name: &str) {
        let ok = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }

    /// SIGTERM, and waits for the graceful stop.
    #[allow(dead_code)] // the benches'
    pub fn stop(mut self) {
        self.signal("TERM");
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
