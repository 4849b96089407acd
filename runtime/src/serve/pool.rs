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
pub struct Pool {
    /// What to open again when a connection is lost (PostgreSQL; never logged: it may hold a
    /// password).
    target: String,
    idle: Mutex<Vec<Conn>>,
    freed: Condvar,
    size: usize,
    describe: String,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("database", &self.describe).field("size", &self.size).finish()
    }
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
        Ok(Pool {
            target: target.to_owned(),
            size: idle.len(),
            idle: Mutex::new(idle),
            freed: Condvar::new(),
            describe,
        })
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
        if let Some(mut conn) = self.conn.take() {
            if conn.is_closed() {
                // The server closed it (a restart, a terminated backend): the next request
                // gets a new session. If the server is still away, the closed one is kept and
                // its requests fail with the database's error until it is back.
                if let Ok(fresh) = Postgres::connect(&self.pool.target) {
                    conn = Box::new(fresh);
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;

    #[test]
    fn a_postgres_connection_the_server_closed_is_replaced() {
        let database = TestDatabase::create("serve_pool");
        let pool = Pool::open(&database.url, 1).unwrap_or_else(|e| panic!("{e}"));
        let pid = |db: &mut dyn Backend| {
            db.query("SELECT pg_backend_pid()")
                .ok()
                .and_then(|r| r.scalar().and_then(|v| v.as_i64()))
        };
        let first = pool.with(pid).expect("a pid");
        // Another session ends this one, as a server restart would.
        let mut admin = database.open();
        admin
            .execute(&format!("SELECT pg_terminate_backend({first})"))
            .unwrap_or_else(|e| panic!("{e}"));
        // The request that meets the closed connection fails; the next one has a new session.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let failed = pool.with(pid);
        let second = pool.with(pid).expect("a new session");
        assert!(failed.is_none() || failed == Some(second));
        assert_ne!(first, second);
    }

    #[test]
    fn a_duckdb_file_has_one_connection_shared_in_turn() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("w.duckdb");
        let pool = Pool::open(&path.display().to_string(), 8).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pool.size(), 1);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    let answer = pool.with(|db| {
                        db.query("SELECT 41 + 1").map(|r| r.scalar().and_then(|v| v.as_i64()))
                    });
                    assert_eq!(answer.ok().flatten(), Some(42));
                });
            }
        });
    }
}
