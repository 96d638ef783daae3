//! The `medimeet` binary: serve the clinic, migrate the database, load demo data,
//! create the first admin.

use clap::{Args, Parser, Subcommand};
use medimeet::clock::Clock;
use medimeet::config::{Config, DatabaseConfig};
use medimeet::domain::person::{Email, Password};
use medimeet::startup::{Application, shutdown_signal};
use medimeet::store::Store;
use std::io::{BufRead, IsTerminal};
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
    /// Run the web server (API, docs, health checks), with the notification
    /// worker unless --no-worker.
    Serve(Box<ServeArgs>),
    /// Deliver notifications (email, SMS, webhooks) without serving the web:
    /// any number of workers and servers share the queue.
    Worker(Box<WorkerArgs>),
    /// Create or upgrade the database schema, then exit.
    Migrate(DatabaseConfig),
    /// Load the demo clinic into an empty database, then exit; `demo remove`
    /// removes it again.
    Demo(DemoArgs),
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
        db: DatabaseConfig,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
struct DemoArgs {
    #[command(subcommand)]
    command: Option<DemoCommand>,
    #[command(flatten)]
    db: DatabaseConfig,
}

#[derive(Debug, Subcommand)]
enum DemoCommand {
    /// Remove the demo clinic: its accounts (marked as the demo's when
    /// loaded) and all their data. Real accounts and their data stay.
    Remove {
        #[command(flatten)]
        db: DatabaseConfig,
    },
}

#[derive(Debug, Clone, Args)]
struct ServeArgs {
    /// Load a demo clinic if the database is empty, and print its logins.
    #[arg(long, env = "MEDIMEET_DEMO")]
    demo: bool,

    /// Leave notifications to `medimeet worker` processes.
    #[arg(long, env = "MEDIMEET_NO_WORKER")]
    no_worker: bool,

    #[command(flatten)]
    config: Config,
}

#[derive(Debug, Clone, Args)]
struct WorkerArgs {
    /// The database and the channels, as for `serve` (--listen only makes
    /// the default --public-url).
    #[command(flatten)]
    config: Config,
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

/// A panic is one log line with its place, never a backtrace (with
/// `RUST_BACKTRACE=1` the default hook wrote about 56 KB per panicking
/// request); the request itself is answered by the HTTP layer's last resort.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let what: String = what.chars().take(200).collect();
        tracing::error!(place = %place, "panic: {what}");
    }));
}

fn main() -> ExitCode {
    // Before any thread exists: the environment is set only here.
    if let Err(e) = settings_from_files() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    init_logs(&cli.log_format);
    log_panics();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Every `MEDIMEET_<NAME>_FILE` names a file that holds the value of
/// `MEDIMEET_<NAME>` (Docker and Kubernetes secrets), so that no secret
/// needs to sit in the environment or on the command line. A value set
/// directly wins. Trailing line breaks are not part of the value.
fn settings_from_files() -> Result<(), String> {
    let mut found = Vec::new();
    for (key, path) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let Some(name) = key
            .strip_suffix("_FILE")
            .filter(|n| n.starts_with("MEDIMEET_"))
        else {
            continue;
        };
        if std::env::var_os(name).is_some() {
            continue;
        }
        let value = std::fs::read_to_string(&path)
            .map_err(|e| format!("{key}: cannot read {}: {e}", path.to_string_lossy()))?;
        found.push((
            name.to_owned(),
            value.trim_end_matches(['\r', '\n']).to_owned(),
        ));
    }
    for (name, value) in found {
        // SAFETY: called first thing in `main`, before the runtime or any
        // other thread exists, so nothing reads the environment meanwhile.
        unsafe { std::env::set_var(name, value) };
    }
    Ok(())
}

async fn open(db: &DatabaseConfig) -> Result<Store, String> {
    let store = Store::connect(db).await.map_err(|e| e.to_string())?;
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
        Command::Demo(DemoArgs {
            command: None, db, ..
        }) => {
            let store = open(&db).await?;
            load_demo(&store).await
        }
        Command::Demo(DemoArgs {
            command: Some(DemoCommand::Remove { db }),
            ..
        }) => {
            let store = open(&db).await?;
            let now = Clock::default().now().as_second();
            let removed = medimeet::usecases::admin::remove_demo_from(&store, None, now)
                .await
                .map_err(|e| e.to_string())?;
            let accounts = removed
                .iter()
                .find(|(t, _)| *t == "accounts")
                .map_or(0, |(_, n)| *n);
            if accounts == 0 {
                println!("No demo accounts: nothing removed.");
            } else {
                println!("Demo clinic removed ({accounts} accounts). Rows deleted:");
                for (table, n) in removed.iter().filter(|(_, n)| *n > 0) {
                    println!("  {table}: {n}");
                }
            }
            Ok(())
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
            let app = Application::build(&args.config, Clock::default())
                .await
                .map_err(|e| e.to_string())?;
            if args.demo {
                load_demo(app.store()).await?;
            }
            let app = if args.no_worker {
                app.without_worker()
            } else {
                app
            };
            let addr = app.local_addr().map_err(|e| e.to_string())?;
            tracing::info!(%addr, backend = app.store().backend(), "medimeet listening");
            println!("medimeet is running at http://{addr}/  (API docs: http://{addr}/api/docs)");
            app.run_until(shutdown_signal())
                .await
                .map_err(|e| e.to_string())
        }
        Command::Worker(args) => {
            medimeet::startup::run_worker(&args.config, Clock::default(), shutdown_signal())
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
        assert_eq!(args.config.listen.to_string(), "127.0.0.1:8080");
        if std::env::var_os("DATABASE_URL").is_none() {
            assert_eq!(args.config.database.url.expose(), "sqlite:medimeet.db");
        }
    }

    /// The error clap gives for `medimeet serve ARGS`, as text.
    fn serve_error(args: &[&str]) -> String {
        let argv = ["medimeet", "serve"].iter().chain(args).copied();
        match Cli::try_parse_from(argv) {
            Ok(cli) => panic!("{args:?} accepted: {cli:?}"),
            Err(e) => {
                assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{e}");
                e.to_string()
            }
        }
    }

    #[test]
    fn out_of_range_settings_stop_start_up_naming_the_flag() {
        for (args, flag) in [
            (&["--horizon-days", "0"][..], "--horizon-days"),
            (&["--horizon-days", "731"], "--horizon-days"),
            (&["--min-notice-minutes=-60"], "--min-notice-minutes"),
            (&["--min-notice-minutes", "10081"], "--min-notice-minutes"),
            (&["--cancel-window-hours=-1"], "--cancel-window-hours"),
            (&["--cancel-window-hours", "721"], "--cancel-window-hours"),
            (&["--session-hours", "0"], "--session-hours"),
            (&["--session-hours", "721"], "--session-hours"),
            (&["--db-connections", "0"], "--db-connections"),
            (&["--db-connections", "1001"], "--db-connections"),
            (&["--phone-region", "XX"], "--phone-region"),
            (&["--phone-region", "USA"], "--phone-region"),
            (&["--visit-opens-minutes=-1"], "--visit-opens-minutes"),
            (&["--visit-opens-minutes", "1441"], "--visit-opens-minutes"),
            (
                &["--visit-closes-minutes", "1441"],
                "--visit-closes-minutes",
            ),
        ] {
            let message = serve_error(args);
            assert!(message.contains(flag), "{args:?}: {message}");
        }
        assert!(serve_error(&["--phone-region", "XX"]).contains("ISO 3166"));
    }

    #[test]
    fn the_ends_of_each_range_are_accepted() {
        let cli = Cli::try_parse_from([
            "medimeet",
            "serve",
            "--horizon-days",
            "730",
            "--min-notice-minutes",
            "0",
            "--cancel-window-hours",
            "0",
            "--session-hours",
            "720",
            "--db-connections",
            "1000",
            "--phone-region",
            "de",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        let s = &args.config.settings;
        assert_eq!(
            (
                s.horizon_days,
                s.min_notice_minutes,
                s.cancel_window_hours,
                s.session_hours
            ),
            (730, 0, 0, 720)
        );
        assert_eq!(s.phone_region.to_string(), "DE");
        assert_eq!(args.config.database.connections, Some(1000));
    }

    #[test]
    fn every_command_that_opens_the_database_takes_the_same_flags() {
        let url = "postgres://u:pw@localhost/clinic";
        for argv in [
            &["medimeet", "migrate"][..],
            &["medimeet", "demo"],
            &["medimeet", "demo", "remove"],
            &["medimeet", "admin", "create", "--email", "a@b.cd"],
            &["medimeet", "serve"],
            &["medimeet", "worker"],
        ] {
            let argv = argv
                .iter()
                .copied()
                .chain(["--database-url", url, "--db-connections", "3"]);
            let cli = Cli::try_parse_from(argv).unwrap();
            let db = match cli.command {
                Command::Migrate(db) | Command::Demo(DemoArgs { command: None, db }) => db,
                Command::Admin {
                    command: AdminCommand::Create { db, .. },
                } => db,
                Command::Demo(DemoArgs {
                    command: Some(DemoCommand::Remove { db }),
                    ..
                }) => db,
                Command::Serve(args) => args.config.database,
                Command::Worker(args) => args.config.database,
            };
            assert_eq!(db, DatabaseConfig::new(url).with_connections(3));
            assert!(!format!("{db:?}").contains("pw"), "{db:?}");
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
