//! The API over real sockets: an in-process server on 127.0.0.1:0 (and the
//! built binary for the CLI), driven with reqwest like a till would.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use regulars_server::backend::SqliteBackend;
use regulars_server::{http, serve, service};
use regulars_sync::protocol::{
    Change, ChangeStatus, EnrollRequest, EnrollResponse, PullResponse, PushRequest, PushResponse,
    ServerInfo, MAX_BATCH, MAX_BODY_BYTES, SCHEMA_VERSION,
};
use regulars_sync::Hlc;
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

struct Fixture {
    url: String,
    backend: Arc<SqliteBackend>,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(SqliteBackend::open_dir(dir.path()).unwrap());
    let url = serve::spawn_loopback(Arc::clone(&backend)).await.unwrap();
    Fixture {
        url,
        backend,
        client: http_client(),
        _dir: dir,
    }
}

impl Fixture {
    async fn code(&self) -> String {
        let b = Arc::clone(&self.backend);
        tokio::task::spawn_blocking(move || {
            service::create_enroll_code(
                &*b,
                "Main St",
                chrono::Duration::hours(1),
                chrono::Utc::now(),
            )
            .unwrap()
        })
        .await
        .unwrap()
    }

    async fn enroll(&self) -> EnrollResponse {
        let res = self
            .client
            .post(format!("{}/v1/enroll", self.url))
            .json(&EnrollRequest {
                code: self.code().await,
                device_name: "Till".into(),
                device_id: Uuid::now_v7(),
            })
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }
}

fn note(device: Uuid) -> Change {
    Change {
        id: Uuid::now_v7(),
        device,
        hlc: Hlc::new(1_764_000_000_000, 0),
        schema: SCHEMA_VERSION,
        entity: "note".into(),
        entity_id: Uuid::now_v7().to_string(),
        op: "insert".into(),
        payload: json!({"customer_id": Uuid::now_v7().to_string(), "body": "hello"}),
    }
}

/// The error body: code, a message, and the server's time.
async fn api_error(res: reqwest::Response, status: StatusCode, code: &str) -> String {
    assert_eq!(res.status(), status);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["server_ms"].as_u64().unwrap() > 1_700_000_000_000,
        "{body}"
    );
    body["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn enroll_push_pull_round_trip() {
    let f = start().await;
    let info: ServerInfo = f
        .client
        .get(format!("{}/v1/info", f.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info.protocol, regulars_sync::protocol::PROTOCOL_VERSION);
    let a = f.enroll().await;
    let b = f.enroll().await;
    assert_eq!((a.device_number, b.device_number), (1, 2));
    let batch = vec![note(a.device_id), note(a.device_id)];
    for want in [ChangeStatus::Applied, ChangeStatus::Duplicate] {
        let res: PushResponse = f
            .client
            .post(format!("{}/v1/push", f.url))
            .bearer_auth(&a.token)
            .json(&PushRequest {
                changes: batch.clone(),
                sent_ms: 0,
            })
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(res.results.iter().all(|r| r.status == want), "{res:?}");
    }
    let page: PullResponse = f
        .client
        .get(format!("{}/v1/pull?after=0&limit=1", f.url))
        .bearer_auth(&b.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page.changes.len(), 1);
    assert!(page.more);
    assert_eq!(page.changes[0].change, batch[0]);
    let rest: PullResponse = f
        .client
        .get(format!("{}/v1/pull?after={}", f.url, page.next_cursor))
        .bearer_auth(&b.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest.changes.len(), 1);
    assert!(!rest.more);
}

#[tokio::test]
async fn malformed_requests_are_bad_requests() {
    let f = start().await;
    let a = f.enroll().await;
    let push = || {
        f.client
            .post(format!("{}/v1/push", f.url))
            .bearer_auth(&a.token)
    };
    for body in [
        "{",
        "[]",
        r#"{"changes": 5, "sent_ms": 0}"#,
        r#"{"changes": [{"id": "x"}], "sent_ms": 0}"#,
    ] {
        let res = push()
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let msg = api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
        assert!(msg.contains("openapi"), "{msg}");
    }
    // Not JSON at all.
    let res = push().body("hello").send().await.unwrap();
    api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    // A bad cursor.
    let res = f
        .client
        .get(format!("{}/v1/pull?after=minus", f.url))
        .bearer_auth(&a.token)
        .send()
        .await
        .unwrap();
    api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    let res = f
        .client
        .get(format!("{}/v1/pull?after=-3", f.url))
        .bearer_auth(&a.token)
        .send()
        .await
        .unwrap();
    api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
}

#[tokio::test]
async fn oversized_bodies_and_batches_are_too_large() {
    let f = start().await;
    let a = f.enroll().await;
    let big = format!(
        r#"{{"sent_ms": 0, "changes": [], "pad": "{}"}}"#,
        "x".repeat(MAX_BODY_BYTES)
    );
    let res = f
        .client
        .post(format!("{}/v1/push", f.url))
        .bearer_auth(&a.token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    api_error(res, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;
    let changes: Vec<Change> = (0..=MAX_BATCH).map(|_| note(a.device_id)).collect();
    let res = f
        .client
        .post(format!("{}/v1/push", f.url))
        .bearer_auth(&a.token)
        .json(&PushRequest {
            changes,
            sent_ms: 0,
        })
        .send()
        .await
        .unwrap();
    let msg = api_error(res, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;
    assert!(msg.contains("smaller batches"), "{msg}");
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let f = start().await;
    let res = f
        .client
        .get(format!("{}/v2/everything", f.url))
        .send()
        .await
        .unwrap();
    api_error(res, StatusCode::NOT_FOUND, "bad_request").await;
    let res = f
        .client
        .delete(format!("{}/v1/push", f.url))
        .send()
        .await
        .unwrap();
    api_error(res, StatusCode::METHOD_NOT_ALLOWED, "bad_request").await;
}

#[tokio::test]
async fn tokens_codes_and_revocation() {
    let f = start().await;
    let a = f.enroll().await;
    let body = PushRequest {
        changes: vec![note(a.device_id)],
        sent_ms: 0,
    };
    // No token, a wrong one, a garbage body with a wrong one: 401, nothing stored.
    let res = f
        .client
        .post(format!("{}/v1/push", f.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    api_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let res = f
        .client
        .post(format!("{}/v1/push", f.url))
        .bearer_auth("0".repeat(64))
        .json(&body)
        .send()
        .await
        .unwrap();
    api_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let res = f
        .client
        .post(format!("{}/v1/push", f.url))
        .bearer_auth("nope")
        .body("{")
        .send()
        .await
        .unwrap();
    api_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let res = f
        .client
        .get(format!("{}/v1/pull", f.url))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    api_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // A used code.
    let code = f.code().await;
    let req = |device_id| EnrollRequest {
        code: code.clone(),
        device_name: "Till".into(),
        device_id,
    };
    let ok = f
        .client
        .post(format!("{}/v1/enroll", f.url))
        .json(&req(Uuid::now_v7()))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let res = f
        .client
        .post(format!("{}/v1/enroll", f.url))
        .json(&req(Uuid::now_v7()))
        .send()
        .await
        .unwrap();
    api_error(res, StatusCode::FORBIDDEN, "bad_enroll_code").await;
    // Revoked: 403 from then on.
    let b = Arc::clone(&f.backend);
    let id = a.device_id;
    tokio::task::spawn_blocking(move || {
        regulars_server::Backend::revoke(&*b, id, chrono::Utc::now())
    })
    .await
    .unwrap()
    .unwrap();
    let res = f
        .client
        .post(format!("{}/v1/push", f.url))
        .bearer_auth(&a.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    api_error(res, StatusCode::FORBIDDEN, "revoked").await;
    // Nothing was stored by any of it.
    let reader = f.enroll().await;
    let page: PullResponse = f
        .client
        .get(format!("{}/v1/pull", f.url))
        .bearer_auth(&reader.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(page.changes.is_empty());
}

#[tokio::test]
async fn openapi_document_matches_the_router() {
    let f = start().await;
    let served = f
        .client
        .get(format!("{}/v1/openapi.json", f.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let on_disk = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/openapi.json"
    ))
    .unwrap();
    assert_eq!(served, on_disk, "served verbatim");
    let doc: Value = serde_json::from_str(&served).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut routes: Vec<(String, String)> = http::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    routes.sort();
    assert_eq!(documented, routes);
    // Every route is really served with that method (not the 404/405 fallbacks).
    for (method, path) in &routes {
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let res = f
            .client
            .request(m, format!("{}{path}", f.url))
            .send()
            .await
            .unwrap();
        assert!(
            res.status() != StatusCode::NOT_FOUND && res.status() != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {}",
            res.status()
        );
    }
    // Every error code the protocol has is documented.
    let codes = doc["components"]["schemas"]["ApiError"]["properties"]["code"]["enum"].clone();
    for code in [
        "bad_request",
        "too_large",
        "unauthorized",
        "revoked",
        "bad_enroll_code",
        "resync_required",
        "internal",
    ] {
        assert!(codes.as_array().unwrap().contains(&json!(code)), "{code}");
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_regulars-server"))
}

#[tokio::test]
async fn the_binary_serves_enrolls_lists_and_revokes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = bin()
        .args(["--data", data, "enroll", "--store", "Main St"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(code.len(), 19, "{code}");

    let log_path = dir.path().join("stderr.log");
    let mut child = bin()
        .args([
            "--data",
            data,
            "--listen",
            "127.0.0.1:0",
            "--organisation",
            "Corner Bakery",
        ])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .expect(&first)
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let client = http_client();
    let device = Uuid::now_v7();
    let res: EnrollResponse = client
        .post(format!("{url}/v1/enroll"))
        .json(&EnrollRequest {
            code: code.clone(),
            device_name: "Till 1".into(),
            device_id: device,
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(res.organisation, "Corner Bakery");
    assert_eq!(res.store_name, "Main St");
    let mut secret = note(device);
    secret.payload =
        json!({"customer_id": Uuid::now_v7().to_string(), "body": "Margaret-Quokka-0400111222"});
    let pushed: PushResponse = client
        .post(format!("{url}/v1/push"))
        .bearer_auth(&res.token)
        .json(&PushRequest {
            changes: vec![secret],
            sent_ms: 0,
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pushed.results[0].status, ChangeStatus::Applied);

    let out = bin().args(["--data", data, "devices"]).output().unwrap();
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(
        listing.contains(&device.to_string()) && listing.contains("active"),
        "{listing}"
    );
    let out = bin()
        .args(["--data", data, "revoke", &device.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let r = client
        .get(format!("{url}/v1/pull"))
        .bearer_auth(&res.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    child.kill().unwrap();
    child.wait().unwrap();
    // The log saw the requests, and none of the secrets or the payload.
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("/v1/push") && log.contains("applied=1"),
        "{log}"
    );
    for secret in [res.token.as_str(), code.as_str(), "Quokka"] {
        assert!(!log.contains(secret), "{secret:?} in the log");
    }
}

#[tokio::test]
async fn a_cursor_below_the_floor_must_resync() {
    let f = start().await;
    let a = f.enroll().await;
    // No compaction command exists yet: move the floor by hand, as one would.
    let db = rusqlite::Connection::open(f._dir.path().join("server.db")).unwrap();
    db.execute("UPDATE meta SET value = '5' WHERE key = 'floor'", [])
        .unwrap();
    let pull = |after: i64| {
        f.client
            .get(format!("{}/v1/pull?after={after}", f.url))
            .bearer_auth(&a.token)
            .send()
    };
    let msg = api_error(pull(2).await.unwrap(), StatusCode::GONE, "resync_required").await;
    assert!(msg.contains("bootstrap"), "{msg}");
    assert_eq!(pull(5).await.unwrap().status(), StatusCode::OK);
}

#[test]
fn the_binary_refuses_plain_http_off_loopback_and_bad_tls_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = bin()
        .args(["--data", data, "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing plain HTTP") && err.contains("--tls-cert"),
        "{err}"
    );
    let out = bin()
        .args([
            "--data",
            data,
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "/nonexistent.pem",
            "--tls-key",
            "/nonexistent.key",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TLS certificate"), "{err}");
    let out = bin()
        .args(["--data", data, "enroll", "--store", ""])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[tokio::test]
async fn tls_serves_with_the_given_certificate() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();

    let backend = Arc::new(SqliteBackend::open_dir(&dir.path().join("data")).unwrap());
    let opts = serve::ServeOptions {
        tls: Some((cert_path, key_path)),
        ..serve::ServeOptions::loopback()
    };
    let bound = serve::Bound::bind(&opts).await.unwrap();
    assert!(
        bound.url().starts_with("https://127.0.0.1:"),
        "{}",
        bound.url()
    );
    let addr = bound.addr();
    tokio::spawn(bound.run(backend, std::future::pending()));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(b"GET /v1/info HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    tls.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"protocol\":1"), "{response}");

    // Plain HTTP to the TLS port gets no answer from the API.
    let plain = http_client()
        .get(format!("http://{addr}/v1/info"))
        .send()
        .await;
    assert!(plain.map(|r| r.status() != StatusCode::OK).unwrap_or(true));
}

/// A plain HTTP client. The workspace builds reqwest without a built-in TLS
/// provider (the till installs ring once); install it here too.
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
