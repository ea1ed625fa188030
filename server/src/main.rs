//! `ballotchain`: the web server, the native miner, the chain verifier, key files and admin
//! tools.

mod api;
mod cli;
mod client;
mod codes;
mod decide;
mod demo;
mod exports;
mod files;
mod gate;
mod headless;
mod key;
mod listen;
mod miner;
mod protect;
mod serve;
mod sessions;
mod trustee;
mod verify;
mod vote;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    large_allocations_go_back_to_the_system();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_sessions=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The chain was cut short or rewritten: its own code, for scripts that watch.
        Err(e) if e.is::<headless::ChainBroken>() => ExitCode::from(2),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// glibc serves a freed large block's size from its heap arenas afterwards (its mmap
/// threshold rises with every such free), and keeps one arena per thread: each argon2
/// hash (19 MiB) on another blocking thread would then stay in that thread's arena, and
/// the server's memory would grow with every failed sign-in. A fixed threshold keeps
/// blocks of 1 MiB and more mapped apart and returned to the system when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn large_allocations_go_back_to_the_system() {
    // SAFETY: `mallopt` only changes a malloc tuning parameter; it is called before any
    // other thread exists, and a refusal (return 0) leaves the default behaviour.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn large_allocations_go_back_to_the_system() {}
