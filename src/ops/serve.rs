//! `tally serve`: binds the address, says where it listens and how to sign in, and serves
//! `tally_runtime::serve` until interrupted. Everything a request does is decided in the
//! runtime.

use super::{fail, Target};
use clap::Args;
use std::net::SocketAddr;
use std::process::ExitCode;
use tally_runtime::serve::{self, auth::Lifetimes, Config};

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    target: Target,
    /// Where to listen; loopback unless told otherwise (there is no TLS yet: put a
    /// TLS-terminating proxy in front for anything else)
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// PostgreSQL sessions requests share (DuckDB: one connection, requests take turns)
    #[arg(long, value_name = "N", default_value_t = 8)]
    connections: usize,
    /// A session ends after this many minutes without a request
    #[arg(long, value_name = "MINUTES", default_value_t = 30)]
    idle_minutes: u32,
    /// A session ends this many hours after sign-in
    #[arg(long, value_name = "HOURS", default_value_t = 12)]
    session_hours: u32,
    /// Mark the session cookie `Secure` (when a TLS-terminating proxy is in front)
    #[arg(long)]
    secure_cookies: bool,
}

pub fn main(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = Config::new(args.addr);
    config.connections = args.connections;
    config.secure_cookies = args.secure_cookies;
    config.lifetimes = Lifetimes {
        idle: chrono::Duration::minutes(args.idle_minutes.into()),
        absolute: chrono::Duration::hours(args.session_hours.into()),
        ..Lifetimes::default()
    };
    let server =
        match serve::bind(&args.target.db, &args.target.generated, config, serve::system_clock()) {
            Ok(server) => server,
            Err(e) => return Ok(fail(&e)),
        };
    let addr = match server.local_addr() {
        Ok(addr) => addr,
        Err(e) => return Ok(fail(&e)),
    };
    // Data (where to connect) on stdout, so a script can read the port chosen for port 0.
    println!("tally serve: listening on http://{addr}/api/v1");
    if addr.ip().is_loopback() {
        eprintln!("  loopback only: reachable from this machine (--addr IP:PORT to change)");
    } else {
        eprintln!(
            "  warning: listening beyond loopback without TLS; put a TLS-terminating proxy in front"
        );
    }
    eprintln!(
        "  {} database connection(s) to {}",
        server.connections(),
        args.target.db.split('@').next_back().unwrap_or_default()
    );
    eprintln!("  sign in: a user added with `tally user add` (or reset with `tally user reset`) first sets a");
    eprintln!("  password with the printed token: POST /api/v1/enrol {{\"token\": ..., \"password\": ...}};");
    eprintln!("  then POST /api/v1/sign-in {{\"user\": ..., \"password\": ...}} gives the session cookie and the");
    eprintln!("  CSRF token for the X-CSRF-Token header of POST requests; see docs/serve.md");
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => anyhow::bail!("cannot start the server's runtime: {e}"),
    };
    let result = runtime.block_on(server.run(async {
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("tally serve: stopping");
    }));
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => Ok(fail(&e)),
    }
}
