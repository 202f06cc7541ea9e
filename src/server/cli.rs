//! The `signpost` command line.

use super::config::{Config, LogFormat};
use super::{auth::password, db, projects, team};
use crate::model::{check_new_password, normalize_email, Role};
use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use tokio::io::AsyncBufReadExt;

#[derive(Debug, Parser)]
#[command(name = "signpost", version, about = "Self-hosted webhook service")]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the dashboard and the API, and deliver (the default).
    Serve,
    /// Deliver only: no dashboard, no API.
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage dashboard users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read as one line from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum, default_value = "member")]
        role: RoleArg,
        /// Read the password from standard input (required: never pass it as a flag).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// A project the member or viewer reaches (repeat it for several;
        /// ignored for an admin, who reaches every project).
        #[arg(long = "project", value_name = "ID")]
        projects: Vec<String>,
    },
    /// Print a one-time sign-in link (valid 72 h) with which the user
    /// chooses a new password; their earlier links stop working.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project and print its id and secret (shown only this once).
    Create {
        #[arg(long)]
        name: String,
        /// Print `{"id": "...", "secret": "..."}`.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    Member,
    Viewer,
}

impl From<RoleArg> for crate::model::Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Admin => crate::model::Role::Admin,
            RoleArg::Member => crate::model::Role::Member,
            RoleArg::Viewer => crate::model::Role::Viewer,
        }
    }
}

pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(&cli.config.log, cli.config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => super::serve(cli.config).await,
        Command::Worker => super::work(cli.config).await,
        Command::Migrate => {
            if db::postgres::is_postgres(&cli.config.database_url) {
                let pg = db::postgres::connect(&cli.config.database_url).await?;
                db::postgres::migrate(&pg).await?;
            } else {
                open(&cli.config).await?;
            }
            println!("migrations applied");
            Ok(())
        }
        Command::User(UserCommand::Create {
            email,
            role,
            projects,
            ..
        }) => {
            let db = open(&cli.config).await?;
            create_user(&db, &email, role.into(), &projects).await
        }
        Command::User(UserCommand::ResetPassword { email }) => {
            let db = open(&cli.config).await?;
            let base = cli
                .config
                .base_url(&super::listen_addr(&cli.config)?.to_string());
            let link = team::reset_link(&db, &email, &base)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", link.url);
            eprintln!(
                "Open this link to choose a new password for {}. It works once, for {} hours; \
                 sessions of {} end when it is used.",
                link.email,
                crate::model::SIGN_IN_LINK_HOURS,
                link.email
            );
            Ok(())
        }
        Command::Project(ProjectCommand::Create { name, json }) => {
            let db = open(&cli.config).await?;
            let p = projects::create(&db, &name)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if json {
                let out = serde_json::json!({ "id": p.id, "secret": p.secret });
                println!("{out}");
            } else {
                println!("project id:     {}", p.id);
                println!("project secret: {}", p.secret);
                println!("(the secret is shown only now: store it safely)");
            }
            Ok(())
        }
    }
}

async fn open(config: &Config) -> anyhow::Result<db::Db> {
    let db = db::connect(&config.database_url).await?;
    db::migrate(&db).await?;
    Ok(db)
}

async fn create_user(
    db: &db::Db,
    email: &str,
    role: Role,
    projects: &[String],
) -> anyhow::Result<()> {
    let email = normalize_email(email).map_err(anyhow::Error::msg)?;
    // Every project named must exist (a typo would give nothing, silently).
    for id in projects.iter().filter(|_| !role.sees_every_project()) {
        if db::projects::get(db, id).await?.is_none() {
            bail!("no project has the id {id}");
        }
    }
    let mut line = String::new();
    tokio::io::BufReader::new(tokio::io::stdin())
        .read_line(&mut line)
        .await
        .context("reading the password from standard input")?;
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    check_new_password(&pw, None).map_err(anyhow::Error::msg)?;
    let hash = password::hash(pw).await?;
    match db::users::create(db, &email, &hash, role, false).await? {
        db::users::Created::Yes(id) => {
            team::give(db, &id, role, projects)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            match role.sees_every_project() {
                true => println!("created {} {email} ({id})", role.as_str()),
                false => println!(
                    "created {} {email} ({id}), reaching {} project(s)",
                    role.as_str(),
                    projects.len()
                ),
            }
            Ok(())
        }
        _ => bail!("a user with email {email} already exists"),
    }
}

fn init_tracing(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => fmt.try_init(),
        // One object per line, with the fields of the spans it is in (a
        // request's id, a delivery's) beside its own.
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .try_init(),
    };
}
