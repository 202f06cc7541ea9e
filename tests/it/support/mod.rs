pub mod process;
use reqwest::header::{HeaderMap, ACCEPT, LOCATION, SET_COOKIE};
use reqwest::{redirect, Client, Response, StatusCode};
use serde_json::{json, Value};
use signpost::model::AppError;
use signpost::server::{config::Config, url_guard};
use std::net::SocketAddr;
use std::time::Duration;
use tempfile::TempDir;
use tokio::sync::oneshot;

/// How long a test waits for something the server does by itself (a
/// delivery, a retry, a takeover) before it fails.
pub const WAIT: Duration = Duration::from_secs(30);
/// The same, for what needs several processes or a lease to run out.
pub const LONG_WAIT: Duration = Duration::from_secs(60);

/// The secret key the tests give the `signpost` processes they start
/// (every process on one database needs the same one).
pub use process::SECRET_KEY as TEST_SECRET_KEY;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery";

/// The database the tests run on: SQLite unless `SIGNPOST_TEST_DATABASE`
/// says `postgres` (scripts/test runs the suite once on each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_this_run() -> Backend {
        match std::env::var("SIGNPOST_TEST_DATABASE").as_deref() {
            Ok("postgres") => Backend::Postgres,
            Ok("sqlite") | Err(_) => Backend::Sqlite,
            Ok(other) => panic!("SIGNPOST_TEST_DATABASE is {other:?}: say sqlite or postgres"),
        }
    }
}

/// The test PostgreSQL server's URL (its `postgres` database).
pub fn postgres_server_url() -> String {
    std::env::var("SIGNPOST_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "SIGNPOST_TEST_POSTGRES_URL is not set: these tests need a PostgreSQL server. \
             scripts/test starts one; by hand, see start_test_postgres in scripts/lib.sh"
        )
    })
}

/// A new, empty database on the test PostgreSQL server; its URL.
pub async fn fresh_postgres_database() -> String {
    let url = postgres_server_url();
    let admin = sqlx::PgPool::connect(&url)
        .await
        .expect("the test PostgreSQL answers");
    let name = format!("signpost_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

/// A running Signpost with a throw-away database; stopped on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    /// Its database (SQLite in `root`, or a database of its own on the
    /// test PostgreSQL server).
    pub database_url: String,
    /// The server's own state (to look at what its worker holds).
    pub state: signpost::server::state::AppState,
    /// The directory of its database, owned by `dir` unless the server
    /// shares another's (see [`TestServer::beside`]).
    root: std::path::PathBuf,
    dir: Option<TempDir>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// Started with a configuration adjusted by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::start_in(tempfile::tempdir().unwrap(), adjust).await
    }

    /// Started on SQLite whatever the run's backend, for what only SQLite
    /// has (its file's bytes, its pragmas, a disk that fills up).
    pub async fn start_sqlite_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        TestServer::start_at(root, Some(dir), Backend::Sqlite, adjust).await
    }

    /// Started on PostgreSQL whatever the run's backend, for what only
    /// several processes on PostgreSQL do.
    pub async fn start_postgres_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        TestServer::start_at(root, Some(dir), Backend::Postgres, adjust).await
    }

    /// Started on the database of `dir` (a fresh one, or what a stopped
    /// server left), with a configuration adjusted by `adjust`.
    pub async fn start_in(dir: TempDir, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let root = dir.path().to_path_buf();
        TestServer::start_at(root, Some(dir), Backend::of_this_run(), adjust).await
    }

    /// A second server (a second process, as far as the database can
    /// tell) on this one's database.
    pub async fn beside(&self, adjust: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::start_at(self.root.clone(), None, Backend::of_this_run(), adjust).await
    }

    /// The database of `root`: written in `root/database-url` when the
    /// first server there starts, so that a restart finds it again.
    async fn database_url_of(root: &std::path::Path, backend: Backend) -> String {
        let file = root.join("database-url");
        if let Ok(url) = std::fs::read_to_string(&file) {
            return url;
        }
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}", root.join("signpost.db").display()),
            Backend::Postgres => fresh_postgres_database().await,
        };
        std::fs::write(&file, &url).unwrap();
        url
    }

    pub fn is_postgres(&self) -> bool {
        signpost::server::db::postgres::is_postgres(&self.database_url)
    }

    async fn start_at(
        root: std::path::PathBuf,
        dir: Option<TempDir>,
        backend: Backend,
        adjust: impl FnOnce(&mut Config),
    ) -> TestServer {
        let database_url = TestServer::database_url_of(&root, backend).await;
        let mut config = Config::for_database(database_url.clone());
        // The key file beside the test's data, whatever the backend (on
        // PostgreSQL it would otherwise be made in the working directory).
        config.secret_key_file = Some(root.join("signpost.key"));
        // No test ever asks a real DNS server: a few names resolve locally.
        config.resolver = url_guard::ResolverChoice(std::sync::Arc::new(|host: String, _port| {
            Box::pin(async move {
                Ok(match host.as_str() {
                    "localhost" => vec!["127.0.0.1".parse().unwrap()],
                    "hooks.example.com" => vec!["93.184.215.14".parse().unwrap()],
                    "internal.example.com" => vec!["10.0.0.7".parse().unwrap()],
                    _ => vec![],
                })
            })
        }));
        adjust(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let (state, sessions) = signpost::server::prepare(config).await.unwrap();
        let served = state.clone();
        let task = tokio::spawn(async move {
            signpost::server::serve_prepared(listener, served, sessions, async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        let server = TestServer {
            addr,
            database_url,
            state,
            root,
            dir,
            stop: Some(stop),
            task: Some(task),
        };
        // The listener is bound already; wait until the app answers.
        for _ in 0..500 {
            if let Ok(r) = server.client().get(server.url("/healthz")).send().await {
                if r.status() == StatusCode::OK {
                    return server;
                }
            }
            tokio::task::yield_now().await;
        }
        panic!("server on {addr} never became healthy");
    }

    /// Started, with the first admin created through `/setup`.
    pub async fn with_admin() -> TestServer {
        TestServer::with_admin_signed_in(|_| {}).await.0
    }

    /// Started with an adjusted configuration, the first admin created
    /// through `/setup`, and a client signed in as that admin.
    pub async fn with_admin_signed_in(adjust: impl FnOnce(&mut Config)) -> (TestServer, Client) {
        let server = TestServer::start_with(adjust).await;
        let client = server.client();
        // With the setup token when the configuration asks for one, as the
        // operator opens the link from the log.
        let token = server.state.setup_token.get().cloned().unwrap_or_default();
        let res = client
            .post(server.url("/api/setup"))
            .form(&[
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
                ("confirm", ADMIN_PASSWORD),
                ("token", token.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "setup: {}",
            res.text().await.unwrap()
        );
        (server, client)
    }

    /// Stops the server as SIGTERM does, and waits until it has; returns
    /// the directory of its database.
    pub async fn stop(mut self) -> TempDir {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap();
        self.dir.take().unwrap()
    }

    /// A connection pool to the server's database, to check what it stored
    /// (queries on it go through `signpost::on_db!`).
    pub async fn db(&self) -> signpost::server::db::Db {
        signpost::server::db::connect(&self.database_url)
            .await
            .unwrap()
    }

    /// The SQLite file (a server started with [`TestServer::start_sqlite_with`]).
    pub fn db_path(&self) -> std::path::PathBuf {
        assert!(
            !self.is_postgres(),
            "a SQLite file was asked of a PostgreSQL server"
        );
        self.root.join("signpost.db")
    }

    /// Creates a project directly in the server's database; returns its
    /// credentials.
    pub async fn project(&self, name: &str) -> (String, String) {
        let db = self.db().await;
        let p = signpost::server::projects::create(&db, name).await.unwrap();
        db.close().await;
        (p.id, p.secret)
    }

    /// Every byte of the database as stored (main file and write-ahead log).
    pub fn database_bytes(&self) -> Vec<u8> {
        let mut bytes = std::fs::read(self.db_path()).unwrap();
        bytes
            .extend(std::fs::read(format!("{}-wal", self.db_path().display())).unwrap_or_default());
        bytes
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A client like a browser's JavaScript: a cookie jar, no redirects
    /// followed (so tests see them).
    pub fn client(&self) -> Client {
        Client::builder()
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .unwrap()
    }

    /// Calls `/api/login` as the hydrated page does.
    pub async fn login(&self, client: &Client, email: &str, password: &str) -> Response {
        client
            .post(self.url("/api/login"))
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The error a failed server function answered with.
pub async fn app_error(res: Response) -> AppError {
    let text = res.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not an AppError ({e}): {text}"))
}

/// The value of the session cookie a response sets, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers.get_all(SET_COOKIE).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let pair = v.split(';').next()?;
        let (name, value) = pair.split_once('=')?;
        (name == "signpost_session").then(|| value.to_string())
    })
}

pub fn location(res: &Response) -> String {
    res.headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The HTML of the page at `url`, as `client` gets it.
pub async fn page_text(client: &Client, url: String) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// A plain HTML form post, as a browser sends it before the page hydrates.
pub async fn plain_form_post(
    client: &Client,
    url: String,
    referer: String,
    form: &[(&str, &str)],
) -> Response {
    client
        .post(url)
        .header(ACCEPT, "text/html,application/xhtml+xml")
        .header("referer", referer)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// A server that may deliver to 127.0.0.1, with a project and a client
/// of its HTTP API.
pub struct Api {
    pub server: TestServer,
    pub pid: String,
    pub secret: String,
    pub http: Client,
}

/// What every [`Api`] server allows: delivering to 127.0.0.1, and many
/// calls a second.
fn api_config(c: &mut Config) {
    c.allow_targets = "127.0.0.1".parse().unwrap();
    c.api_rate_limit = 1000;
}

impl Api {
    pub async fn new(adjust: impl FnOnce(&mut Config)) -> Api {
        let server = TestServer::start_with(|c| {
            api_config(c);
            adjust(c)
        })
        .await;
        Api::on(server).await
    }

    /// A second server (a second process, as far as the database can tell)
    /// on this one's database, for the same project.
    pub async fn beside(&self, adjust: impl FnOnce(&mut Config)) -> Api {
        let server = self
            .server
            .beside(|c| {
                api_config(c);
                adjust(c)
            })
            .await;
        Api {
            http: server.client(),
            server,
            pid: self.pid.clone(),
            secret: self.secret.clone(),
        }
    }

    /// `server`, with a project and a client of its HTTP API.
    async fn on(server: TestServer) -> Api {
        let (pid, secret) = server.project("Deliveries").await;
        Api {
            http: server.client(),
            server,
            pid,
            secret,
        }
    }

    /// Like [`Api::new`], with the first admin set up and signed in on the
    /// returned client (for the dashboard's server functions).
    pub async fn with_admin(adjust: impl FnOnce(&mut Config)) -> (Api, Client) {
        let (server, admin) = TestServer::with_admin_signed_in(|c| {
            api_config(c);
            adjust(c)
        })
        .await;
        (Api::on(server).await, admin)
    }

    /// A request to `/projects/{pid}{path}` with the project's credentials.
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(
                method,
                self.server.url(&format!("/projects/{}{path}", self.pid)),
            )
            .basic_auth(&self.pid, Some(&self.secret))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let res = self.req(reqwest::Method::GET, path).send().await.unwrap();
        (res.status(), res.json().await.unwrap())
    }

    /// POSTs `body` as JSON; returns the status and the answer.
    pub async fn call(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let res = self.post(path).json(&body).send().await.unwrap();
        (res.status(), res.json().await.unwrap())
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(self.server.url(&format!("/projects/{}{path}", self.pid)))
            .basic_auth(&self.pid, Some(&self.secret))
    }

    /// Registers a webhook; returns its id and signing secret.
    pub async fn register(&self, url: &str, extra: Value) -> (String, String) {
        let mut body = json!({ "webhookUrl": url });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let res = self.post("/webhooks").json(&body).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let v: Value = res.json().await.unwrap();
        (
            v["data"]["id"].as_str().unwrap().to_string(),
            v["data"]["signingSecret"].as_str().unwrap().to_string(),
        )
    }

    /// Publishes raw bytes as an event; returns the status and the answer.
    pub async fn publish_raw(&self, body: &str, key: Option<&str>) -> (StatusCode, Value) {
        let mut req = self
            .post("/events")
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(key) = key {
            req = req.header("idempotency-key", key);
        }
        let res = req.send().await.unwrap();
        (res.status(), res.json().await.unwrap())
    }

    pub async fn publish(&self, event: Value) -> Value {
        let (status, answer) = self.publish_raw(&event.to_string(), None).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        answer["data"].clone()
    }
}

/// A server function called as a page's script calls it (a form post).
pub async fn server_fn(
    s: &Api,
    client: &Client,
    endpoint: &str,
    form: &[(&str, &str)],
) -> Response {
    client
        .post(s.server.url(&format!("/api/{endpoint}")))
        .form(form)
        .send()
        .await
        .unwrap()
}

impl Api {
    /// Like [`Api::new`], on PostgreSQL whatever the run's backend.
    pub async fn postgres(adjust: impl FnOnce(&mut Config)) -> Api {
        let server = TestServer::start_postgres_with(|c| {
            api_config(c);
            adjust(c)
        })
        .await;
        Api::on(server).await
    }

    /// Like [`Api::new`], on SQLite whatever the run's backend (for what
    /// only SQLite has).
    pub async fn sqlite(adjust: impl FnOnce(&mut Config)) -> Api {
        let server = TestServer::start_sqlite_with(|c| {
            api_config(c);
            adjust(c)
        })
        .await;
        Api::on(server).await
    }
}

/// A new, empty database of this run's backend, for a test that opens it
/// itself or hands it to a `signpost` process: the SQLite file `file` in
/// `dir`, or a database of its own on the test PostgreSQL server.
pub async fn fresh_database_url(dir: &std::path::Path, file: &str) -> String {
    match Backend::of_this_run() {
        Backend::Sqlite => format!("sqlite://{}", dir.join(file).display()),
        Backend::Postgres => fresh_postgres_database().await,
    }
}

/// Reads `read` until `ok` says yes (at most 30 s); returns what it read.
pub async fn eventually<T: std::fmt::Debug, F: std::future::Future<Output = T>>(
    mut read: impl FnMut() -> F,
    ok: impl Fn(&T) -> bool,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let v = read().await;
        if ok(&v) {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {v:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A resolver a test can change while the server runs (a DNS rebinding in
/// miniature): names resolve to what `answers` says, others to nothing.
pub struct Rebinding {
    answers: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, std::net::IpAddr>>>,
}

impl Rebinding {
    /// `host` resolving to `ip` at first.
    pub fn new(host: &str, ip: &str) -> Rebinding {
        let r = Rebinding {
            answers: Default::default(),
        };
        r.point(host, ip);
        r
    }

    /// From now on `host` resolves to `ip`.
    pub fn point(&self, host: &str, ip: &str) {
        self.answers
            .lock()
            .unwrap()
            .insert(host.into(), ip.parse().unwrap());
    }

    /// The resolver, for `Config::resolver`.
    pub fn resolver(&self) -> url_guard::ResolverChoice {
        let table = self.answers.clone();
        url_guard::ResolverChoice(std::sync::Arc::new(move |host: String, _| {
            let ip = table.lock().unwrap().get(&host).copied();
            Box::pin(async move { Ok(ip.into_iter().collect()) })
        }))
    }
}

/// Every server function the dashboard and the portal serve (their
/// endpoints under `/api/`, as registered by `#[server]`): the hand-kept
/// lists of the tests are compared with it, so a new function that one of
/// them leaves out fails a test instead of going untested.
pub fn server_functions() -> std::collections::BTreeSet<&'static str> {
    // Linking the crate registers them; start nothing.
    leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.strip_prefix("/api/").unwrap_or(path))
        .collect()
}

/// Compares a test's list of server functions, with those it leaves out on
/// purpose, against [`server_functions`].
pub fn assert_lists_every_server_function(
    what: &str,
    listed: impl IntoIterator<Item = &'static str>,
    left_out: &[&'static str],
) {
    let all = server_functions();
    let mut covered: std::collections::BTreeSet<&str> = listed.into_iter().collect();
    covered.extend(left_out);
    let missing: Vec<_> = all.difference(&covered).collect();
    let unknown: Vec<_> = covered.difference(&all).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "{what}: server functions not listed {missing:?}; listed but not served {unknown:?}"
    );
}
