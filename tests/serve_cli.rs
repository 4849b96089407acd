//! `tally serve` as an operator starts it: the real binary. `tally user add` prints a one-time
//! token, `tally serve --addr 127.0.0.1:0` says where it listens, the user sets a password with
//! the token, signs in and queries; `tally user reset` prints a new token. On a DuckDB file
//! (the server holds it, so users are added before it starts) and on PostgreSQL.

mod common;

use common::cli::{compile, copy_tree, succeeded, tally, Engine, Warehouse};
use common::http::{Auth, Client};
use common::root;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The server process, killed when dropped.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn token_of(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("enrolment token for `ann`: "))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no token printed:\n{stdout}"))
}

fn scenario(engine: Engine) {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = Warehouse::new(engine, dir.path(), "serve_cli");
    let db = warehouse.target.clone();
    let generated = compile("tests/fixtures/query/project", dir.path());
    let generated_arg = generated.to_str().expect("UTF-8").to_owned();
    let landing = dir.path().join("landing");
    copy_tree(&root().join("tests/fixtures/query/landing"), &landing);
    let run = |args: &[&str]| {
        succeeded(
            &tally()
                .args(args)
                .args(["--db", &db, "--generated", &generated_arg])
                .output()
                .expect("runs"),
        )
    };
    run(&["migrate"]);
    run(&["run", "--now", "2024-04-01 06:00", "--landing", landing.to_str().expect("UTF-8")]);
    let added = run(&["user", "add", "ann", "--role", "port_director", "--attr", "port=P11"]);
    let token = token_of(&added);
    assert_eq!(token.len(), 64, "{added}");
    assert!(added.contains("valid once, until"), "{added}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["serve", "--addr", "127.0.0.1:0", "--db", &db, "--generated", &generated_arg])
        .env("NO_COLOR", "1")
        .env_remove("TALLY_DB")
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let serving = Serving(child);
    let mut line = String::new();
    let mut stdout = BufReader::new(stdout);
    stdout.read_line(&mut line).expect("a line");
    let url = line
        .trim()
        .strip_prefix("tally serve: listening on ")
        .and_then(|u| u.strip_suffix("/api/v1"))
        .unwrap_or_else(|| panic!("where it listens: {line}"))
        .to_owned();
    // Read on in the background: the server writes more, and a closed pipe would stop it.
    let mut stderr = BufReader::new(stderr);
    let mut notes = String::new();
    stderr.read_line(&mut notes).expect("a line");
    assert!(notes.contains("loopback only"), "{notes}");
    let drain = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        let _ = std::io::Read::read_to_string(&mut stdout, &mut rest);
        rest
    });

    let client = Client::new(&url);
    let none = Auth::default();
    let answer = client.post(
        "/api/v1/enrol",
        &none,
        &json!({"token": token, "password": "a long enough passphrase"}),
    );
    assert_eq!(answer.status, 204, "{answer:?}");
    let ann = client.sign_in("ann", "a long enough passphrase").unwrap_or_else(|a| panic!("{a:?}"));
    let answer = client.post("/api/v1/query", &ann, &json!({"metric": "seizure_lines"}));
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["user"], "ann");
    assert_eq!(answer.body["scope"], "location.port = 'P11'");
    drop(serving);
    let rest = drain.join().unwrap_or_default();
    assert!(rest.contains("POST /api/v1/sign-in"), "how to sign in: {rest}");

    // A reset: a new token, the old password forgotten.
    let reset = run(&["user", "reset", "ann"]);
    let new_token = token_of(&reset);
    assert_ne!(new_token, token);
    // The trail holds the enrolment, the sign-in and the query, and verifies.
    run(&["audit", "verify"]);
    let trail = run(&["audit", "list", "--format", "json", "--actor", "ann"]);
    for action in ["serve.enrol", "serve.sign_in", "query.metric"] {
        assert!(trail.contains(action), "no {action}: {trail}");
    }
}

#[test]
fn serve_cli_on_duckdb() {
    scenario(Engine::DuckDb);
}

#[test]
fn serve_cli_on_postgres() {
    scenario(Engine::Postgres);
}
