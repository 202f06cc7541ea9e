//! Command line and environment: every flag has a `SIGNPOST_*` twin.

use clap::{Args, FromArgMatches, ValueEnum};
use std::net::SocketAddr;

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database URL; the SQLite file is created on first start.
    #[arg(
        long,
        env = "SIGNPOST_DATABASE_URL",
        default_value = "sqlite://signpost.db",
        global = true
    )]
    pub database_url: String,

    /// Address to listen on [default: LEPTOS_SITE_ADDR, else 127.0.0.1:3000].
    #[arg(long, env = "SIGNPOST_ADDR", global = true)]
    pub addr: Option<SocketAddr>,

    /// The URL people use to reach Signpost; an https URL makes the session
    /// cookie `Secure` and is accepted as a same-origin `Origin`.
    #[arg(long, env = "SIGNPOST_PUBLIC_URL", global = true, value_parser = parse_public_url)]
    pub public_url: Option<String>,

    /// Further names Signpost answers to (besides the public URL and the
    /// address a connection came in on): comma-separated `host` or
    /// `host:port`; `*` answers to any `Host` (no DNS-rebinding guard).
    #[arg(
        long,
        env = "SIGNPOST_ALLOWED_HOSTS",
        global = true,
        default_value = ""
    )]
    pub allowed_hosts: crate::server::auth::hosts::AllowedHosts,

    /// Which sites may show the customer portal in an `<iframe>`: the
    /// `frame-ancestors` sources, space-separated (`https://app.example.com
    /// https://*.example.com`); `*` lets any site frame it (a portal link is
    /// its own credential), `'none'` lets no site. The dashboard itself can
    /// never be framed.
    #[arg(
        long,
        env = "SIGNPOST_PORTAL_FRAME_ANCESTORS",
        global = true,
        default_value = "*",
        value_parser = parse_frame_ancestors
    )]
    pub portal_frame_ancestors: String,

    /// The one-time token `/setup` needs while no user exists [default: a
    /// random one, printed in the log, when listening on a non-loopback
    /// address; none on loopback].
    #[arg(
        long,
        env = "SIGNPOST_SETUP_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub setup_token: Option<String>,

    /// Sign a person out after this many minutes without a request.
    #[arg(
        long,
        env = "SIGNPOST_SESSION_IDLE_MINUTES",
        default_value_t = 720,
        global = true,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub session_idle_minutes: u32,

    /// Key that seals signing secrets at rest: base64 of 32 bytes. When unset,
    /// a key file beside the database is used (created on first start).
    #[arg(
        long,
        env = "SIGNPOST_SECRET_KEY",
        global = true,
        hide_env_values = true
    )]
    pub secret_key: Option<String>,

    /// Key file used when SIGNPOST_SECRET_KEY is unset [default: beside the
    /// SQLite file, `<name>.key`].
    #[arg(long, env = "SIGNPOST_SECRET_KEY_FILE", global = true)]
    pub secret_key_file: Option<std::path::PathBuf>,

    /// Webhook targets allowed despite the URL guard, over http or https:
    /// comma-separated hosts, addresses and CIDRs (development and tests).
    #[arg(
        long,
        env = "SIGNPOST_ALLOW_TARGETS",
        global = true,
        default_value = ""
    )]
    pub allow_targets: crate::server::url_guard::AllowList,

    /// Reverse proxies (addresses, CIDRs) whose `X-Forwarded-For` names the
    /// client, for the per-address sign-in throttle; from anyone else the
    /// header is ignored.
    #[arg(
        long,
        env = "SIGNPOST_TRUSTED_PROXIES",
        global = true,
        default_value = ""
    )]
    pub trusted_proxies: crate::server::auth::address::TrustedProxies,

    /// Connections served at once; more wait in the listen queue.
    #[arg(long, env = "SIGNPOST_MAX_CONNECTIONS", default_value_t = 4096, global = true,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,

    /// A client must send a request's headers within this long (ms), from
    /// the connection's start or the end of the previous response: also the
    /// idle timeout of a kept-alive connection.
    #[arg(long, env = "SIGNPOST_HEADER_TIMEOUT_MS", default_value_t = 10_000, global = true,
          value_parser = clap::value_parser!(u64).range(100..))]
    pub header_timeout_ms: u64,

    /// A request (body read and answer written) must be done within this
    /// long (ms), or it is answered 408.
    #[arg(long, env = "SIGNPOST_REQUEST_TIMEOUT_MS", default_value_t = 30_000, global = true,
          value_parser = clap::value_parser!(u64).range(100..))]
    pub request_timeout_ms: u64,

    /// Requests per second per project on the HTTP API (more get 429).
    #[arg(
        long,
        env = "SIGNPOST_API_RATE_LIMIT",
        default_value_t = 20,
        global = true,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub api_rate_limit: u32,

    /// Events per second per project on `POST /projects/{pid}/events` (more get 429).
    #[arg(
        long,
        env = "SIGNPOST_INGEST_RATE_LIMIT",
        default_value_t = 10_000,
        global = true,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub ingest_rate_limit: u32,

    #[command(flatten)]
    pub delivery: DeliveryConfig,

    #[command(flatten)]
    pub alerts: AlertConfig,

    /// How SQLite commits reach the disk: `full` fsyncs every commit (what
    /// was answered 202 survives a power cut); `normal` is faster and can
    /// lose the last commits on a power cut or an OS crash.
    #[arg(
        long,
        env = "SIGNPOST_SQLITE_SYNCHRONOUS",
        value_enum,
        default_value_t = Durability::Full,
        global = true
    )]
    pub sqlite_synchronous: Durability,

    /// Log filter (tracing `EnvFilter` syntax).
    #[arg(long, env = "SIGNPOST_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Log lines as `text` for a person, or `json`: one object per line,
    /// for a log pipeline.
    #[arg(long, env = "SIGNPOST_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text,
          global = true)]
    pub log_format: LogFormat,

    /// Serves `GET /metrics` on the main address to requests that carry
    /// this bearer token (`Authorization: Bearer …`) [default: no
    /// `/metrics` on the main address].
    #[arg(long, env = "SIGNPOST_METRICS_TOKEN", global = true, hide_env_values = true,
          value_parser = parse_metrics_token)]
    pub metrics_token: Option<String>,

    /// Serves `GET /metrics`, without a token, on this address of its own
    /// (e.g. 127.0.0.1:9090): keep it unexposed. Also for `signpost worker`.
    #[arg(long, env = "SIGNPOST_METRICS_ADDR", global = true)]
    pub metrics_addr: Option<SocketAddr>,

    /// How webhook hosts are resolved: the system resolver; tests stub it so
    /// that they never send a DNS query off the machine.
    #[arg(skip)]
    pub resolver: crate::server::url_guard::ResolverChoice,
}

/// See `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// A metrics token is a secret a scraper sends: at least 16 characters,
/// none of them space or control.
fn parse_metrics_token(s: &str) -> Result<String, String> {
    if s.len() < 16 {
        return Err("the metrics token needs at least 16 characters".into());
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the metrics token cannot hold spaces or control characters".into());
    }
    Ok(s.to_string())
}

/// See `--sqlite-synchronous`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Durability {
    Full,
    Normal,
}

impl Durability {
    pub fn synchronous(self) -> crate::server::db::Synchronous {
        match self {
            Durability::Full => crate::server::db::Synchronous::Full,
            Durability::Normal => crate::server::db::Synchronous::Normal,
        }
    }
}

/// When Signpost tells people that a webhook broke (docs/operations.md,
/// "Alerts"), and how it emails them.
#[derive(Debug, Clone, Args)]
pub struct AlertConfig {
    /// The SMTP server alert emails go through: `smtp://host:port` (STARTTLS
    /// when the server offers it; `?tls=required` insists), `smtps://host`,
    /// with `user:password@` if it needs a login [default: no emails].
    #[arg(long, env = "SIGNPOST_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of alert emails, e.g. `Signpost <signpost@example.com>`.
    #[arg(
        long,
        env = "SIGNPOST_SMTP_FROM",
        global = true,
        default_value = "Signpost <signpost@localhost>"
    )]
    pub smtp_from: String,

    /// A webhook whose every delivery has failed for this long is alerted on.
    #[arg(
        long,
        env = "SIGNPOST_ALERT_FAILING_SECS",
        global = true,
        default_value_t = 900
    )]
    pub alert_failing_secs: u64,

    /// A webhook whose oldest pending delivery is older than this is
    /// alerted on (a backlog that does not drain).
    #[arg(
        long,
        env = "SIGNPOST_ALERT_LAG_SECS",
        global = true,
        default_value_t = 900
    )]
    pub alert_lag_secs: u64,

    /// How often the alert conditions are checked.
    #[arg(
        long,
        env = "SIGNPOST_ALERT_CHECK_MS",
        global = true,
        default_value_t = 30_000,
        hide = true
    )]
    pub alert_check_ms: u64,

    /// The first pause after an email failed (doubling, at most an hour).
    #[arg(
        long,
        env = "SIGNPOST_ALERT_EMAIL_RETRY_MS",
        global = true,
        default_value_t = 30_000,
        hide = true
    )]
    pub alert_email_retry_ms: u64,
}

impl Default for AlertConfig {
    fn default() -> Self {
        flag_defaults()
    }
}

/// The delivery engine's knobs (docs/delivery.md); the defaults are Spectrum's.
#[derive(Debug, Clone, Args)]
pub struct DeliveryConfig {
    /// Attempts per delivery, the first included.
    #[arg(long, env = "SIGNPOST_MAX_ATTEMPTS", default_value_t = 6, global = true,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,
    /// Delay before the second attempt, in ms; each later one is 5× longer.
    #[arg(
        long,
        env = "SIGNPOST_RETRY_BASE_MS",
        default_value_t = 200,
        global = true,
        value_parser = clap::value_parser!(u64).range(0..=3_600_000)
    )]
    pub retry_base_ms: u64,
    /// Longest delay between attempts, in ms (also caps `Retry-After`).
    #[arg(
        long,
        env = "SIGNPOST_RETRY_MAX_MS",
        default_value_t = 10_000,
        global = true,
        value_parser = clap::value_parser!(u64).range(0..=86_400_000)
    )]
    pub retry_max_ms: u64,
    /// Time limit of one attempt, in ms.
    #[arg(long, env = "SIGNPOST_ATTEMPT_TIMEOUT_MS", default_value_t = 30_000, global = true,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub attempt_timeout_ms: u64,
    /// Attempts in flight at once, across all webhooks.
    #[arg(long, env = "SIGNPOST_MAX_IN_FLIGHT", default_value_t = 512, global = true,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_in_flight: u64,
    /// Attempts in flight at once to one `unordered` webhook.
    #[arg(long, env = "SIGNPOST_UNORDERED_CONCURRENCY", default_value_t = 8, global = true,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub unordered_concurrency: u64,
    /// A worker that stops renewing its lease for this long (ms) is dead:
    /// its deliveries are claimed again.
    #[arg(long, env = "SIGNPOST_LEASE_MS", default_value_t = 15_000, global = true,
          value_parser = clap::value_parser!(u64).range(100..))]
    pub lease_ms: u64,
    /// Disable a webhook whose deliveries have all failed for this long…
    #[arg(
        long,
        env = "SIGNPOST_AUTO_DISABLE_AFTER_SECONDS",
        default_value_t = 86_400,
        global = true
    )]
    pub auto_disable_after_seconds: u64,
    /// …with at least this many failed deliveries.
    #[arg(
        long,
        env = "SIGNPOST_AUTO_DISABLE_MIN_FAILURES",
        default_value_t = 20,
        global = true
    )]
    pub auto_disable_min_failures: u64,
    /// Events, deliveries and attempts older than this are deleted.
    #[arg(long, env = "SIGNPOST_RETENTION_DAYS", default_value_t = 30, global = true,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub retention_days: u64,
    /// Largest event body accepted, in bytes.
    #[arg(long, env = "SIGNPOST_MAX_EVENT_BYTES", default_value_t = 256 * 1024, global = true,
          value_parser = clap::value_parser!(u64).range(64..))]
    pub max_event_bytes: u64,
    /// On shutdown, how long attempts in flight may take to finish (ms).
    #[arg(
        long,
        env = "SIGNPOST_SHUTDOWN_GRACE_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub shutdown_grace_ms: u64,
    /// Per webhook, how many pending deliveries the worker reads ahead of
    /// those it may have in flight; the rest stay in the database.
    #[arg(long, env = "SIGNPOST_LANE_WINDOW", default_value_t = 32, global = true,
          value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub lane_window: u64,
    /// Most pending deliveries the worker holds in memory, all webhooks together.
    #[arg(long, env = "SIGNPOST_MAX_HELD_DELIVERIES", default_value_t = 50_000, global = true,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_held_deliveries: u64,
    /// Most bytes of event bodies the worker holds in memory; publish calls
    /// waiting for the writer may hold a quarter as much again.
    #[arg(long, env = "SIGNPOST_MAX_HELD_BYTES", default_value_t = 64 * 1024 * 1024, global = true,
          value_parser = clap::value_parser!(u64).range(65_536..=(u32::MAX as u64)))]
    pub max_held_bytes: u64,
    /// How long a publish call waits for room before the writer (ms); then
    /// it is answered 503 with `Retry-After`.
    #[arg(
        long,
        env = "SIGNPOST_PUBLISH_WAIT_MS",
        default_value_t = 1_000,
        global = true
    )]
    pub publish_wait_ms: u64,
    /// A bulk replay queues its next chunk while fewer than this many of
    /// the project's replayed deliveries are pending.
    #[arg(
        long,
        env = "SIGNPOST_REPLAY_IN_FLIGHT",
        default_value_t = 1_000,
        global = true,
        hide = true,
        value_parser = clap::value_parser!(u64).range(1..=100_000)
    )]
    pub replay_in_flight: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        flag_defaults()
    }
}

/// `T` as its flags' defaults say (each written once, in its `#[arg]`),
/// whatever the environment holds: the flags parsed from an empty command
/// line with their `SIGNPOST_*` variables ignored.
fn flag_defaults<T: Args + FromArgMatches>() -> T {
    let command = T::augment_args(clap::Command::new("signpost")).mut_args(|a| a.env(None));
    let matches = command
        .try_get_matches_from(["signpost"])
        .expect("every flag has a default or is optional");
    T::from_arg_matches(&matches).expect("the defaults are valid")
}

/// Checks `frame-ancestors` sources: `*`, `'self'`, `'none'`, or
/// `scheme://host[:port]` (the host may start with `*.`), space-separated.
fn parse_frame_ancestors(s: &str) -> Result<String, String> {
    let sources: Vec<&str> = s.split_whitespace().collect();
    if sources.is_empty() {
        return Err("name at least one source ('none' for no site)".into());
    }
    for source in &sources {
        let ok = match *source {
            "*" | "'self'" | "'none'" => true,
            _ => source
                .strip_prefix("https://")
                .or_else(|| source.strip_prefix("http://"))
                .is_some_and(|rest| {
                    !rest.is_empty()
                        && rest
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b".-:*[]".contains(&b))
                }),
        };
        if !ok {
            return Err(format!(
                "{source:?} is not a source: use *, 'self', 'none' or https://host[:port]"
            ));
        }
    }
    if sources.len() > 1 && sources.contains(&"'none'") {
        return Err("'none' stands alone".into());
    }
    Ok(sources.join(" "))
}

fn parse_public_url(s: &str) -> Result<String, String> {
    let s = s.trim_end_matches('/');
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    if rest.is_empty() {
        return Err("has no host".into());
    }
    let authority = rest.split('/').next().unwrap_or(rest);
    authority.parse::<crate::server::auth::hosts::Authority>()?;
    Ok(s.to_string())
}

impl Config {
    /// Where people reach Signpost, for the links Signpost gives out (sign-in
    /// links, portal links, alert emails): `--public-url`, else `http://` and
    /// `fallback` (the host a request was sent to, or the listen address).
    pub fn base_url(&self, fallback: &str) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{fallback}"),
        }
    }
}

impl Config {
    /// A configuration for tests and tools: defaults, with the given database.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Config {
            database_url: database_url.into(),
            log: "warn".into(),
            ..flag_defaults()
        }
    }

    /// Where the secret key file lives: as configured, else beside the
    /// SQLite database (`signpost.db` → `signpost.key`).
    pub fn key_file(&self) -> std::path::PathBuf {
        if let Some(path) = &self.secret_key_file {
            return path.clone();
        }
        let Some(path) = self
            .database_url
            .strip_prefix("sqlite://")
            .or_else(|| self.database_url.strip_prefix("sqlite:"))
        else {
            return "signpost.key".into(); // not SQLite: the working directory
        };
        let path = path.split('?').next().unwrap_or(path);
        if path.is_empty() || path.starts_with(":memory:") {
            return "signpost.key".into();
        }
        std::path::Path::new(path).with_extension("key")
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }

    /// `host[:port]` of the public URL, if one is configured, and its
    /// scheme's default port.
    pub fn public_authority(&self) -> Option<(&str, u16)> {
        let url = self.public_url.as_deref()?;
        let (scheme, rest) = url.split_once("://")?;
        let default_port = if scheme == "https" { 443 } else { 80 };
        Some((rest.split('/').next().unwrap_or(rest), default_port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::cli::Cli;
    use clap::Parser;

    #[test]
    fn frame_ancestors_are_csp_sources() {
        assert_eq!(parse_frame_ancestors("*").unwrap(), "*");
        assert_eq!(
            parse_frame_ancestors(" https://app.example.com   https://*.example.org:8443 'self' ")
                .unwrap(),
            "https://app.example.com https://*.example.org:8443 'self'"
        );
        for bad in [
            "",
            "app.example.com",
            "https://a.example; script-src *",
            "https://a.example,https://b",
            "'none' https://a.example",
            "javascript:x",
        ] {
            assert!(parse_frame_ancestors(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn public_url_must_be_http() {
        assert!(parse_public_url("ftp://x").is_err());
        assert!(parse_public_url("https://").is_err());
        assert!(parse_public_url("https://user@hooks.example.com").is_err());
        assert!(parse_public_url("https://hooks.example.com:x").is_err());
        assert_eq!(
            parse_public_url("https://hooks.example.com/").unwrap(),
            "https://hooks.example.com"
        );
    }

    #[test]
    fn secure_only_over_https() {
        let mut c = Config::for_database("sqlite::memory:");
        assert!(!c.secure_cookies());
        c.public_url = Some("https://hooks.example.com/app".into());
        assert!(c.secure_cookies());
        assert_eq!(c.public_authority(), Some(("hooks.example.com", 443)));
        c.public_url = Some("http://10.0.0.5:8080".into());
        assert_eq!(c.public_authority(), Some(("10.0.0.5:8080", 80)));
    }

    #[test]
    fn key_file_sits_beside_the_database() {
        let c = Config::for_database("sqlite://data/signpost.db");
        assert_eq!(c.key_file(), std::path::PathBuf::from("data/signpost.key"));
        let c = Config::for_database("sqlite:///var/lib/s.db?mode=rwc");
        assert_eq!(c.key_file(), std::path::PathBuf::from("/var/lib/s.key"));
        let c = Config::for_database("sqlite::memory:");
        assert_eq!(c.key_file(), std::path::PathBuf::from("signpost.key"));
    }

    #[test]
    fn serve_is_the_default_and_flags_parse() {
        let cli = Cli::try_parse_from(["signpost", "--database-url", "sqlite://x.db"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.config.database_url, "sqlite://x.db");
        assert!(Cli::try_parse_from(["signpost", "--no-such-flag"]).is_err());
        assert!(Cli::try_parse_from(["signpost", "--session-idle-minutes", "0"]).is_err());
        assert!(Cli::try_parse_from(["signpost", "--max-attempts", "0"]).is_err());
    }

    /// The defaults of tests and tools are the flags' (one home), and not
    /// the environment's.
    #[test]
    fn defaults_are_the_flags() {
        use clap::CommandFactory;
        // The command line as `signpost` reads it, less the environment of
        // whoever runs the test.
        let command = Cli::command().mut_args(|a| a.env(None));
        let cli = Cli::from_arg_matches(&command.get_matches_from(["signpost"])).unwrap();
        let tools = Config::for_database("sqlite::memory:");
        assert_eq!(
            format!("{:?}", cli.config.delivery),
            format!("{:?}", tools.delivery)
        );
        assert_eq!(
            format!("{:?}", cli.config.alerts),
            format!("{:?}", tools.alerts)
        );
        assert_eq!(tools.delivery.max_attempts, 6);
        assert_eq!(tools.alerts.smtp_from, "Signpost <signpost@localhost>");
        assert_eq!(tools.session_idle_minutes, 720);
        assert_eq!(
            (cli.config.log.as_str(), tools.log.as_str()),
            ("info", "warn")
        );
        // Commits are on disk unless the operator says otherwise.
        assert_eq!(cli.config.sqlite_synchronous, Durability::Full);
        assert_eq!(tools.sqlite_synchronous, Durability::Full);
        let cli = Cli::try_parse_from(["signpost", "--sqlite-synchronous", "normal"]).unwrap();
        assert_eq!(cli.config.sqlite_synchronous, Durability::Normal);
    }
}
