//! Test support: a real PostgreSQL server for the test suites of every crate.
//!
//! `TALLY_TEST_POSTGRES` (a URL to a server's `postgres` database, as `.ci/run` exports it)
//! names a running server. Without it, the first test that asks starts a private cluster
//! under the system temp directory, on 127.0.0.1 only, with the PostgreSQL binaries found by
//! `pg_config` or under `/usr/lib/postgresql`; later test processes reuse it. As root the
//! server runs as the `postgres` user, as PostgreSQL requires. Each test gets a database of
//! its own, dropped when the [`TestDatabase`] is.
//!
//! Without a server and without PostgreSQL installed, the tests fail with a message saying
//! how to get one: a skipped backend would be an untested backend.

use crate::backend::{self, Backend};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

const PORT: u16 = 54_329;

/// A database of its own for one test on the test server; dropped with it.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// A fresh, empty database. Panics (the test fails) when no server can be had.
    pub fn create(label: &str) -> TestDatabase {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let admin_url = server_url();
        let label: String = label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
            .take(30)
            .collect();
        let name = format!(
            "tally_{label}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = backend::open(&admin_url).unwrap_or_else(|e| panic!("{e}"));
        admin.execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap_or_else(|e| panic!("{e}"));
        admin.execute(&format!("CREATE DATABASE {name}")).unwrap_or_else(|e| panic!("{e}"));
        let url = with_database(&admin_url, &name);
        TestDatabase { url, admin_url, name }
    }

    pub fn open(&self) -> Box<dyn Backend> {
        backend::open(&self.url).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = backend::open(&self.admin_url) {
            let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// The test server's admin URL, starting a private server when none is configured.
pub fn server_url() -> String {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("TALLY_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Ok(url),
        _ => start_private_server(),
    })
    .clone()
    .unwrap_or_else(|problem| panic!("no PostgreSQL server for the tests: {problem}"))
}

fn start_private_server() -> Result<String, String> {
    let url = format!("postgres://postgres@127.0.0.1:{PORT}/postgres");
    if backend::open(&url).is_ok() {
        return Ok(url);
    }
    let bin = find_bin().ok_or(
        "PostgreSQL is not installed. Install it (Debian: `apt-get install postgresql`) or set \
         TALLY_TEST_POSTGRES to a server URL, e.g. postgres://postgres@127.0.0.1:5432/postgres",
    )?;
    let root = std::env::temp_dir().join(format!("tally-test-postgres-{PORT}"));
    let data = root.join("data");
    let as_root = is_root();
    if !data.join("PG_VERSION").exists() {
        std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
        if as_root {
            run(Command::new("chown").arg("postgres:").arg(&root))?;
        }
        let mut initdb = postgres_command(&bin.join("initdb"), as_root);
        initdb.args(["-D"]).arg(&data).args(["-U", "postgres", "--auth=trust", "-E", "UTF8"]);
        run(&mut initdb)?;
    }
    let log = root.join("server.log");
    let mut start = postgres_command(&bin.join("pg_ctl"), as_root);
    start
        .args(["-D"])
        .arg(&data)
        .args(["-l"])
        .arg(&log)
        .args(["-w", "-t", "60", "-o"])
        .arg(format!("-c listen_addresses=127.0.0.1 -p {PORT} -k {} -c fsync=off", root.display()));
    start.arg("start");
    run(&mut start).map_err(|e| format!("{e}\n(server log: {})", log.display()))?;
    backend::open(&url).map(|_| url).map_err(|e| e.to_string())
}

fn postgres_command(program: &Path, as_root: bool) -> Command {
    if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn find_bin() -> Option<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Some(dir);
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_is_swapped_in_urls() {
        assert_eq!(with_database("postgres://u@h:1/postgres", "t1"), "postgres://u@h:1/t1");
        assert_eq!(with_database("postgres://u@h:1", "t1"), "postgres://u@h:1/t1");
        assert_eq!(
            with_database("postgres://u@h/postgres?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
    }
}

/// A database of its own for one test on the Spark Connect server `TALLY_TEST_SPARK` names
/// (`sc://127.0.0.1:PORT`); dropped with it, tables and files.
#[derive(Debug)]
pub struct SparkDatabase {
    pub url: String,
    server: String,
    name: String,
}

impl SparkDatabase {
    /// A fresh, empty database. Panics (the test fails) without a server: a skipped backend
    /// would be an untested backend.
    pub fn create(label: &str) -> SparkDatabase {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let server = spark_server();
        let label: String = label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
            .take(30)
            .collect();
        let name = format!(
            "tally_{label}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = backend::open(&server).unwrap_or_else(|e| panic!("{e}"));
        admin
            .execute(&format!("DROP DATABASE IF EXISTS {name} CASCADE"))
            .unwrap_or_else(|e| panic!("{e}"));
        let url = format!("{}/;database={name}", server.trim_end_matches('/'));
        SparkDatabase { url, server, name }
    }

    pub fn open(&self) -> Box<dyn Backend> {
        backend::open(&self.url).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for SparkDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = backend::open(&self.server) {
            let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {} CASCADE", self.name));
        }
    }
}

/// The Spark Connect server of the tests: `TALLY_TEST_SPARK`, or a failing test that says
/// how to start one.
pub fn spark_server() -> String {
    match std::env::var("TALLY_TEST_SPARK") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "no Spark Connect server for the tests: set TALLY_TEST_SPARK=sc://127.0.0.1:PORT to a \
             running one. Start one with pyspark 4 installed (pip install pyspark): \
             spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer \
             --master 'local[2]' --conf spark.connect.grpc.binding.address=127.0.0.1 \
             --conf spark.connect.grpc.binding.port=PORT (.ci/run does this)"
        ),
    }
}
