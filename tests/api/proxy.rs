//! Behind a reverse proxy (decision 0023): the README's nginx example,
//! docs/deploy/nginx.conf, run as it is under a real nginx terminating TLS in
//! front of the server; and the request id and HSTS of every answer.

use crate::helpers::{Backend, TestApp, booked_visit, spawn_app, spawn_app_with, test_settings};
use futures_util::StreamExt;
use medimeet::config::Settings;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const HOST: &str = "clinic.example.org";

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA and a certificate for [`HOST`] signed by it.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let p = |f: &str| dir.join(f);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(Command::new("openssl")
        .args(["req", "-x509"])
        .args(ec)
        .args(["-subj", "/CN=medimeet test CA", "-days", "2"])
        .arg("-keyout")
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("ca.pem")));
    run(Command::new("openssl")
        .arg("req")
        .args(ec)
        .args(["-subj", &format!("/CN={HOST}")])
        .arg("-keyout")
        .arg(p("site.key"))
        .arg("-out")
        .arg(p("site.csr")));
    std::fs::write(
        p("site.ext"),
        format!(
            "subjectAltName=DNS:{HOST}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        ),
    )
    .unwrap();
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
        .arg("-in")
        .arg(p("site.csr"))
        .arg("-CA")
        .arg(p("ca.pem"))
        .arg("-CAkey")
        .arg(p("ca.key"))
        .arg("-extfile")
        .arg(p("site.ext"))
        .arg("-out")
        .arg(p("site.pem")));
    (p("ca.pem"), p("site.pem"), p("site.key"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx running docs/deploy/nginx.conf in front of `app`.
struct Nginx {
    child: std::process::Child,
    dir: tempfile::TempDir,
    https: u16,
    http: u16,
    ca: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    async fn start(app: &TestApp) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = certificates(dir.path());
        let (https, http) = (free_port(), free_port());
        let example = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/deploy/nginx.conf"),
        )
        .unwrap();
        let d = dir.path().display();
        let mut site = example.clone();
        // Only what a clinic changes: ports, paths, the upstream.
        for (from, to) in [
            ("listen 80;", format!("listen 127.0.0.1:{http};")),
            ("listen 443 ssl;", format!("listen 127.0.0.1:{https} ssl;")),
            (
                "/etc/ssl/certs/clinic.example.org.pem",
                cert.display().to_string(),
            ),
            (
                "/etc/ssl/private/clinic.example.org.key",
                key.display().to_string(),
            ),
            (
                "/var/log/nginx/medimeet.access.log",
                format!("{d}/access.log"),
            ),
            ("server 127.0.0.1:8080;", format!("server {};", app.addr)),
        ] {
            assert!(site.contains(from), "the example no longer has {from:?}");
            site = site.replace(from, &to);
        }
        std::fs::write(dir.path().join("medimeet.conf"), site).unwrap();
        std::fs::write(
            dir.path().join("nginx.conf"),
            format!(
                "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
                 events {{}}\nhttp {{\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
                 fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
                 access_log off;\n  include {d}/medimeet.conf;\n}}\n"
            ),
        )
        .unwrap();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .args(["-e", &format!("{d}/error.log")])
            .spawn()
            .expect("nginx runs (Debian's nginx package; .ci/run installs it)");
        let n = Nginx {
            child,
            dir,
            https,
            http,
            ca,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", https))
                .await
                .is_ok()
            {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "nginx did not listen: {}",
            std::fs::read_to_string(n.dir.path().join("error.log")).unwrap_or_default()
        );
    }

    /// `curl` over HTTPS through nginx: status, headers (lower-case names)
    /// and body.
    fn curl(&self, method: &str, path: &str, headers: &[&str], body: Option<&Value>) -> Reply {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "-D", "-", "-X", method, "--cacert"])
            .arg(&self.ca)
            .args(["--resolve", &format!("{HOST}:{}:127.0.0.1", self.https)]);
        for h in headers {
            cmd.args(["-H", h]);
        }
        if let Some(b) = body {
            cmd.args([
                "-H",
                "content-type: application/json",
                "--data",
                &b.to_string(),
            ]);
        }
        cmd.arg(format!("https://{HOST}:{}{path}", self.https));
        let out = cmd.output().expect("curl runs");
        assert!(
            out.status.success(),
            "curl: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Reply::parse(&String::from_utf8_lossy(&out.stdout))
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    /// Whether nginx logged request `id` (it writes the line just after the
    /// answer, so it may come a moment after curl is done).
    async fn logged(&self, id: &str) -> bool {
        for _ in 0..50 {
            if self.access_log().contains(&format!("id={id}")) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn parse(raw: &str) -> Reply {
        let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Reply {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

async fn the_nginx_example_terminates_tls_in_front_of_medimeet(backend: Backend) {
    let settings = Settings {
        trust_forwarded_for: true,
        secure_cookies: true,
        ..test_settings()
    };
    let app = spawn_app_with(backend, settings).await;
    let nginx = Nginx::start(&app).await;

    // TLS answered, HSTS and the request id on the way back; nginx's id is
    // medimeet's (the access log names it).
    let r = nginx.curl("GET", "/healthz", &[], None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    let id = r.header("x-request-id").expect("a request id").to_owned();
    assert!(
        nginx.logged(&id).await && nginx.access_log().contains("\"GET /healthz\" 200"),
        "nginx logged another id than {id}: {}",
        nginx.access_log()
    );

    // Plain HTTP is sent to HTTPS.
    let out = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
        ])
        .args(["--resolve", &format!("{HOST}:{}:127.0.0.1", nginx.http)])
        .arg(format!("http://{HOST}:{}/login", nginx.http))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("301 https://clinic.example.org"), "{text}");

    // The client address medimeet records is the one nginx saw, not the one
    // a client claims: the example replaces X-Forwarded-For.
    let patient = app.new_patient().await;
    let phone: String = app
        .get(
            &format!("/api/v1/patients/{}", patient.id),
            Some(&patient.token),
        )
        .await
        .body["phone"]
        .as_str()
        .unwrap()
        .to_owned();
    let login = nginx.curl(
        "POST",
        "/api/v1/sessions",
        &["x-forwarded-for: 6.6.6.6", "user-agent: proxy-test/1"],
        Some(&json!({"phone": phone, "password": "long enough pw"})),
    );
    assert_eq!(login.status, 201, "{}", login.body);
    let token = login.json()["token"].as_str().unwrap().to_owned();
    let auth = format!("authorization: Bearer {token}");
    let sessions = nginx.curl("GET", "/api/v1/sessions", &[&auth], None).json();
    let current = sessions["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .expect("the current session")
        .clone();
    assert_eq!(current["address"], "127.0.0.1", "{sessions}");
    assert!(
        current["device"]
            .as_str()
            .unwrap_or("")
            .contains("proxy-test"),
        "{sessions}"
    );

    // An error answer names its request id, the same as its header and as
    // nginx's log.
    let missing = nginx.curl("GET", "/api/v1/appointments/987654", &[&auth], None);
    assert_eq!(missing.status, 404);
    let id = missing.header("x-request-id").unwrap().to_owned();
    assert_eq!(missing.json()["request_id"], id.as_str());
    assert!(nginx.logged(&id).await, "{}", nginx.access_log());

    // Page cookies are Secure through the proxy.
    let page = nginx.curl("GET", "/login", &[], None);
    assert_eq!(page.status, 200);
    let cookies: Vec<&str> = page
        .headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(
        !cookies.is_empty()
            && cookies
                .iter()
                .all(|c| c.contains("Secure") && c.starts_with("__Host-")),
        "{cookies:?}"
    );

    // A calendar feed's token stays out of nginx's log.
    let feed = nginx.curl("GET", "/calendar/secret-feed-token-123.ics", &[], None);
    assert!(nginx.logged(feed.header("x-request-id").unwrap()).await);
    let log = nginx.access_log();
    assert!(!log.contains("secret-feed-token-123"), "{log}");
    assert!(log.contains("/calendar/<token>"), "{log}");

    // The visit room's WebSocket upgrades through the proxy (wss://).
    let v = booked_visit(&app).await;
    app.clock
        .advance(v.start.as_second() - 60 - app.clock.now().as_second());
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(&nginx.ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", nginx.https))
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(HOST.try_into().unwrap(), tcp)
        .await
        .expect("TLS to nginx");
    let mut req = format!(
        "wss://{HOST}:{}/api/v1/appointments/{}/visit/signal",
        nginx.https, v.id
    )
    .into_client_request()
    .unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {}", v.patient.token).parse().unwrap(),
    );
    req.headers_mut().insert(
        "origin",
        format!("https://{HOST}:{}", nginx.https).parse().unwrap(),
    );
    let (mut ws, res) = tokio_tungstenite::client_async(req, tls)
        .await
        .expect("the WebSocket upgrades through nginx");
    assert_eq!(res.status().as_u16(), 101);
    let first = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("a frame in time")
        .expect("a frame")
        .expect("no error");
    let Message::Text(t) = first else {
        panic!("not a text frame: {first:?}")
    };
    let frame: Value = serde_json::from_str(&t).unwrap();
    assert_eq!(frame["type"], "welcome", "{frame}");
}

async fn every_answer_names_its_request_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let http = crate::helpers::client();
    // A problem document: the id in its body is its header's.
    let r = http
        .get(app.url("/api/v1/appointments/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["request_id"], id.as_str());
    // Each request its own; one a client sends is not taken without a
    // trusted proxy (it could forge another's id into the log).
    let r2 = http
        .get(app.url("/api/v1/appointments/1"))
        .header("x-request-id", "chosen-by-client")
        .send()
        .await
        .unwrap();
    let id2 = r2.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(id2, id);
    assert_ne!(id2, "chosen-by-client");
    // An error page says it too.
    let nf = http.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(nf.status(), 404);
    let id3 = nf.headers()["x-request-id"].to_str().unwrap().to_owned();
    let text = nf.text().await.unwrap();
    assert!(text.contains(&id3), "the error page does not name {id3}");
    // Successful answers carry the header too, and no HSTS over plain HTTP.
    let ok = http.get(app.url("/healthz")).send().await.unwrap();
    assert!(ok.headers().contains_key("x-request-id"));
    assert!(!ok.headers().contains_key("strict-transport-security"));
}

async fn a_trusted_proxys_request_id_is_kept_when_plain(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Settings {
            trust_forwarded_for: true,
            ..test_settings()
        },
    )
    .await;
    let http = crate::helpers::client();
    let r = http
        .get(app.url("/api/v1/appointments/1"))
        .header("x-request-id", "nginx-4f2a")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "nginx-4f2a");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["request_id"], "nginx-4f2a");
    // Not a plain token: replaced, never echoed into a header or the log.
    let r = http
        .get(app.url("/healthz"))
        .header("x-request-id", "a b{c}")
        .send()
        .await
        .unwrap();
    assert_ne!(r.headers()["x-request-id"], "a b{c}");
}

crate::both_backends!(
    the_nginx_example_terminates_tls_in_front_of_medimeet,
    every_answer_names_its_request_id,
    a_trusted_proxys_request_id_is_kept_when_plain,
);
