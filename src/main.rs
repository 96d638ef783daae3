//! The `medimeet` binary: serve the clinic, migrate the database, load demo data,
//! create the first admin.

use clap::{Args, Parser, Subcommand};
use medimeet::clock::Clock;
use medimeet::config::Settings;
use medimeet::domain::person::{Email, Password};
use medimeet::startup::{Application, Config, shutdown_signal};
use medimeet::store::{ConnectOptions, Store};
use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "medimeet",
    version,
    about = "Telehealth appointments: patients, doctors, bookings."
)]
struct Cli {
    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, global = true, env = "MEDIMEET_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web server (API, docs, health checks).
    Serve(ServeArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(DbArgs),
    /// Load the demo clinic into an empty database, then exit.
    Demo(DbArgs),
    /// Administer accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an admin account. The password is read from standard input (or
    /// asked for on a terminal), never from the command line.
    Create {
        /// The admin's login email.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Clone, Args)]
struct DbArgs {
    /// Database: `sqlite:PATH` (created if missing) or `postgres://user@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite:medimeet.db")]
    database_url: String,

    /// Database connections: the PostgreSQL pool size (default 16) or the
    /// SQLite reader connections (default 4).
    #[arg(long, env = "MEDIMEET_DB_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..=1000))]
    db_connections: Option<u32>,
}

#[derive(Debug, Clone, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "MEDIMEET_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// Load a demo clinic if the database is empty, and print its logins.
    #[arg(long, env = "MEDIMEET_DEMO")]
    demo: bool,

    #[command(flatten)]
    db: DbArgs,

    #[command(flatten)]
    settings: Settings,
}

fn init_logs(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(&cli.log_format);
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn open(db: &DbArgs) -> Result<Store, String> {
    let store = Store::connect(&ConnectOptions {
        url: db.database_url.clone(),
        max_connections: db.db_connections,
    })
    .await
    .map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    Ok(store)
}

async fn load_demo(store: &Store) -> Result<(), String> {
    let now = Clock::default().now().as_second();
    match medimeet::demo::load_if_empty(store, now)
        .await
        .map_err(|e| e.to_string())?
    {
        None => println!("The database already has accounts: demo data not loaded."),
        Some(l) => {
            println!("Demo clinic loaded. These logins are public demo values:");
            println!(
                "  patient: phone {}  password {}",
                l.patient_phone, l.patient_password
            );
            println!(
                "  admin:   email {}  password {}",
                l.admin_email, l.admin_password
            );
            println!(
                "  doctors: {} ... ({} doctors)  password {}",
                l.doctor_emails.first().map(String::as_str).unwrap_or(""),
                l.doctor_emails.len(),
                l.doctor_password
            );
        }
    }
    Ok(())
}

fn read_password() -> Result<String, String> {
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the passwords differ".into());
        }
        first
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    Ok(password)
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Migrate(db) => {
            let store = open(&db).await?;
            println!("Database is up to date ({}).", store.backend());
            Ok(())
        }
        Command::Demo(db) => {
            let store = open(&db).await?;
            load_demo(&store).await
        }
        Command::Admin {
            command: AdminCommand::Create { email, db },
        } => {
            let email = Email::parse("email", &email).map_err(|e| e.to_string())?;
            let password =
                Password::parse("password", &read_password()?).map_err(|e| e.to_string())?;
            let hash = tokio::task::spawn_blocking(move || {
                medimeet::auth::hash_password(password.expose())
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
            let store = open(&db).await?;
            let now = Clock::default().now().as_second();
            let id = store
                .create_admin(email.as_str(), &hash, now)
                .await
                .map_err(|e| match e {
                    medimeet::store::StoreError::Conflict(_) => {
                        format!("{} is already registered", email.as_str())
                    }
                    other => other.to_string(),
                })?;
            println!("Admin {} created (account {id}).", email.as_str());
            Ok(())
        }
        Command::Serve(args) => {
            let cfg = Config {
                database_url: args.db.database_url.clone(),
                db_connections: args.db.db_connections,
                listen: args.listen,
                settings: args.settings.clone(),
            };
            let app = Application::build(&cfg, Clock::default())
                .await
                .map_err(|e| e.to_string())?;
            if args.demo {
                load_demo(app.store()).await?;
            }
            let addr = app.local_addr().map_err(|e| e.to_string())?;
            tracing::info!(%addr, backend = app.store().backend(), "medimeet listening");
            println!("medimeet is running at http://{addr}/  (API docs: http://{addr}/api/docs)");
            app.run_until(shutdown_signal())
                .await
                .map_err(|e| e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_defaults_to_sqlite_on_localhost_8080() {
        let cli = Cli::try_parse_from(["medimeet", "serve"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.listen.to_string(), "127.0.0.1:8080");
        if std::env::var_os("DATABASE_URL").is_none() {
            assert_eq!(args.db.database_url, "sqlite:medimeet.db");
        }
    }

    #[test]
    fn admin_create_takes_no_password_argument() {
        assert!(
            Cli::try_parse_from([
                "medimeet",
                "admin",
                "create",
                "--email",
                "a@b.cd",
                "--password",
                "x"
            ])
            .is_err()
        );
    }
}
