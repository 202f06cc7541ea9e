//! The `signpost` binary's subcommands and its errors.

use std::io::Write;
use std::process::{Command, Stdio};

fn signpost(db: &str, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_signpost"))
        .env("SIGNPOST_DATABASE_URL", db)
        .env("SIGNPOST_LOG", "warn")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// A new database of this run's backend (a SQLite file in the directory).
async fn temp_db() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::support::fresh_database_url(dir.path(), "cli.db").await;
    (dir, url)
}

/// A SQLite file, whatever the run's backend.
fn temp_sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    (dir, url)
}

#[tokio::test]
async fn user_create_reads_the_password_from_stdin() {
    let (_dir, db) = temp_db().await;
    let args = [
        "user",
        "create",
        "--email",
        "ops@example.com",
        "--role",
        "admin",
        "--password-stdin",
    ];
    let out = signpost(&db, &args, Some("a long enough password\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created admin ops@example.com"));

    // The same email again is a clear error.
    let out = signpost(&db, &args, Some("a long enough password\n"));
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "signpost: a user with email ops@example.com already exists"
    );

    // A short password is refused.
    let args = [
        "user",
        "create",
        "--email",
        "b@example.com",
        "--password-stdin",
    ];
    let out = signpost(&db, &args, Some("short\n"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12 characters"));
}

#[tokio::test]
async fn project_create_prints_id_and_secret_as_json() {
    let (_dir, db) = temp_db().await;
    let out = signpost(
        &db,
        &["project", "create", "--name", "Acme", "--json"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["id"].as_str().unwrap();
    let secret = v["secret"].as_str().unwrap();
    assert!(id.starts_with("prj_") && id.len() == 24, "{id}");
    assert_eq!(secret.len(), 64);
    // Only a hash of the secret is stored (its file's bytes: SQLite only, a
    // PostgreSQL server's files are not the test's to read).
    if let Some(path) = db.strip_prefix("sqlite://") {
        let bytes = std::fs::read(path).unwrap();
        let wal = std::fs::read(format!("{path}-wal")).unwrap_or_default();
        for file in [&bytes, &wal] {
            assert!(!file.windows(64).any(|w| w == secret.as_bytes()));
        }
    }
}

#[test]
fn a_wrong_flag_is_a_clear_error_not_a_panic() {
    // The command line is refused before any database is opened.
    let (_dir, db) = temp_sqlite();
    let out = signpost(&db, &["--no-such-flag"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: unexpected argument '--no-such-flag'"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn an_unreachable_database_is_one_clear_line() {
    let out = signpost(
        "sqlite:///nonexistent-dir/x/signpost.db",
        &["migrate"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("signpost: cannot open database sqlite:///nonexistent-dir/x/signpost.db"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

/// SQLite only: it looks for the file (on PostgreSQL see
/// `postgres::migrate_works_on_postgres_and_so_do_the_other_commands`).
#[test]
fn migrate_creates_the_database() {
    let (dir, db) = temp_sqlite();
    let out = signpost(&db, &["migrate"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("cli.db").exists());
}

/// `--role viewer` and `--project` (repeatable): the user reaches those
/// projects only; an unknown id is refused before anything is created.
#[tokio::test]
async fn user_create_gives_a_member_or_viewer_their_projects() {
    let (_dir, db) = temp_db().await;
    let project = |name: &str| {
        let out = signpost(&db, &["project", "create", "--name", name, "--json"], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["id"].as_str().unwrap().to_string()
    };
    let (one, two, _three) = (project("One"), project("Two"), project("Three"));
    let out = signpost(
        &db,
        &[
            "user",
            "create",
            "--email",
            "v@example.com",
            "--role",
            "viewer",
            "--project",
            &one,
            "--project",
            &two,
            "--password-stdin",
        ],
        Some("a long enough password\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created viewer v@example.com"));
    let out = signpost(
        &db,
        &[
            "user",
            "create",
            "--email",
            "m@example.com",
            "--role",
            "member",
            "--project",
            "prj_nope",
            "--password-stdin",
        ],
        Some("a long enough password\n"),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no project has the id prj_nope"));

    let pool = signpost::server::db::connect(&db).await.unwrap();
    let mut access = signpost::server::db::access::all(&pool).await.unwrap();
    access.sort_by(|a, b| a.1.cmp(&b.1));
    let mut expected = vec![one, two];
    expected.sort();
    assert_eq!(
        access.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>(),
        expected
    );
    let role: String = signpost::on_db!(&pool, p => sqlx::query_scalar(
        "SELECT role FROM users WHERE email = 'v@example.com'"
    )
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(role, "viewer");
    let none: i64 = signpost::on_db!(&pool, p => sqlx::query_scalar(
        "SELECT count(*) FROM users WHERE email = 'm@example.com'"
    )
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(none, 0, "nothing created");
}
