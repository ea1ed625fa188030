//! The layer in front of every route: who the client is, whether a state-changing
//! request comes from this site's own pages, and the headers every answer carries.

use crate::api::ApiError;
use app::site::{ClientAddr, Site};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use wire::ErrorCode;

/// The nonce of this request's inline scripts, as its `Content-Security-Policy` allows.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Finds the client's address, refuses cross-site writes, then adds the browser
/// protections to the answer.
pub async fn protect(State(site): State<Arc<Site>>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    if let Some(peer) = peer {
        let client = site.client(peer, request.headers());
        request.extensions_mut().insert(ClientAddr(client));
    }
    if let Err(refusal) = same_site_only(
        &site,
        request.method(),
        request.uri().path(),
        request.headers(),
    ) {
        return with_protections(&site, None, false, false, refusal.into_response());
    }
    let nonce = CspNonce(hex::encode(rand::random::<[u8; 16]>()));
    request.extensions_mut().insert(site.clone());
    request.extensions_mut().insert(nonce.clone());
    let with_cookie = request.headers().contains_key(header::COOKIE);
    let asset =
        request.uri().path().starts_with("/pkg/") || request.uri().path().starts_with("/miner/");
    let response = next.run(request).await;
    with_protections(&site, Some(&nonce), with_cookie, asset, response)
}

/// A state-changing request (anything but GET, HEAD and OPTIONS) is refused with 403 when
/// its `Origin` is not this site's or its `Sec-Fetch-Site` says another site sent it.
/// A request with neither header (the command line, scripts) is let through. A POST to
/// the API must also carry a body type no plain form can send (so that an old browser
/// without those headers cannot be made to send it either).
fn same_site_only(
    site: &Site,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let text = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("(not text)"))
    };
    if let Some(origin) = text("origin") {
        if !site.allows_origin(origin) {
            tracing::warn!(origin, path, "cross-site request refused");
            return Err(cross_site(format!(
                "this request came from a page at {origin}, not from this server's own pages \
                 ({}). If people reach this server at {origin}, start it with \
                 --public-url {origin}",
                site.origin()
            )));
        }
    }
    if let Some(fetch_site) = text("sec-fetch-site") {
        if !matches!(fetch_site, "same-origin" | "none") {
            tracing::warn!(fetch_site, path, "cross-site request refused");
            return Err(cross_site(format!(
                "this request came from another site's page (Sec-Fetch-Site: {fetch_site})"
            )));
        }
    }
    if *method == Method::POST && path.starts_with("/api/") {
        let content_type = text("content-type").unwrap_or("");
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let form_could_send = matches!(
            essence.as_str(),
            "" | "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
        );
        if form_could_send && !headers.contains_key("x-requested-with") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "send Content-Type: application/json (a POST with nothing to say sends {}), \
                 or text/csv where the endpoint takes a file",
            ));
        }
    }
    Ok(())
}

fn cross_site(message: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, ErrorCode::CrossSite, message)
}

/// Headers every answer carries: a Content-Security-Policy (scripts from this site and
/// this page's own inline script only; WebAssembly allowed; no framing), no MIME
/// sniffing, the referrer kept to this site (the forms that work without JavaScript
/// redirect back through it), no powerful browser features; HSTS when served over https;
/// and `no-store` on any answer to a request with a session cookie or that sets one
/// (pages then carry the session's CSRF token or someone's data), built assets aside.
fn with_protections(
    site: &Site,
    nonce: Option<&CspNonce>,
    with_cookie: bool,
    asset: bool,
    mut response: Response,
) -> Response {
    let sets_cookie = response.headers().contains_key(header::SET_COOKIE);
    let headers = response.headers_mut();
    let script = match nonce {
        Some(CspNonce(nonce)) => format!("script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"),
        None => "script-src 'self' 'wasm-unsafe-eval'".to_owned(),
    };
    let policy = format!(
        "default-src 'self'; {script}; worker-src 'self'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(policy);
    }
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    headers
        .entry(header::HeaderName::from_static("permissions-policy"))
        .or_insert(HeaderValue::from_static(
            "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        ));
    if site.https() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if (with_cookie || sets_cookie) && !asset {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
