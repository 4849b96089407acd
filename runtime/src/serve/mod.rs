//! `tally serve`: the HTTP front door to the warehouse. Users sign in with local accounts
//! and query through the same code path as `tally query`; who they are comes from their
//! session, never from a parameter.
//!
//! | module       | what                                                                 |
//! |--------------|----------------------------------------------------------------------|
//! | [`api`]      | the route table of `/api/v1`, its JSON types, the handlers            |
//! | [`auth`]     | enrolment tokens, Argon2id passwords, sessions, CSRF tokens           |
//! | [`throttle`] | failed sign-ins counted per account and per address                   |
//! | [`pool`]     | the database connections requests take turns on                       |
//!
//! The stack is axum on tokio (hyper underneath): async accept and parse on a few worker
//! threads, and every database call on tokio's blocking threads, since the backends are
//! synchronous. The server listens where [`Config::addr`] says, which the command line makes
//! loopback unless told otherwise; it has no TLS of its own yet, so [`Config::secure_cookies`]
//! is for a TLS-terminating proxy in front.

pub mod api;
pub mod auth;
pub mod pool;
pub mod throttle;

use crate::backend::Backend;
use crate::error::{codes, Error, Result};
use crate::etl;
use crate::generated::Generated;
use crate::query::catalog::Catalog;
use chrono::NaiveDateTime;
use pool::Pool;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use throttle::Throttle;

/// The clock the server reads: the system's in production, a settable one in tests (session
/// expiry, the 90-day rule).
pub type Clock = Arc<dyn Fn() -> NaiveDateTime + Send + Sync>;

/// The system clock, UTC.
pub fn system_clock() -> Clock {
    Arc::new(|| chrono::Utc::now().naive_utc())
}

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    /// PostgreSQL sessions to open (DuckDB always has one connection).
    pub connections: usize,
    pub lifetimes: auth::Lifetimes,
    pub throttle: throttle::Limits,
    /// Mark the session cookie `Secure` (behind a TLS-terminating proxy).
    pub secure_cookies: bool,
}

impl Config {
    /// The defaults at `addr`.
    pub fn new(addr: SocketAddr) -> Config {
        Config {
            addr,
            connections: 8,
            lifetimes: auth::Lifetimes::default(),
            throttle: throttle::Limits::default(),
            secure_cookies: false,
        }
    }
}

/// What every request shares.
pub struct App {
    pool: Pool,
    catalog: Catalog,
    generated: Generated,
    config: Config,
    throttle: Throttle,
    clock: Clock,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("pool", &self.pool).field("config", &self.config).finish()
    }
}

impl App {
    fn now(&self) -> NaiveDateTime {
        (self.clock)()
    }
}

/// A server bound to its address, not yet serving.
#[derive(Debug)]
pub struct Server {
    app: Arc<App>,
    listener: std::net::TcpListener,
}

/// Opens the database `target` (the connections of [`pool`]), reads and verifies
/// `generated/`, checks that the database is migrated to it and has the sign-on tables, and
/// binds `config.addr` (`R0487` when it cannot).
pub fn bind(target: &str, generated: &Path, config: Config, clock: Clock) -> Result<Server> {
    let pool = Pool::open(target, config.connections)?;
    let dialect = pool.with(|db| db.dialect());
    let generated = Generated::load(generated, dialect)?;
    pool.with(|db: &mut dyn Backend| {
        etl::check_ready(db, &generated)?;
        auth::require(db)
    })?;
    let listener = std::net::TcpListener::bind(config.addr)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| {
            Error::new(codes::SERVE_ADDRESS, format!("cannot listen on {}: {e}", config.addr))
                .help("choose another address with --addr, e.g. --addr 127.0.0.1:8081")
        })?;
    let app = App {
        catalog: Catalog::from(generated.plan.clone()),
        throttle: Throttle::new(config.throttle),
        pool,
        generated,
        config,
        clock,
    };
    Ok(Server { app: Arc::new(app), listener })
}

impl Server {
    /// The address bound (with the port the system chose for port 0).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener
            .local_addr()
            .map_err(|e| Error::new(codes::SERVE_ADDRESS, format!("the bound address: {e}")))
    }

    /// How many database connections requests share.
    pub fn connections(&self) -> usize {
        self.app.pool.size()
    }

    /// Serves until `shutdown` completes, then finishes the requests under way.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let addr = self.local_addr()?;
        let listener = tokio::net::TcpListener::from_std(self.listener).map_err(|e| {
            Error::new(codes::SERVE_ADDRESS, format!("cannot listen on {addr}: {e}"))
        })?;
        let service = api::routes(self.app).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| Error::new(codes::SERVE_ADDRESS, format!("serving on {addr}: {e}")))
    }

    /// Serves on a runtime of its own, in a thread of its own, until the [`Running`] is
    /// stopped or dropped (tests, and programs that embed the server).
    pub fn spawn(self) -> Result<Running> {
        let addr = self.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| {
                Error::new(codes::SERVE_ADDRESS, format!("cannot start the server: {e}"))
            })?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = self.app.clone();
        let thread = std::thread::spawn(move || {
            runtime.block_on(self.run(async {
                let _ = stopped.await;
            }))
        });
        Ok(Running { addr, app, stop: Some(stop), thread: Some(thread) })
    }
}

/// A server serving in the background.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    app: Arc<App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

impl Running {
    /// Runs `work` on one of the server's connections, taking its turn with the requests:
    /// with DuckDB, whose file one process holds, this is how the program that embeds the
    /// server changes users while it serves.
    pub fn with_db<T>(&self, work: impl FnOnce(&mut dyn Backend) -> T) -> T {
        self.app.pool.with(work)
    }

    /// Stops accepting, waits for the requests under way, and returns how serving ended.
    pub fn stop(mut self) -> Result<()> {
        self.halt()
    }

    fn halt(&mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(Error::new(codes::QUERY_INTERNAL, "the server thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}
