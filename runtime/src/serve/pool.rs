//! The server's database connections: a small fixed set, each used by one request at a time
//! on a blocking thread (`tokio::task::spawn_blocking`), never on the async workers.
//!
//! DuckDB allows one writing process per file and every answer writes (the audit record, the
//! session's last use), so the server opens the file once and its requests take turns on that
//! one connection; the async side keeps accepting and parsing meanwhile. PostgreSQL gets
//! `connections` sessions of its own, as many requests at once.

use crate::backend::{Backend, DuckDb, Postgres};
use crate::error::Result;
use std::sync::{Condvar, Mutex, MutexGuard};

/// A connection the pool hands out.
pub type Conn = Box<dyn Backend + Send>;

/// The connections, and a condition variable for requests waiting for one.
#[derive(Debug)]
pub struct Pool {
    idle: Mutex<Vec<Conn>>,
    freed: Condvar,
    size: usize,
    describe: String,
}

impl Pool {
    /// Opens `target` (a DuckDB file or a `postgres://` URL): one connection for DuckDB,
    /// `connections` (at least one) for PostgreSQL.
    pub fn open(target: &str, connections: usize) -> Result<Pool> {
        let mut idle: Vec<Conn> = Vec::new();
        if target.starts_with("postgres://") || target.starts_with("postgresql://") {
            for _ in 0..connections.max(1) {
                idle.push(Box::new(Postgres::connect(target)?));
            }
        } else {
            idle.push(Box::new(DuckDb::open(std::path::Path::new(target))?));
        }
        let describe = idle.first().map(|c| c.describe()).unwrap_or_default();
        Ok(Pool { size: idle.len(), idle: Mutex::new(idle), freed: Condvar::new(), describe })
    }

    /// How many connections the pool holds.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Where the database is, for messages.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// Runs `work` on a connection, waiting for one to be free. Call from a blocking thread.
    /// The connection goes back to the pool however `work` ends, a panic included.
    pub fn with<T>(&self, work: impl FnOnce(&mut dyn Backend) -> T) -> T {
        let mut lease = Lease { pool: self, conn: Some(self.take()) };
        match lease.conn.as_mut() {
            Some(conn) => work(conn.as_mut()),
            None => unreachable!("a lease holds its connection until dropped"),
        }
    }

    fn take(&self) -> Conn {
        let mut idle = lock(&self.idle);
        loop {
            if let Some(conn) = idle.pop() {
                return conn;
            }
            idle = self.freed.wait(idle).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

/// A connection out of the pool, put back when dropped.
struct Lease<'p> {
    pool: &'p Pool,
    conn: Option<Conn>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            lock(&self.pool.idle).push(conn);
            self.pool.freed.notify_one();
        }
    }
}

/// The lock even when a request panicked while holding it: the list of idle connections is
/// consistent at every point a panic could occur (a connection is pushed or popped whole).
fn lock(idle: &Mutex<Vec<Conn>>) -> MutexGuard<'_, Vec<Conn>> {
    idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
