//! The machine's limit for the delivery benches: Debian's nginx answering
//! 200, and `wrk` driving it.

use std::time::Duration;

/// Debian's nginx answering `return 200` on a free port, one worker,
/// keep-alive, no access log; stopped on drop.
pub struct Nginx {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Nginx {
    pub fn start() -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "worker_processes 1; daemon off; pid {d}/nginx.pid; error_log {d}/error.log;\n\
                 events {{ worker_connections 4096; }}\n\
                 http {{ access_log off; keepalive_requests 10000000; keepalive_timeout 120s;\n\
                   client_body_temp_path {d}/body;\n\
                   server {{ listen 127.0.0.1:{port}; location / {{ return 200; }} }} }}\n",
                d = dir.path().display()
            ),
        )
        .unwrap();
        let child = std::process::Command::new("nginx")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nginx is needed: apt-get install -y nginx wrk");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        Nginx {
            child,
            port,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Nginx {
    /// SIGTERM: the master stops its worker too (a SIGKILL would leave it).
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// `wrk -t1 -c64 -d10s` POSTing `body` to `url`; its requests per second.
pub fn wrk(url: &str, body: &str) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("post.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = {body:?}\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
        ),
    )
    .unwrap();
    let out = std::process::Command::new("wrk")
        .args(["-t1", "-c64", "-d10s", "-s"])
        .arg(&script)
        .arg(url)
        .output()
        .expect("wrk is needed: apt-get install -y nginx wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output: {text}"))
}
