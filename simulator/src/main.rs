//! `plantrak-simulator`: a local, deterministic stand-in for the PlanTRAK analytics API.
//!
//! Layout, from the core outwards:
//! - `rng`, `calendar`: keyed randomness and simulated days;
//! - `lifecycle`: one event's timeline (open → holding → closed, send-backs, deletion);
//! - `activities`, `catalog`, `world`: what events ask for, the organisation, and every
//!   event on every day as a pure function of the inputs; `record`: one event as the API shows it;
//! - `faults`, `body`, `truth`: fault rules, streamed bodies that can break on purpose,
//!   and the true state for tests to check against;
//! - `api`, `control`, `journal`: the vendor endpoint, the `/_sim/` endpoints, the logs;
//! - `server`, `config`: shared state and routes, the command line.

mod activities;
mod api;
mod body;
mod calendar;
mod catalog;
mod config;
mod control;
mod faults;
mod journal;
mod lifecycle;
mod record;
mod rng;
mod server;
mod truth;
mod world;

#[cfg(test)]
mod server_tests;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use tokio::net::TcpListener;

use crate::config::Args;
use crate::server::Sim;

/// Why the simulator could not run.
#[derive(Debug, thiserror::Error)]
enum StartupError {
    #[error("failed to listen on `{addr}`")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("failed to write the port file `{}`", path.display())]
    PortFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("failed to announce the listening address")]
    Announce(#[source] io::Error),
    #[error("the server stopped")]
    Serve(#[source] io::Error),
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let mut message = format!("plantrak-simulator: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), StartupError> {
    let settings = args.settings();
    let sim = Arc::new(Sim::new(settings));

    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|source| StartupError::Bind {
            addr: args.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartupError::Bind {
        addr: args.listen,
        source,
    })?;

    if let Some(path) = &args.port_file {
        write_port_file(path, addr.port()).map_err(|source| StartupError::PortFile {
            path: path.clone(),
            source,
        })?;
    }
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening on http://{addr}").map_err(StartupError::Announce)?;
    stdout.flush().map_err(StartupError::Announce)?;
    drop(stdout);

    eprintln!(
        "simulated date {} (seed {}, {} events)",
        sim.today(),
        args.seed,
        args.events
    );
    server::serve(listener, sim)
        .await
        .map_err(StartupError::Serve)
}

/// Writes the port next to `path` first and renames it, so a reader never sees a partial
/// file.
fn write_port_file(path: &Path, port: u16) -> io::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    std::fs::write(&partial, port.to_string())?;
    std::fs::rename(&partial, path)
}
