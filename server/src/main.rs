//! `ballotchain`: the web server, the native miner, the chain verifier, key files and admin
//! tools.

mod api;
mod cli;
mod codes;
mod decide;
mod demo;
mod exports;
mod files;
mod gate;
mod key;
mod listen;
mod miner;
mod protect;
mod serve;
mod verify;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
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
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
