//! Hostile traffic against the real binary: cross-site writes, forged client addresses,
//! the headers that keep pages from being framed, sniffed or injected into.

mod common;

use common::*;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// What a request sends besides its method and path.
#[derive(Clone, Copy)]
enum Body {
    Json(fn() -> Value),
    Form(&'static [(&'static str, &'static str)]),
    Multipart,
    Nothing,
}

async fn send(
    c: &reqwest::Client,
    method: Method,
    url: String,
    body: Body,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut req = c.request(method, url);
    req = match body {
        Body::Json(v) => req.json(&v()),
        Body::Form(f) => req.form(f),
        Body::Multipart => req.multipart(
            reqwest::multipart::Form::new()
                .text("csrf", "x")
                .part("file", reqwest::multipart::Part::text("name,public_key\n")),
        ),
        Body::Nothing => req,
    };
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_changing_request_from_another_sites_page_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Cross-site", 1, false).await;
    let id = e.election;
    let before = table_counts(&s.db).await;
    // The issue's own attack: a page on another port of the same host (same site, so
    // the Lax session cookie goes along), a page of another site, a sandboxed page.
    let port: u16 = s.base.rsplit(':').next().unwrap().parse().unwrap();
    let other_port = format!("http://127.0.0.1:{}", port.wrapping_add(1));
    let foreign: [&[(&str, &str)]; 5] = [
        &[("origin", &other_port)],
        &[("origin", "https://evil.example")],
        &[("origin", "null")],
        &[("sec-fetch-site", "same-site")],
        &[("sec-fetch-site", "cross-site")],
    ];
    let writes: Vec<(Method, String, Body)> = vec![
        (
            Method::POST,
            format!("/api/elections/{id}/open"),
            Body::Json(|| json!({})),
        ),
        (
            Method::POST,
            "/api/elections".into(),
            Body::Json(|| json!({"title": "Forged", "difficulty": 8, "quorum": 2})),
        ),
        (
            Method::POST,
            "/api/session".into(),
            Body::Json(|| json!({"username": "admin", "password": ADMIN_PASSWORD})),
        ),
        (Method::DELETE, "/api/session".into(), Body::Nothing),
        (
            Method::POST,
            "/sfn/admin/open".into(),
            Body::Form(&[("election", "1"), ("csrf", "x")]),
        ),
        (
            Method::POST,
            "/sfn/login".into(),
            Body::Form(&[("username", "admin"), ("password", ADMIN_PASSWORD)]),
        ),
        (
            Method::POST,
            "/sfn/logout".into(),
            Body::Form(&[("csrf", "x")]),
        ),
        (
            Method::POST,
            "/admin/invitations".into(),
            Body::Form(&[("csrf", "x"), ("username", "mallory"), ("role", "admin")]),
        ),
        (
            Method::POST,
            format!("/admin/e/{id}/voters"),
            Body::Multipart,
        ),
    ];
    for headers in foreign {
        for (method, path, body) in &writes {
            let (status, answer) = send(&admin, method.clone(), s.url(path), *body, headers).await;
            assert_eq!(
                (status, answer["error"].as_str()),
                (StatusCode::FORBIDDEN, Some("cross_site")),
                "{method} {path} with {headers:?}: {answer}"
            );
            assert!(
                answer["message"].as_str().unwrap_or("").len() > 10,
                "{answer}"
            );
        }
    }
    assert_eq!(table_counts(&s.db).await, before);
    // Still signed in: the forged sign-outs did nothing.
    let (status, me) = get(&admin, s.url("/api/session")).await;
    assert_eq!(
        (status, me["username"].as_str()),
        (StatusCode::OK, Some("admin"))
    );

    // A bodiless POST to the API (or one with a body type a plain form can send) is
    // refused even without those headers, as an old browser would send it.
    for (content_type, body) in [
        (None, ""),
        (Some("text/plain"), ""),
        (Some("application/x-www-form-urlencoded"), "a=1"),
        (Some("multipart/form-data; boundary=x"), "--x--"),
    ] {
        let mut req = admin
            .post(s.url(&format!("/api/elections/{id}/open")))
            .body(body);
        if let Some(t) = content_type {
            req = req.header("content-type", t);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let answer: Value = r.json().await.unwrap();
        assert_eq!(
            (status, answer["error"].as_str()),
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("unsupported_media_type")
            ),
            "{content_type:?}: {answer}"
        );
    }
    assert_eq!(table_counts(&s.db).await, before);
    let api = api_of(&s, &admin);
    let detail = api.election(ledger::ElectionId(id as u64)).await.unwrap();
    assert_eq!(detail.state, wire::ElectionState::Setup);

    // This site's own page (a browser sends both headers), a custom header, and a client
    // that sends neither header (the command line, scripts) all get through.
    let own = [
        ("origin", s.base.as_str()),
        ("sec-fetch-site", "same-origin"),
    ];
    let (status, answer) = send(
        &admin,
        Method::POST,
        s.url(&format!("/api/elections/{id}/open")),
        Body::Json(|| json!({})),
        &own,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let localhost = s.base.replace("127.0.0.1", "localhost");
    let (status, answer) = send(
        &admin,
        Method::POST,
        s.url(&format!("/api/elections/{id}/close")),
        Body::Nothing,
        &[("origin", &localhost), ("x-requested-with", "fetch")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = send(
        &admin,
        Method::POST,
        s.url("/api/elections"),
        Body::Json(|| json!({"title": "By script", "difficulty": 8, "quorum": 2})),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_believe_a_forwarded_address_only_from_a_trusted_proxy() {
    async fn guess(s: &Server, forwarded_for: &str) -> StatusCode {
        client()
            .post(s.url("/api/session"))
            .header("x-forwarded-for", forwarded_for)
            .json(&json!({"username": "admin", "password": "not the password"}))
            .send()
            .await
            .unwrap()
            .status()
    }
    // No trusted proxy: the header is the client's own invention, and changing it for
    // every guess does not escape the limit of ten failures a minute.
    let dir = tempfile::tempdir().unwrap();
    let (direct, _) = server_with_admin(dir.path()).await;
    for i in 0..10 {
        assert_eq!(
            guess(&direct, &format!("198.51.100.{i}")).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        guess(&direct, "198.51.100.99").await,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Behind a trusted proxy (here the test itself, on 127.0.0.1): the forwarded
    // address is the client, so one client is limited and another is not.
    let dir = tempfile::tempdir().unwrap();
    let (proxied, _) =
        server_with_admin_using(dir.path(), &["--trusted-proxy", "127.0.0.0/8"]).await;
    // Ten failures of one client, then 429 for it, even behind an address it prepends
    // itself; another client is not limited.
    let script = std::iter::repeat_n(("203.0.113.7", 401), 10).chain([
        ("203.0.113.7", 429),
        ("192.0.2.1, 203.0.113.7", 429),
        ("203.0.113.8", 401),
    ]);
    for (i, (from, status)) in script.enumerate() {
        assert_eq!(
            guess(&proxied, from).await.as_u16(),
            status,
            "guess {i} from {from}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_https_url_is_the_only_origin_and_brings_secure_cookies_and_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) =
        server_with_admin_using(dir.path(), &["--public-url", "https://vote.example.org"]).await;
    let sign_in = |origin: &'static str| {
        let url = s.url("/api/session");
        async move {
            let mut req = client()
                .post(url)
                .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}));
            if !origin.is_empty() {
                req = req.header("origin", origin);
            }
            req.send().await.unwrap()
        }
    };
    let r = sign_in("https://vote.example.org").await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = header(r.headers(), "set-cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(
        header(r.headers(), "strict-transport-security").contains("max-age="),
        "{:?}",
        r.headers()
    );
    // The listen address is no longer this site's origin.
    let listen: &'static str = Box::leak(s.base.clone().into_boxed_str());
    let r = sign_in(listen).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let answer: Value = r.json().await.unwrap();
    assert!(
        answer["message"].as_str().unwrap().contains("--public-url"),
        "{answer}"
    );

    // Without https: no Secure cookie, no HSTS.
    let dir = tempfile::tempdir().unwrap();
    let (plain, _) = server_with_admin(dir.path()).await;
    let r = client()
        .post(plain.url("/api/session"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(!header(r.headers(), "set-cookie").contains("Secure"));
    assert!(header(r.headers(), "strict-transport-security").is_empty());

    // A public URL that is not an origin stops the server before it listens.
    for bad in ["vote.example.org", "https://vote.example.org/elections"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ballotchain"))
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--public-url",
                bad,
                "--db",
            ])
            .arg(dir.path().join("other.db"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--public-url"), "{bad}: {err}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ballotchain"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--trusted-proxy",
            "10.0.0/8",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CIDR"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_browser_protections_and_session_answers_are_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let anonymous = client();
    for (who, http) in [("anonymous", &anonymous), ("admin", &admin)] {
        for path in [
            "/",
            "/login",
            "/api/elections",
            "/api/elections/999",
            "/no-such-page",
        ] {
            let r = http.get(s.url(path)).send().await.unwrap();
            let h = r.headers().clone();
            let get = |name: &str| header(&h, name);
            assert_eq!(get("x-content-type-options"), "nosniff", "{who} {path}");
            assert_eq!(get("x-frame-options"), "DENY", "{who} {path}");
            assert_eq!(get("referrer-policy"), "same-origin", "{who} {path}");
            assert!(
                get("permissions-policy").contains("camera=()"),
                "{who} {path}"
            );
            let csp = get("content-security-policy");
            for part in [
                "default-src 'self'",
                "'wasm-unsafe-eval'",
                "worker-src 'self'",
                "frame-ancestors 'none'",
                "object-src 'none'",
            ] {
                assert!(csp.contains(part), "{who} {path}: {csp}");
            }
            assert!(!csp.contains("unsafe-inline"), "{csp}");
            // A signed-in answer (the session cookie went with the request) is never stored.
            assert_eq!(
                get("cache-control") == "no-store",
                who == "admin",
                "{who} {path}: {:?}",
                get("cache-control")
            );
            // A page's inline scripts carry this answer's nonce, and only they run.
            if !path.starts_with("/api") {
                let nonce = csp
                    .split("'nonce-")
                    .nth(1)
                    .and_then(|rest| rest.split('\'').next())
                    .unwrap_or_else(|| panic!("{who} {path}: no nonce in {csp}"))
                    .to_owned();
                let html = r.text().await.unwrap();
                let scripts = html.matches("<script").count();
                assert!(scripts >= 1, "{who} {path}");
                assert_eq!(
                    html.matches(&format!("nonce=\"{nonce}\"")).count(),
                    scripts,
                    "{who} {path}: every script has the nonce"
                );
            }
        }
    }
    // A nonce is never reused.
    let nonce_of = |r: &reqwest::Response| header(r.headers(), "content-security-policy");
    let a = nonce_of(&client().get(s.url("/")).send().await.unwrap());
    let b = nonce_of(&client().get(s.url("/")).send().await.unwrap());
    assert_ne!(a, b);
    // Signing in sets the cookie: not stored either.
    let r = client()
        .post(s.url("/api/session"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
}

/// Reads what the server sends on `stream` until it closes the connection or a whole
/// answer is in (bounded by a guard against a hung test, not a timing claim).
async fn read_until_closed_or_answered(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let guard = std::time::Duration::from_secs(60);
    loop {
        match tokio::time::timeout(guard, stream.read(&mut buf)).await {
            Err(_) => panic!("the server neither answered nor closed the connection"),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&seen);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
            });
            if length.is_some_and(|n| body.len() >= n) {
                break;
            }
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

async fn connect(s: &Server) -> tokio::net::TcpStream {
    tokio::net::TcpStream::connect(s.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

async fn write(stream: &mut tokio::net::TcpStream, bytes: &str) {
    use tokio::io::AsyncWriteExt;
    stream.write_all(bytes.as_bytes()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_half_sent_requests_are_cut_off_while_honest_ones_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = server_with_admin_using(
        dir.path(),
        &[
            "--header-timeout",
            "1",
            "--request-timeout",
            "5",
            "--max-requests",
            "8",
        ],
    )
    .await;
    let before = table_counts(&s.db).await;
    let honest = || async {
        client()
            .get(s.url("/api/elections"))
            .send()
            .await
            .unwrap()
            .status()
    };

    // Twenty clients that never finish their headers, one that stays idle after an
    // answer on a kept-alive connection: each is closed by the server, and an honest
    // client is served meanwhile.
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut c = connect(&s).await;
        write(&mut c, "GET /api/elections HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
        slow.push(c);
    }
    let mut idle = connect(&s).await;
    write(&mut idle, "GET /api/elections HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(honest().await, StatusCode::OK);
    for c in &mut slow {
        let seen = read_until_closed_or_answered(c).await;
        assert!(seen.is_empty(), "a half-sent request got an answer: {seen}");
    }
    let first = read_until_closed_or_answered(&mut idle).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert_eq!(read_until_closed_or_answered(&mut idle).await, "");
    assert_eq!(honest().await, StatusCode::OK);

    // A body that never arrives: 503 with the timeout code, and nothing changed.
    let mut half = connect(&s).await;
    write(
        &mut half,
        "POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"username\":",
    )
    .await;
    let answer = read_until_closed_or_answered(&mut half).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: "),
        "{answer}"
    );
    assert!(answer.contains("\"error\":\"timeout\""), "{answer}");

    // Two requests in flight fill one client's share (a quarter of --max-requests 8):
    // its next one is shed with 503 and Retry-After at once, and once they time out,
    // service resumes.
    let mut holding = Vec::new();
    for _ in 0..2 {
        let mut c = connect(&s).await;
        write(
            &mut c,
            "POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
        )
        .await;
        holding.push(c);
    }
    let mut shed = None;
    for _ in 0..300 {
        let r = client().get(s.url("/api/elections")).send().await.unwrap();
        if r.status() == StatusCode::SERVICE_UNAVAILABLE {
            shed = Some((
                header(r.headers(), "retry-after"),
                r.json::<Value>().await.unwrap(),
            ));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (retry_after, body) = shed.expect("a request beyond the cap is shed");
    assert!(
        retry_after.parse::<u32>().is_ok_and(|s| s > 0),
        "{retry_after}"
    );
    assert_eq!(body["error"], "overloaded", "{body}");
    for c in &mut holding {
        let answer = read_until_closed_or_answered(c).await;
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    }
    // Their bodies' deadline has passed too, so their work ends and frees the share.
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..100 {
        status = honest().await;
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, StatusCode::OK);
    assert_eq!(table_counts(&s.db).await, before);
}

/// Sends a request head announcing a large body, and a few bytes of it: the answer
/// comes without the rest only if the server decided before reading the body.
async fn head_only(s: &Server, head: &str) -> String {
    let mut c = connect(s).await;
    write(&mut c, head).await;
    write(
        &mut c,
        "--x\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n",
    )
    .await;
    read_until_closed_or_answered(&mut c).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_read_only_after_the_role_is_checked_and_each_route_has_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    // A long request timeout: an answer that waited for the body would not come
    // before the test's own guard gives up.
    let (s, admin) = server_with_admin_using(dir.path(), &["--request-timeout", "600"]).await;
    let e = open_election(&s, &admin, "Bodies", 1, false).await;
    let id = e.election;
    let before = table_counts(&s.db).await;
    let big = 10_000_000;
    let heads = [
        (
            format!("POST /admin/e/{id}/voters HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: {big}\r\n\r\n"),
            "HTTP/1.1 303",
        ),
        (
            format!("POST /admin/invitations HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {big}\r\n\r\n"),
            "HTTP/1.1 303",
        ),
        (
            format!("POST /sfn/admin/open HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {big}\r\n\r\n"),
            "HTTP/1.1 302",
        ),
        (
            format!("POST /sfn/account/password HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {big}\r\n\r\n"),
            "HTTP/1.1 200",
        ),
        (
            format!("POST /api/elections HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {big}\r\n\r\n"),
            "HTTP/1.1 401",
        ),
        (
            format!("POST /api/invitations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {big}\r\n\r\n"),
            "HTTP/1.1 401",
        ),
        (
            format!("PUT /api/session/password HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {big}\r\n\r\n"),
            "HTTP/1.1 401",
        ),
    ];
    for (head, expected) in &heads {
        let answer = head_only(&s, head).await;
        assert!(answer.starts_with(expected), "{head}\n=> {answer}");
        if head.starts_with("POST /sfn/account") {
            // A page's server function call is sent to sign in as its client expects.
            assert!(
                answer.to_ascii_lowercase().contains("serverfnredirect"),
                "{answer}"
            );
        }
        if !head.contains("/api/") {
            assert!(
                answer.to_ascii_lowercase().contains("location: /login"),
                "{answer}"
            );
        }
    }

    // Bodies over a route's limit: 413 with the too_large code, for everyone. The server
    // answers before reading such a body and closes the connection, so this client
    // never reuses one.
    let admin = reqwest::Client::builder()
        .cookie_store(true)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let r = admin
        .post(s.url("/api/session"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let huge = "x".repeat(200 * 1024);
    let cases = [
        (
            s.url("/sfn/login"),
            "application/x-www-form-urlencoded",
            format!("username=admin&password={huge}"),
        ),
        (
            s.url("/sfn/vote"),
            "application/x-www-form-urlencoded",
            format!("election=1&code={huge}"),
        ),
        (
            s.url("/api/elections"),
            "application/json",
            json!({"title": huge, "difficulty": 8, "quorum": 2}).to_string(),
        ),
        (
            s.url("/api/session"),
            "application/json",
            json!({"username": "admin", "password": huge}).to_string(),
        ),
        (
            s.url(&format!("/api/elections/{id}/votes")),
            "application/json",
            json!({"code": "x".repeat(40_000), "candidate_id": 1}).to_string(),
        ),
    ];
    for (url, content_type, body) in cases {
        let r = admin
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let answer: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")),
            "{url}: {answer}"
        );
    }
    // A chunked body (no length given) is cut at the limit too.
    let mut c = connect(&s).await;
    write(
        &mut c,
        "POST /sfn/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    .await;
    let chunk = format!("400\r\n{}\r\n", "a".repeat(1024));
    for _ in 0..300 {
        use tokio::io::AsyncWriteExt;
        // The server may answer and close before all of it is sent.
        if c.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let answer = read_until_closed_or_answered(&mut c).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(table_counts(&s.db).await, before);
}

/// A block on `work`'s tip carrying only `votes`, mined.
fn block_of(work: &wire::WorkTemplate, votes: &[ledger::Vote]) -> ledger::Block {
    let mut block = ledger::Block {
        header: work.header.clone(),
        votes: votes.to_vec(),
    };
    mine_with_votes(&mut block);
    block
}

async fn submit_from(
    s: &Server,
    id: i64,
    block: &ledger::Block,
    from: &str,
) -> (StatusCode, Value) {
    let r = client()
        .post(s.url(&format!("/api/elections/{id}/blocks")))
        .header("x-forwarded-for", from)
        .json(block)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_spam_is_bounded_and_the_dashboard_pages_through_what_awaits() {
    let dir = tempfile::tempdir().unwrap();
    // The test stands for many senders: it is the trusted proxy that names them.
    let (s, admin) = server_with_admin_using(dir.path(), &["--trusted-proxy", "127.0.0.1"]).await;
    let e = open_election(&s, &admin, "Spam", 14, true).await;
    let id = e.election;
    for (i, code) in e.codes.iter().enumerate() {
        let (st, _) = vote(&s, id, code, e.candidates[i % 2]).await;
        assert_eq!(st, StatusCode::ACCEPTED);
    }
    let work = api_of(&s, &admin)
        .work(ledger::ElectionId(id as u64))
        .await
        .unwrap();
    // One sender: four blocks at most; the fifth is refused with 429 and Retry-After.
    for i in 0..4 {
        let (st, body) = submit_from(
            &s,
            id,
            &block_of(&work, &work.votes[i..i + 1]),
            "198.51.100.1",
        )
        .await;
        assert_eq!(st, StatusCode::ACCEPTED, "{body}");
    }
    let before = table_counts(&s.db).await;
    let (st, body) = submit_from(&s, id, &block_of(&work, &work.votes[4..5]), "198.51.100.1").await;
    assert_eq!(
        (st, body["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
        "{body}"
    );
    // The same votes as an awaiting block, from anyone: 409.
    let (st, body) = submit_from(&s, id, &block_of(&work, &work.votes[0..1]), "198.51.100.2").await;
    assert_eq!(
        (st, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("duplicate")),
        "{body}"
    );
    assert_eq!(table_counts(&s.db).await, before);
    // Others fill the height to twelve awaiting blocks.
    for i in 4..12 {
        let from = format!("198.51.100.{}", 10 + i);
        let (st, body) = submit_from(&s, id, &block_of(&work, &work.votes[i..i + 1]), &from).await;
        assert_eq!(st, StatusCode::ACCEPTED, "{body}");
    }

    // The dashboard shows ten a page, and the count of all of them.
    let validator = login(&s, "validator1", VALIDATOR_PASSWORD).await;
    let page = |n: u32| {
        let validator = validator.clone();
        let url = s.url(&format!("/validator?page={n}"));
        async move { page_text(&validator, url).await }
    };
    let first = page(1).await;
    assert!(first.contains("Blocks awaiting approval (12)"), "{first}");
    assert!(first.contains("Page 1 of 2"), "{first}");
    assert_eq!(first.matches("class=\"queue-block\"").count(), 10);
    let second = page(2).await;
    assert!(second.contains("Page 2 of 2"), "{second}");
    assert_eq!(second.matches("class=\"queue-block\"").count(), 2);
    // Out of range: the last page.
    assert_eq!(page(9).await.matches("class=\"queue-block\"").count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_is_built_once_per_tip_kept_on_disk_and_tagged() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Exports", 2, true).await;
    let id = e.election;
    let url = s.url(&format!("/api/elections/{id}/export"));
    let fetch = |tag: Option<String>| {
        let url = url.clone();
        async move {
            let mut req = client().get(url);
            if let Some(tag) = tag {
                req = req.header("if-none-match", tag);
            }
            let r = req.send().await.unwrap();
            let tag = header(r.headers(), "etag");
            let retry = header(r.headers(), "retry-after");
            (r.status(), tag, retry, r.text().await.unwrap())
        }
    };
    let (st, genesis_tag, _, body) = fetch(None).await;
    assert_eq!(st, StatusCode::OK);
    let export: ledger::ChainExport = serde_json::from_str(&body).unwrap();
    assert!(export.blocks.is_empty());
    let (st, tag, _, body) = fetch(Some(genesis_tag.clone())).await;
    assert_eq!(
        (st, tag.as_str(), body.as_str()),
        (StatusCode::NOT_MODIFIED, genesis_tag.as_str(), "")
    );
    // The file sits beside the database, in a folder only the server's user can read.
    let folder = dir.path().join("test.db.exports");
    let files: Vec<_> = std::fs::read_dir(&folder).unwrap().collect();
    assert_eq!(files.len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&folder).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    // A new block: a new tag, the new chain, and the old file gone.
    assert_eq!(
        vote(&s, id, &e.codes[0], e.candidates[0]).await.0,
        StatusCode::ACCEPTED
    );
    mine_once(&s, id);
    let hash = api_of(&s, &admin)
        .awaiting(ledger::ElectionId(id as u64))
        .await[0]
        .hash
        .to_string();
    for key in &e.validators {
        let (st, body) = approve_as(&s, id, &hash, key).await;
        assert_eq!(st, StatusCode::OK, "{body}");
    }
    let (st, tag, _, body) = fetch(Some(genesis_tag.clone())).await;
    assert_eq!(st, StatusCode::OK);
    assert_ne!(tag, genesis_tag);
    let export: ledger::ChainExport = serde_json::from_str(&body).unwrap();
    assert_eq!(export.blocks.len(), 1);
    ledger::replay(&export).unwrap();
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 1);
    // 120 a minute from one address; then 429 with Retry-After, even for a 304.
    let mut refused = None;
    for _ in 0..130 {
        let (st, _, retry, body) = fetch(Some(tag.clone())).await;
        if st == StatusCode::TOO_MANY_REQUESTS {
            refused = Some((retry, body));
            break;
        }
        assert_eq!(st, StatusCode::NOT_MODIFIED);
    }
    let (retry, body) = refused.expect("the export is rate-limited");
    assert!(retry.parse::<u64>().is_ok_and(|s| s > 0), "{retry}");
    assert!(body.contains("rate_limited"), "{body}");
}
