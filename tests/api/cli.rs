//! The real binary: `admin create` reads the password from stdin, `migrate`
//! migrates, `serve` logs one line per request and never a secret, refuses
//! settings out of range and never prints the database password.

use crate::helpers::{Backend, TestDb, client, next_phone, start_binary};
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

fn medimeet() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_medimeet"));
    c.kill_on_drop(true);
    c
}

async fn run_with_stdin(args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = medimeet()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(mut i) = child.stdin.take() {
        i.write_all(stdin.as_bytes()).await.expect("stdin");
    }
    let out = child.wait_with_output().await.expect("wait");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn the_first_admin_is_created_from_stdin_and_can_log_in(backend: Backend) {
    let db = TestDb::new(backend).await;
    let url = db.url().to_owned();
    let (ok, out) = run_with_stdin(&["migrate", "--database-url", &url], "").await;
    assert!(ok, "{out}");
    assert!(out.contains("up to date"), "{out}");

    let (ok, out) = run_with_stdin(
        &[
            "admin",
            "create",
            "--email",
            "Chief@Clinic.test",
            "--database-url",
            &url,
        ],
        "short\n",
    )
    .await;
    assert!(!ok, "a short password must be refused: {out}");
    let (ok, out) = run_with_stdin(
        &[
            "admin",
            "create",
            "--email",
            "Chief@Clinic.test",
            "--database-url",
            &url,
        ],
        "a long admin secret\n",
    )
    .await;
    assert!(ok, "{out}");
    assert!(
        !out.contains("a long admin secret"),
        "password echoed: {out}"
    );
    let (ok, out) = run_with_stdin(
        &[
            "admin",
            "create",
            "--email",
            "chief@clinic.test",
            "--database-url",
            &url,
        ],
        "another long secret\n",
    )
    .await;
    assert!(!ok && out.contains("already registered"), "{out}");

    // Serve, log in as that admin, and read the logs.
    let server = start_binary(&url, &[], &[("RUST_LOG", "info")], true).await;
    let (mut child, base) = (server.child, server.base);
    let login: Value = client()
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"email": "chief@clinic.test", "password": "a long admin secret"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["token"].as_str().expect("token").to_owned();
    assert_eq!(login["role"], "admin");
    let phone = next_phone();
    let reg = client()
        .post(format!("{base}/api/v1/patients"))
        .json(
            &json!({"first_name": "Log", "last_name": "Check", "phone": phone,
                      "password": "patient secret 1", "date_of_birth": "1970-01-01"}),
        )
        .send()
        .await
        .expect("register");
    assert_eq!(reg.status(), 201);
    let wrong = client()
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"phone": phone, "password": "wrong secret 99"}))
        .send()
        .await
        .expect("login");
    assert_eq!(wrong.status(), 401);
    let wrong_id = wrong.headers()["x-request-id"]
        .to_str()
        .expect("an id")
        .to_owned();

    // SIGTERM: graceful shutdown.
    let pid = child.id().expect("pid");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("exits after SIGTERM")
        .expect("status");
    assert!(status.success(), "graceful shutdown exits 0");
    let mut logs = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut logs).await.expect("logs");
    }
    assert!(
        logs.contains("status=201") && logs.contains("latency_ms"),
        "one line per request: {logs}"
    );
    assert!(logs.contains("path=/api/v1/sessions"), "{logs}");
    // Every line logged while a request is served names its id: the failed
    // login's own line and its request line (decision 0023).
    let of_wrong: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains(&format!("id={wrong_id}")))
        .collect();
    assert!(
        of_wrong.iter().any(|l| l.contains("login failed"))
            && of_wrong.iter().any(|l| l.contains("status=401")),
        "{logs}"
    );
    for secret in [
        "a long admin secret",
        "patient secret 1",
        "wrong secret 99",
        token.as_str(),
        phone.as_str(),
    ] {
        assert!(
            !logs.contains(secret),
            "the logs contain a secret or a phone: {secret}"
        );
    }
}

crate::both_backends!(the_first_admin_is_created_from_stdin_and_can_log_in);

/// `medimeet serve ARGS` with `env`, which must exit at once: its exit code
/// and everything it printed.
async fn serve_exits(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = medimeet();
    cmd.arg("serve")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .expect("exits at once")
        .expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// A setting out of its range stops start-up before anything is opened, with
/// a message naming the flag, whether it came as a flag or from the
/// environment (the browser tests once ran with a negative notice).
#[tokio::test]
async fn out_of_range_settings_stop_start_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("never.db");
    let url = format!("sqlite:{}", db.display());
    let base = ["--listen", "127.0.0.1:0", "--database-url", url.as_str()];
    for (args, env, flag, why) in [
        (
            &["--horizon-days", "0"][..],
            &[][..],
            "'--horizon-days",
            "0 is not in 1..=730",
        ),
        (
            &[],
            &[("MEDIMEET_MIN_NOTICE_MINUTES", "-60")],
            "'--min-notice-minutes",
            "-60 is not in 0..=10080",
        ),
        (
            &["--phone-region", "XX"],
            &[],
            "'--phone-region",
            "ISO 3166",
        ),
    ] {
        let (code, out) = serve_exits(&[&base[..], args].concat(), env).await;
        assert_eq!(code, Some(2), "{args:?} {env:?}: {out}");
        assert!(out.contains(flag) && out.contains(why), "{out}");
    }
    assert!(!db.exists(), "no database is opened with a bad setting");
}

/// Every setting can come from a file named by `MEDIMEET_<NAME>_FILE`
/// (secrets never need to sit in the environment); the file's value is
/// checked like any other and a secret in it is never printed.
#[tokio::test]
async fn settings_come_from_files_and_secrets_are_never_printed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("f.db").display());
    let base = ["--listen", "127.0.0.1:0", "--database-url", url.as_str()];
    let header = dir.path().join("sms-auth");
    std::fs::write(&header, "no colon here s3cret-xyz\n").expect("write");
    let body = dir.path().join("sms-body");
    std::fs::write(&body, "{\"text\":\"{text}\"}\n").expect("write");
    let header_path = header.display().to_string();
    let body_path = body.display().to_string();

    // A malformed header from a file: refused, naming the flag, not the value.
    let (code, out) = serve_exits(
        &base,
        &[
            ("MEDIMEET_SMS_URL", "https://sms.example.test/send"),
            ("MEDIMEET_SMS_BODY", "{\"to\":\"{to}\",\"text\":\"{text}\"}"),
            ("MEDIMEET_SMS_AUTH_HEADER_FILE", header_path.as_str()),
        ],
    )
    .await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("--sms-auth-header"), "{out}");
    assert!(!out.contains("s3cret"), "{out}");

    // A template from a file is checked like one from the command line.
    let (code, out) = serve_exits(
        &base,
        &[
            ("MEDIMEET_SMS_URL", "https://sms.example.test/send"),
            ("MEDIMEET_SMS_BODY_FILE", body_path.as_str()),
        ],
    )
    .await;
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("must contain {to} and {text}"), "{out}");

    // A file that is not there stops start-up, naming the variable.
    let (code, out) = serve_exits(&base, &[("MEDIMEET_SMTP_URL_FILE", "/nonexistent/smtp")]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("MEDIMEET_SMTP_URL_FILE"), "{out}");
}

/// The database URL's password shows nowhere: not in the error of a URL
/// that cannot be opened, nor in `--help` (which shows the environment).
#[tokio::test]
async fn the_database_password_is_never_printed() {
    let url = "postgres://medimeet:s3cret-pw@127.0.0.1:99999/clinic";
    let (ok, out) = run_with_stdin(&["migrate", "--database-url", url], "").await;
    assert!(!ok && out.contains("invalid database URL"), "{out}");
    assert!(!out.contains("s3cret"), "{out}");

    let (code, out) = serve_exits(&["--help"], &[("DATABASE_URL", url)]).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("--database-url"), "{out}");
    assert!(!out.contains("s3cret"), "{out}");
}

/// The test clock of the browser tests is not in the ordinary build
/// (docs/decisions/0010-test-clock.md).
#[cfg(not(feature = "test-clock"))]
#[tokio::test]
async fn the_ordinary_build_has_no_test_clock() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = start_binary(db.url(), &[], &[], false).await;
    let r = client()
        .post(format!("{}/__test/clock/advance?secs=3600", server.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 404);
}

/// With `--features test-clock`, loopback clients move the server's clock.
#[cfg(feature = "test-clock")]
#[tokio::test]
async fn the_test_clock_moves_the_servers_time() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = start_binary(db.url(), &[], &[], false).await;
    let before = jiff::Timestamp::now();
    let r = client()
        .post(format!("{}/__test/clock/advance?secs=-7200", server.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    let now: jiff::Timestamp = body["now"].as_str().expect("now").parse().expect("instant");
    let behind = before.as_second() - now.as_second();
    assert!((7190..=7200).contains(&behind), "{behind} s behind");
    let r = client()
        .post(format!("{}/__test/clock/advance?secs=lots", server.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 400);
}
