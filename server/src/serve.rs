//! `ballotchain serve`: open the database, verify the chains, serve pages and the API.

use crate::api;
use crate::cli::ServeArgs;
use crate::protect::{protect, CspNonce};
use app::limit::Limits;
use app::signin::SetupToken;
use app::site::Site;
use app::{shell, App};
use axum::extract::FromRef;
use axum::Router;
use engine::Node;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;
use tower_sessions::cookie::time::Duration;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The node.
    pub node: Node,
    /// Leptos settings (site root, output name).
    pub leptos_options: LeptosOptions,
    /// Failed sign-ins and invalid voting codes per address, for the API and the forms.
    pub limits: Arc<Limits>,
    /// Chain exports kept on disk per tip.
    pub exports: Arc<crate::exports::Exports>,
    /// One-time token of the first-run link that creates the first admin; `None` once
    /// an admin exists.
    pub setup_token: SetupToken,
    /// The event streams open, against their bounds.
    pub streams: Arc<crate::api::live::Streams>,
    /// Turns true when the server begins to shut down: every event stream ends.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for Node {
    fn from_ref(state: &AppState) -> Self {
        state.node.clone()
    }
}

pub async fn serve(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let location = engine::Location::from(&args.db);
    let node = Node::open_unchecked(&location).await?;
    if args.demo {
        // The demo seeds only an empty database, whose check is instant: seeding after it
        // keeps the two apart.
        report_startup_check(&node).await;
        crate::demo::seed_if_empty(&node, &args.demo_codes).await?;
    } else {
        tokio::spawn({
            let node = node.clone();
            async move { report_startup_check(&node).await }
        });
    }
    node.set_rows_per_check(args.check_rows);
    spawn_integrity_checks(
        node.clone(),
        std::time::Duration::from_secs(args.check_interval),
    );
    let node_has_admin = node.has_admin().await?;
    let store = crate::sessions::Sessions::open(&location).await?;
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let addr = listener.local_addr()?;
    let site = Arc::new(Site::new(
        args.public_url.as_deref(),
        addr,
        args.trusted_proxy.clone(),
    )?);
    let sessions = SessionManagerLayer::new(store)
        .with_secure(site.https())
        .with_same_site(SameSite::Lax)
        .with_http_only(true)
        .with_expiry(Expiry::OnInactivity(Duration::hours(8)));

    let mut leptos_options = get_configuration(None)?.leptos_options;
    leptos_options.site_addr = args.addr;
    let limits = args.limits();
    // Set when the shutdown signal comes: the event streams end, then the drain begins.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let state = AppState {
        streams: crate::api::live::Streams::new(limits.connections),
        stopping: stopping.clone(),
        node: node.clone(),
        leptos_options: leptos_options.clone(),
        limits: Arc::new(Limits::default()),
        exports: Arc::new(crate::exports::Exports::open(
            args.exports
                .clone()
                .unwrap_or_else(|| crate::exports::Exports::default_dir(&location)),
        )?),
        setup_token: SetupToken::default(),
    };
    let setup_token = state.setup_token.clone();
    // What every page and every page's action reaches through its context.
    let context = {
        let (node, limits, token) = (
            node.clone(),
            state.limits.clone(),
            state.setup_token.clone(),
        );
        move || {
            provide_context(node.clone());
            provide_context(limits.clone());
            provide_context(token.clone());
            // The nonce the protection layer put in this page's Content-Security-Policy.
            let nonce = use_context::<axum::http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
            if let Some(CspNonce(nonce)) = nonce {
                provide_context(leptos::nonce::Nonce::from_value(nonce));
            }
        }
    };
    let routes = generate_route_list(App);
    let app = Router::new()
        .nest("/api", api::router())
        .merge(app::admin::upload_routes())
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(axum::middleware::from_fn_with_state(
            node.clone(),
            crate::gate::gate,
        ))
        .layer(sessions)
        // gzip for clients that ask: the hydration bundle (which carries the ledger's
        // rules for the validator's own check) shrinks to about a third.
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state);

    if !node_has_admin {
        let mut bytes = [0u8; 24];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        let token = hex::encode(bytes);
        println!(
            "No admin account yet. Create it (this link works once) at:\n  {}/setup?token={token}",
            site.origin()
        );
        println!(
            "or with: ballotchain admin create --db {} --username NAME   (password on standard input)",
            location.display()
        );
        *setup_token.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(token);
    }
    println!("ballotchain listening on http://{addr}");
    // The protections outermost: every answer carries them, a shed one too.
    let app = crate::listen::with_request_limits(app, limits)
        .layer(axum::middleware::from_fn_with_state(site.clone(), protect));
    let shutdown = async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    };
    crate::listen::serve(listener, app, limits, shutdown).await?;
    Ok(())
}

/// The full check of the stored chains, while the server already serves reads (writes to
/// a chain wait until it has verified). Ends with one line on standard output.
async fn report_startup_check(node: &Node) {
    match node.check_at_start(engine::StartupCheck::Recorded).await {
        Ok(report) => {
            for (id, problem) in &report.problems {
                eprintln!("WARNING: TAMPERING DETECTED in election {id}: {problem}. Its chain is not served for writes.");
            }
            for (id, why) in &report.old_format {
                eprintln!("NOTE: election {id} is not verified: {why}");
            }
            for (id, height) in &report.verified {
                tracing::info!(election = id.0, height, "stored chain verified");
            }
            println!(
                "stored chains checked: {} verified, {} altered, {} of an earlier format",
                report.verified.len(),
                report.problems.len(),
                report.old_format.len()
            );
        }
        Err(e) => {
            eprintln!("ERROR: the start-up check of the stored chains could not run: {e}. Sealed chains take no writes.");
            println!("stored chains checked: the check could not run");
        }
    }
}

/// Every `interval`, the cheap check of the stored chains against the verified ones in
/// memory; a chain newly found altered is reported once and takes no more writes.
fn spawn_integrity_checks(node: Node, interval: std::time::Duration) {
    tokio::spawn(async move {
        let mut reported = std::collections::HashSet::new();
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let started = std::time::Instant::now();
            match node.recheck_stored_chains().await {
                Ok(None) => tracing::debug!("another instance is checking the stored chains"),
                Ok(Some(report)) => {
                    // What the check costs, for choosing --check-interval on a long chain.
                    tracing::info!(
                        chains = report.verified.len(),
                        took_ms = started.elapsed().as_millis() as u64,
                        "stored chains re-checked"
                    );
                    for (id, problem) in report.problems {
                        if reported.insert(id) {
                            eprintln!("WARNING: TAMPERING DETECTED in election {id} while serving: {problem}. Its chain is not served for writes.");
                        }
                    }
                }
                Err(e) => tracing::error!(error = %e, "the periodic integrity check could not run"),
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
