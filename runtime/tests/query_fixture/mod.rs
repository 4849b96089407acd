//! Shared by the `tally query` test suites: the project of `tests/fixtures/query/project`
//! compiled, migrated and loaded with generated data (a seeded generator, so every run and
//! both engines see the same rows), and users inserted straight into the policy tables.
//!
//! The data: field offices `F1`..`F3` with one to four ports each (`F1` has a port with a
//! handful of seizures, so small cells exist), sectors `S1`, `S2` with stations, seizures in
//! January to March 2024 with a subject's name and birth date (personal data, from a fixed
//! list of made-up people), and apprehensions by station with the subject's name and
//! nationality.

#![allow(dead_code)]

use crate::support::{compile, read_tree, repo, write_tree, Engine};
use chrono::NaiveDateTime;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tally_runtime::etl::{self, Quiet, RunOptions};
use tally_runtime::generated::Generated;
use tally_runtime::query::{self, catalog::Catalog, Answer, Request, What};
use tally_runtime::{migrate, Backend};
use tempfile::TempDir;

/// Made-up people whose names and birth dates are the personal data of the fixture.
pub const PEOPLE: &[(&str, &str)] = &[
    ("Maria Quintanilla", "1980-02-11"),
    ("Jonah Abernathy", "1975-07-30"),
    ("Priya Venkataraman", "1991-12-03"),
    ("Olek Szymanowski", "1968-05-19"),
    ("Fatima Oyelaran", "1987-09-09"),
];

/// The field offices and their ports.
pub const PORTS: &[(&str, &str)] = &[
    ("P11", "F1"),
    ("P12", "F1"),
    ("P13", "F1"),
    ("P14", "F1"),
    ("P21", "F2"),
    ("P22", "F2"),
    ("P31", "F3"),
];

/// The sectors and their stations.
pub const STATIONS: &[(&str, &str)] =
    &[("T11", "S1"), ("T12", "S1"), ("T13", "S1"), ("T21", "S2"), ("T22", "S2")];

/// A small seeded generator (xorshift64*), so that data and queries are reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

pub fn time(text: &str) -> NaiveDateTime {
    etl::parse_time(text).unwrap_or_else(|e| panic!("{e}"))
}

/// When the fixture's data is loaded and queried.
pub const NOW: &str = "2024-04-01 06:00";

/// The landing files of the fixture for `seed`. Ports are weighted so that some get many
/// seizures and `P14` only a few.
pub fn landing_files(seed: u64) -> BTreeMap<String, String> {
    let mut rng = Rng::new(seed);
    let mut files = BTreeMap::new();
    let mut ports = String::from("port_code,port_name,field_office\n");
    for (port, office) in PORTS {
        ports.push_str(&format!("{port},Port {port},{office}\n"));
    }
    files.insert("ports/2024-04-01.csv".to_string(), ports);
    let mut stations = String::from("station_code,station_name,sector_code\n");
    for (station, sector) in STATIONS {
        stations.push_str(&format!("{station},Station {station},{sector}\n"));
    }
    files.insert("stations/2024-04-01.csv".to_string(), stations);
    // Weights per port: P14 rare, the others common.
    let weights: &[(usize, usize)] = &[(0, 30), (1, 20), (2, 12), (3, 2), (4, 25), (5, 8), (6, 15)];
    let total: usize = weights.iter().map(|(_, w)| w).sum();
    let mut seizures = String::from(
        "seizure_id,line_item,seized_on,port_code,kind,weight_kg,subject_name,subject_dob\n",
    );
    let count = 180 + rng.below(120);
    for i in 0..count {
        let mut roll = rng.below(total);
        let mut port = 0;
        for (p, w) in weights {
            if roll < *w {
                port = *p;
                break;
            }
            roll -= w;
        }
        let (person, dob) = *rng.pick(PEOPLE);
        let kind = if rng.chance(60) { "drug" } else { "currency" };
        let weight = if kind == "drug" {
            format!("{}.{:02}", 1 + rng.below(40), rng.below(100))
        } else {
            String::new()
        };
        let lines = 1 + usize::from(rng.chance(20));
        for line in 1..=lines {
            seizures.push_str(&format!(
                "Z{i:04},{line},2024-{:02}-{:02},{},{kind},{weight},{person},{dob}\n",
                1 + rng.below(3),
                1 + rng.below(28),
                PORTS[port].0
            ));
        }
    }
    files.insert("seizures/2024-04-01T0600.csv".to_string(), seizures);
    let mut apprehensions =
        String::from("apprehension_id,station_code,apprehended_on,subject_name,nationality\n");
    for i in 0..(60 + rng.below(60)) {
        let station = if rng.chance(5) { "T22" } else { rng.pick(&STATIONS[..4]).0 };
        let (person, _) = *rng.pick(PEOPLE);
        // Not drawn from `rng`, so the rest of the data stays as it was.
        let nationality = ["MX", "GT", "HN"][i % 3];
        apprehensions.push_str(&format!(
            "A{i:04},{station},2024-{:02}-{:02},{person},{nationality}\n",
            1 + rng.below(3),
            1 + rng.below(28)
        ));
    }
    files.insert("apprehensions/2024-04-01T0600.csv".to_string(), apprehensions);
    files
}

/// A compiled, migrated, loaded warehouse of the query fixture.
pub struct Warehouse {
    pub dir: TempDir,
    pub catalog: Catalog,
    pub db: Box<dyn Backend>,
}

impl Warehouse {
    pub fn new(engine: &Engine, seed: u64) -> Warehouse {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = compile(&read_tree(&project()), &BTreeMap::new());
        let generated_dir = dir.path().join("generated");
        write_tree(&generated_dir, &files);
        let landing = dir.path().join("landing");
        write_tree(&landing, &landing_files(seed));
        let mut db = engine.open();
        let generated =
            Generated::load(&generated_dir, db.dialect()).unwrap_or_else(|e| panic!("{e}"));
        migrate::migrate(db.as_mut(), &generated.migrations, time("2024-03-01"), false)
            .unwrap_or_else(|e| panic!("{e}"));
        let options = RunOptions { landing, now: time(NOW), sources: Vec::new(), fault: None };
        etl::run_once(db.as_mut(), &generated, &options, &mut Quiet)
            .unwrap_or_else(|e| panic!("{e}"));
        let catalog = Catalog::load(&generated_dir).unwrap_or_else(|e| panic!("{e}"));
        Warehouse { dir, catalog, db }
    }

    pub fn generated(&self) -> PathBuf {
        self.dir.path().join("generated")
    }

    /// Adds a user holding `roles`, with `attributes` (`field_office`, `port`, `sector`), last
    /// active a day before [`NOW`].
    pub fn user(&mut self, id: &str, roles: &[&str], attributes: &[(&str, &str)]) {
        self.user_active_at(id, roles, attributes, "2024-03-31 00:00");
    }

    pub fn user_active_at(
        &mut self,
        id: &str,
        roles: &[&str],
        attributes: &[(&str, &str)],
        last_active: &str,
    ) {
        let value = |name: &str| {
            attributes
                .iter()
                .find(|(k, _)| *k == name)
                .map_or("NULL".to_string(), |(_, v)| format!("'{v}'"))
        };
        self.exec(&format!(
            "INSERT INTO policy_user (user_id, field_office, port, sector, station, created_at, last_active_at) \
             VALUES ('{id}', {}, {}, {}, {}, TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '{last_active}:00')",
            value("field_office"),
            value("port"),
            value("sector"),
            value("station"),
        ));
        for role in roles {
            self.exec(&format!(
                "INSERT INTO policy_user_role (user_id, role) VALUES ('{id}', '{role}')"
            ));
        }
    }

    pub fn exec(&mut self, sql: &str) {
        self.db.execute(sql).unwrap_or_else(|e| panic!("{e}\n{sql}"));
    }

    /// `sql`'s rows as text, each row's values joined by ` | `.
    pub fn rows(&mut self, sql: &str) -> Vec<String> {
        let rows = self.db.query(sql).unwrap_or_else(|e| panic!("{e}\n{sql}"));
        rows.rows
            .iter()
            .map(|r| r.iter().map(ToString::to_string).collect::<Vec<_>>().join(" | "))
            .collect()
    }

    pub fn query(&mut self, request: &Request) -> tally_runtime::Result<Answer> {
        query::run(self.db.as_mut(), &self.catalog, request)
    }

    /// A metric query that must succeed.
    pub fn metric(&mut self, user: &str, metric: &str, by: &[&str]) -> Answer {
        let mut request = ask(user, What::Metric(metric.to_string()));
        request.by = by.iter().map(|b| b.to_string()).collect();
        self.query(&request).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The audit records of queries: (actor, object, outcome, parameters).
    pub fn audited(&mut self) -> Vec<(String, String, String, String)> {
        let rows = self
            .db
            .query(
                "SELECT actor, object, outcome, parameters FROM audit_log WHERE action LIKE 'query.%' ORDER BY seq",
            )
            .unwrap_or_else(|e| panic!("{e}"));
        rows.rows
            .iter()
            .map(|r| (r[0].to_string(), r[1].to_string(), r[2].to_string(), r[3].to_string()))
            .collect()
    }
}

/// A request of `user` at [`NOW`].
pub fn ask(user: &str, what: What) -> Request {
    Request::new(user, what, time(NOW))
}

pub fn project() -> PathBuf {
    repo().join("tests/fixtures/query/project")
}

/// The landing files written below `dir`, for the CLI tests.
pub fn write_landing(dir: &Path, seed: u64) {
    write_tree(dir, &landing_files(seed));
}
