//! The profile format on a small shape of its own: reading YAML, the artifact's JSON round
//! trip and version check, every kind of problem [`check`] finds, and where [`locate`] puts
//! them.

use super::locate::{locate, At};
use super::*;
use crate::plan::{Column, ColumnType, Dimension, Level, Reference};

fn column(name: &str, ty: ColumnType, nullable: bool) -> Column {
    Column {
        name: name.to_owned(),
        ty,
        nullable,
        default: None,
        references: None,
        pii: Vec::new(),
        access: crate::plan::ColumnAccess::ALL,
    }
}

fn shape() -> Shape {
    let enumeration = |values: &[&str]| ColumnType::Enum {
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    };
    let mut port = column("port_code", ColumnType::String, false);
    port.references = Some(Reference { dimension: "place".into(), level: "site".into() });
    Shape {
        sources: vec![
            ShapeSource {
                name: "sites".into(),
                mode: "snapshot".into(),
                key: vec!["site_code".into()],
                columns: vec![
                    column("site_code", ColumnType::String, false),
                    column("site_name", ColumnType::String, false),
                    column("region_code", ColumnType::String, false),
                    column("site_kind", enumeration(&["air", "land"]), false),
                ],
            },
            ShapeSource {
                name: "visits".into(),
                mode: "append".into(),
                key: vec!["visit_id".into()],
                columns: vec![
                    column("visit_id", ColumnType::String, false),
                    port,
                    column("kind", enumeration(&["walk_in", "booked"]), false),
                    column("minutes", ColumnType::Int, true),
                    column("cost", ColumnType::Decimal { precision: 8, scale: 2 }, true),
                    column("urgent", ColumnType::Bool, false),
                    column("seen_at", ColumnType::Timestamp, true),
                ],
            },
        ],
        dimensions: vec![Dimension {
            name: "place".into(),
            title: None,
            from: Some("sites".into()),
            levels: vec![
                Level { name: "national".into(), key: None, label: None },
                Level { name: "region".into(), key: Some("region_code".into()), label: None },
                Level {
                    name: "site".into(),
                    key: Some("site_code".into()),
                    label: Some("site_name".into()),
                },
            ],
            hierarchies: vec![vec!["national".into(), "region".into(), "site".into()]],
        }],
    }
}

const GOOD: &str = r#"# A profile.
traffic:
  weekdays: [1, 1, 1, 1, 1.2, 0.8, 0.6]
lists:
  kinds: {walk_in: 3, booked: 1}
dimensions:
  place:
    region:
      members:
        - {key: N}
        - {key: S}
    site:
      members:
        - {key: "0417", label: North Clinic, parent: N, weight: 3, values: {site_kind: land}}
        - {key: S1, label: South Clinic, parent: S}
sources:
  visits:
    rows_per_day: 120
    columns:
      kind: {list: kinds}
      minutes: {lognormal: {median: 20, sigma: 0.6}, max: 240, traffic_median: 2}
      cost: {times: {column: minutes, factors: {"1.5": 1, "2": 1}}, null_share: 0.1}
      urgent: {true_share: 0.05}
      seen_at: {after: {median_minutes: 30}}
"#;

#[test]
fn a_profile_reads_checks_clean_and_round_trips_as_json() {
    let profile = Profile::from_yaml(GOOD).expect("reads");
    assert_eq!(profile.level("place", "site").map(|l| l.members.len()), Some(2));
    // A plain number is kept as written, leading zero and all.
    assert_eq!(profile.level("place", "site").expect("site").members[0].key, "0417");
    assert_eq!(check(&profile, &shape()), Vec::new());
    let artifact = GenData::new(profile);
    let json = artifact.to_json();
    assert_eq!(GenData::from_json(&json), Ok(artifact));
    let older = json.replacen("\"version\": 1", "\"version\": 0", 1);
    assert_eq!(GenData::from_json(&older), Err(GenDataError::Version { found: 0 }));
    assert_eq!(Profile::from_yaml("# nothing yet\n"), Ok(Profile::default()));
}

#[test]
fn a_misshapen_file_is_refused_where_it_goes_wrong() {
    let text = "sources:\n  visits:\n    rows_per_dy: 3\n";
    let error = Profile::from_yaml(text).expect_err("unknown field");
    assert!(error.message.contains("unknown field `rows_per_dy`"), "{error}");
    let at = error.offset.expect("a position");
    assert_eq!(&text[at..at + 11], "rows_per_dy");
}

fn problems(yaml: &str) -> Vec<Problem> {
    check(&Profile::from_yaml(yaml).expect("reads"), &shape())
}

#[test]
fn unknown_names_are_reported_with_the_nearest_one() {
    let found = problems(
        "dimensions:\n  plaice: {}\n  place:\n    sites: {count: 2}\nsources:\n  visit: {}\n  visits:\n    columns:\n      minute: {}\n      kind: {list: kind}\n",
    );
    let summary: Vec<(ProblemKind, String, Option<String>)> =
        found.iter().map(|p| (p.kind, p.dotted(), p.help.clone())).collect();
    let mean = |s: &str| Some(format!("did you mean `{s}`?"));
    assert_eq!(
        summary,
        vec![
            (ProblemKind::UnknownName, "dimensions.place.sites".into(), mean("site")),
            (ProblemKind::UnknownName, "dimensions.plaice".into(), mean("place")),
            (ProblemKind::UnknownName, "sources.visit".into(), mean("visits")),
            (
                ProblemKind::UnknownName,
                "sources.visits.columns.kind.list".into(),
                Some("no list is defined".into())
            ),
            (ProblemKind::UnknownName, "sources.visits.columns.minute".into(), mean("minutes")),
        ]
    );
}

#[test]
fn values_are_checked_against_the_column_and_the_members() {
    let found = problems(
        r#"dimensions:
  place:
    region:
      members: [{key: N}]
    site:
      members:
        - {key: A, label: A site, parent: X}
        - {key: B, label: B site}
        - {key: A, label: Again, parent: N, values: {site_kind: sea, site_name: x}}
sources:
  visits:
    columns:
      kind: {weights: {walk-in: 1}}
      minutes: {weights: {"ten": 1}}
      cost: {weights: {"123456.789": 1}}
      visit_id: {pattern: "V-{1..}"}
"#,
    );
    let summary: Vec<(ProblemKind, String)> = found.iter().map(|p| (p.kind, p.dotted())).collect();
    assert_eq!(
        summary,
        vec![
            (ProblemKind::InvalidValue, "dimensions.place.site.members[0].parent".into()),
            (ProblemKind::InvalidValue, "dimensions.place.site.members[1]".into()),
            (ProblemKind::Duplicate, "dimensions.place.site.members[2].key".into()),
            (ProblemKind::InvalidValue, "dimensions.place.site.members[2].values.site_kind".into()),
            (ProblemKind::DoesNotApply, "dimensions.place.site.members[2].values.site_name".into()),
            (ProblemKind::InvalidValue, "sources.visits.columns.cost.weights.123456.789".into()),
            (ProblemKind::InvalidValue, "sources.visits.columns.kind.weights.walk-in".into()),
            (ProblemKind::InvalidValue, "sources.visits.columns.minutes.weights.ten".into()),
            (ProblemKind::InvalidValue, "sources.visits.columns.visit_id.pattern".into()),
        ]
    );
    assert_eq!(found[6].help.as_deref(), Some("did you mean `walk_in`?"));
    assert_eq!(found[0].help.as_deref(), Some("valid members: `N`"));
}

#[test]
fn settings_that_do_not_fit_and_numbers_out_of_range_are_reported() {
    let found = problems(
        r#"traffic:
  hours: [1, 2]
dimensions:
  place:
    national: {count: 1}
sources:
  sites:
    members: 10
  visits:
    deletes: 0.1
    group: {}
    columns:
      port_code: {weights: {a: 1}}
      urgent: {true_share: 1.5, null_share: 0.1}
      minutes: {true_share: 0.5, lognormal: {median: -1, sigma: 1}}
      cost: {times: {column: cost, factors: {"x": 1}}}
      seen_at: {after: {}}
"#,
    );
    let summary: Vec<(ProblemKind, String)> = found.iter().map(|p| (p.kind, p.dotted())).collect();
    assert_eq!(
        summary,
        vec![
            (ProblemKind::OutOfRange, "traffic.hours".into()),
            (ProblemKind::DoesNotApply, "dimensions.place.national".into()),
            (ProblemKind::DoesNotApply, "sources.sites.members".into()),
            (ProblemKind::DoesNotApply, "sources.visits.deletes".into()),
            (ProblemKind::DoesNotApply, "sources.visits.group".into()),
            (ProblemKind::InvalidValue, "sources.visits.columns.cost.times.factors.x".into()),
            (ProblemKind::DoesNotApply, "sources.visits.columns.minutes.lognormal".into()),
            (ProblemKind::DoesNotApply, "sources.visits.columns.minutes.true_share".into()),
            (ProblemKind::OutOfRange, "sources.visits.columns.minutes.lognormal.median".into()),
            (ProblemKind::DoesNotApply, "sources.visits.columns.port_code.weights".into()),
            (ProblemKind::DoesNotApply, "sources.visits.columns.seen_at.after".into()),
            (ProblemKind::DoesNotApply, "sources.visits.columns.urgent.null_share".into()),
            (ProblemKind::OutOfRange, "sources.visits.columns.urgent.true_share".into()),
            (ProblemKind::DoesNotApply, "sources.visits.columns.cost".into()),
        ]
    );
    let circle = found.last().expect("a circle");
    assert!(circle.message.contains("in a circle"), "{}", circle.message);
}

#[test]
fn problems_are_located_at_their_key_or_value() {
    let text = "# Ünïcode first\nsources:\n  visits:\n    columns:\n      kind: {weights: {walk-in: 1}}\n      minutes:\n        lognormal: {median: -1, sigma: 1}\n";
    let at = |path: &[&str], locus| {
        let path: Vec<Seg> = path.iter().map(|k| Seg::Key((*k).to_owned())).collect();
        locate(text, &path, locus).map(|(s, e)| &text[s..e])
    };
    assert_eq!(
        at(&["sources", "visits", "columns", "kind", "weights", "walk-in"], At::Key),
        Some("walk-in")
    );
    assert_eq!(
        at(&["sources", "visits", "columns", "minutes", "lognormal", "median"], At::Value),
        Some("-1")
    );
    assert_eq!(at(&["sources", "visits", "columns", "minutes"], At::Key), Some("minutes"));
    // A path that leaves the document is located at its deepest part that is there.
    assert_eq!(at(&["sources", "visits", "group", "size"], At::Key), Some("visits"));
    assert_eq!(at(&["lists"], At::Key), None);
    let members = "dimensions:\n  place:\n    site:\n      members:\n        - {key: A}\n        - key: \"B\"\n          weight: 2\n";
    let path = vec![
        Seg::Key("dimensions".into()),
        Seg::Key("place".into()),
        Seg::Key("site".into()),
        Seg::Key("members".into()),
        Seg::Index(1),
        Seg::Key("key".into()),
    ];
    let (s, e) = locate(members, &path, At::Value).expect("found");
    assert_eq!(&members[s..e], "\"B\"");
}

#[test]
fn the_artifact_matches_its_json_schema() {
    let schema: serde_json::Value = serde_json::from_str(&json_schema()).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let artifact = GenData::new(Profile::from_yaml(GOOD).expect("reads"));
    let value: serde_json::Value = serde_json::from_str(&artifact.to_json()).expect("JSON");
    let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(schema["title"], "GenData");
}
