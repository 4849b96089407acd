//! A profile against the project it is for: every name it uses must be a source, column,
//! dimension, level or list the project has, every value one the column can hold, every
//! setting one that fits the column's type and the source's load mode, every share and weight
//! in range.
//!
//! [`check`] returns every problem, not the first, each with the path of the YAML node it is
//! about; the compiler turns them into diagnostics (with the node's place in the file, found
//! by [`super::locate`]) and the runtime into an error for `tally gen-data --profile`. The
//! project is seen through [`Shape`], which both build: the compiler from its model, the
//! runtime from `plan.json`.

use super::locate::At;
use super::{
    ColumnProfile, GroupSize, LogNormal, Pattern, Profile, SourceProfile, Uniform, Weights,
};
use crate::plan::{Column, ColumnType, Dimension, Plan};
use crate::suggest::did_you_mean;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// What a profile is checked against: the project's sources and dimensions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shape {
    pub sources: Vec<ShapeSource>,
    pub dimensions: Vec<Dimension>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ShapeSource {
    pub name: String,
    /// `snapshot`, `append`, `incremental` or `cdc`.
    pub mode: String,
    pub key: Vec<String>,
    pub columns: Vec<Column>,
}

impl Shape {
    pub fn of(plan: &Plan) -> Shape {
        Shape {
            sources: plan
                .sources
                .iter()
                .map(|s| ShapeSource {
                    name: s.name.clone(),
                    mode: s.load.mode().to_owned(),
                    key: s.key.clone(),
                    columns: s.columns.clone(),
                })
                .collect(),
            dimensions: plan.dimensions.clone(),
        }
    }

    fn source(&self, name: &str) -> Option<&ShapeSource> {
        self.sources.iter().find(|s| s.name == name)
    }

    fn dimension(&self, name: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.name == name)
    }

    /// The dimension whose members `source` lists, if any.
    fn supplies(&self, source: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.from.as_deref() == Some(source))
    }
}

impl ShapeSource {
    fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }
}

/// The level directly above `level` in the first of the dimension's hierarchies that has it,
/// skipping levels without a key (`national`).
pub fn parent_level<'d>(dimension: &'d Dimension, level: &str) -> Option<&'d str> {
    let hierarchy = dimension.hierarchies.iter().find(|h| h.iter().any(|l| l == level))?;
    let at = hierarchy.iter().position(|l| l == level)?;
    hierarchy[..at]
        .iter()
        .rev()
        .find(|l| dimension.level(l).is_some_and(|x| x.key.is_some()))
        .map(String::as_str)
}

/// One step of a path into the YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl fmt::Display for Seg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seg::Key(k) => f.write_str(k),
            Seg::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// What kind of problem: each has its own diagnostic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProblemKind {
    /// A source, column, dimension, level or list the project does not have.
    UnknownName,
    /// A value the column or level cannot hold: not one of an enum's values, not a number, a
    /// parent that is not a member.
    InvalidValue,
    /// A setting that does not fit where it is: a share of true on a number, members for a
    /// level without a key, deletions for an append source, two ways of drawing one column.
    DoesNotApply,
    /// A share outside 0 to 1, a negative or non-finite weight or number, bounds that cross.
    OutOfRange,
    /// A member listed twice.
    Duplicate,
}

/// One problem of a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The YAML node it is about.
    pub path: Vec<Seg>,
    /// Whether the node's key or its value is at fault.
    pub at: At,
    /// Sentence case, no trailing period.
    pub message: String,
    /// What the label under the node says.
    pub label: String,
    pub help: Option<String>,
}

impl Problem {
    /// The path as `sources.seacats.columns.seizure_type`.
    pub fn dotted(&self) -> String {
        let mut out = String::new();
        for seg in &self.path {
            if !out.is_empty() && matches!(seg, Seg::Key(_)) {
                out.push('.');
            }
            out.push_str(&seg.to_string());
        }
        out
    }
}

/// Every problem of `profile` against `shape`, in document order of their paths.
pub fn check(profile: &Profile, shape: &Shape) -> Vec<Problem> {
    let mut c = Checker { shape, profile, problems: Vec::new() };
    c.traffic();
    for (name, weights) in &profile.lists {
        c.weights(&path(&["lists", name]), weights, None);
    }
    for (name, levels) in &profile.dimensions {
        c.dimension(name, levels);
    }
    for (name, source) in &profile.sources {
        c.source(name, source);
    }
    c.problems
}

fn path(keys: &[&str]) -> Vec<Seg> {
    keys.iter().map(|k| Seg::Key((*k).to_owned())).collect()
}

fn with(base: &[Seg], keys: &[&str]) -> Vec<Seg> {
    let mut out = base.to_vec();
    out.extend(keys.iter().map(|k| Seg::Key((*k).to_owned())));
    out
}

struct Checker<'a> {
    shape: &'a Shape,
    profile: &'a Profile,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn problem(
        &mut self,
        kind: ProblemKind,
        path: Vec<Seg>,
        at: At,
        message: String,
        label: impl Into<String>,
        help: Option<String>,
    ) {
        self.problems.push(Problem { kind, path, at, message, label: label.into(), help });
    }

    fn unknown(&mut self, path: Vec<Seg>, what: &str, name: &str, valid: &[&str], context: &str) {
        self.problem(
            ProblemKind::UnknownName,
            path,
            At::Key,
            format!("Unknown {what} `{name}`{context}"),
            format!("no {what} `{name}`"),
            Some(did_you_mean(name, valid, what)),
        );
    }

    fn does_not_apply(&mut self, path: Vec<Seg>, message: String, help: impl Into<String>) {
        self.problem(ProblemKind::DoesNotApply, path, At::Key, message, "here", Some(help.into()));
    }

    fn out_of_range(&mut self, path: Vec<Seg>, message: String, help: impl Into<String>) {
        self.problem(
            ProblemKind::OutOfRange,
            path,
            At::Value,
            message,
            "out of range",
            Some(help.into()),
        );
    }

    fn share(&mut self, path: Vec<Seg>, value: Option<f64>) {
        if let Some(v) = value {
            if !(0.0..=1.0).contains(&v) || !v.is_finite() {
                let name = path.last().map(ToString::to_string).unwrap_or_default();
                self.out_of_range(
                    path,
                    format!("`{name}` is {v}, not a share between 0 and 1"),
                    "write a share as a number from 0 to 1: 0.05 is 5%",
                );
            }
        }
    }

    fn positive(&mut self, path: Vec<Seg>, value: Option<f64>, zero_ok: bool) {
        if let Some(v) = value {
            if !v.is_finite() || v < 0.0 || (!zero_ok && v == 0.0) {
                let name = path.last().map(ToString::to_string).unwrap_or_default();
                let what = if zero_ok { "0 or more" } else { "above 0" };
                self.out_of_range(
                    path,
                    format!("`{name}` is {v}, and must be {what}"),
                    format!("give `{name}` a number {what}"),
                );
            }
        }
    }

    fn traffic(&mut self) {
        let Some(traffic) = &self.profile.traffic else { return };
        for (key, curve, want, what) in [
            ("hours", &traffic.hours, 24, "hour of the day, midnight first"),
            ("weekdays", &traffic.weekdays, 7, "day of the week, Monday first"),
        ] {
            let Some(curve) = curve else { continue };
            let bad = curve.iter().any(|v| !v.is_finite() || *v < 0.0);
            if curve.len() != want || bad || curve.iter().sum::<f64>() <= 0.0 {
                self.out_of_range(
                    path(&["traffic", key]),
                    format!(
                        "`traffic.{key}` has {} weight(s){}; it takes {want}",
                        curve.len(),
                        if bad { ", not all 0 or more" } else { "" }
                    ),
                    format!("list {want} weights of 0 or more, one per {what}, not all 0"),
                );
            }
        }
    }

    /// Weights: each finite and 0 or more, some above 0; each value one `column` can hold.
    fn weights(&mut self, at: &[Seg], weights: &Weights, column: Option<&Column>) {
        if weights.is_empty() || weights.values().all(|w| *w == 0.0) {
            self.out_of_range(
                at.to_vec(),
                "The weights give no value a chance".to_owned(),
                "list the values with weights above 0: `{a: 3, b: 1}`",
            );
        }
        for (value, weight) in weights {
            let here = with(at, &[value]);
            if !weight.is_finite() || *weight < 0.0 {
                self.out_of_range(
                    here.clone(),
                    format!("The weight of `{value}` is {weight}"),
                    "weights are relative numbers of 0 or more",
                );
            }
            if let Some(column) = column {
                self.fits(here, At::Key, column, value);
            }
        }
    }

    /// Whether `text` is a value `column` can hold.
    fn fits(&mut self, at: Vec<Seg>, locus: At, column: &Column, text: &str) {
        let problem = match &column.ty {
            ColumnType::Enum { values } => (!values.iter().any(|v| v == text)).then(|| {
                let valid: Vec<&str> = values.iter().map(String::as_str).collect();
                (
                    format!("`{text}` is not a value of enum column `{}`", column.name),
                    did_you_mean(text, &valid, "value"),
                )
            }),
            ColumnType::Int => text.parse::<i64>().is_err().then(|| {
                (
                    format!("`{text}` is not a whole number, and `{}` is an int", column.name),
                    "write a whole number such as `4`".to_owned(),
                )
            }),
            ColumnType::Decimal { precision, scale } => {
                (!fits_decimal(text, *precision, *scale)).then(|| {
                    (
                        format!(
                            "`{text}` does not fit `{}`, a decimal({precision}, {scale})",
                            column.name
                        ),
                        format!(
                            "write a number with at most {} digit(s) before the point and {scale} after",
                            precision.saturating_sub(*scale)
                        ),
                    )
                })
            }
            ColumnType::Bool => (text != "true" && text != "false").then(|| {
                (
                    format!("`{text}` is not a bool, and `{}` is one", column.name),
                    "write `true` or `false`".to_owned(),
                )
            }),
            ColumnType::Date => (!is_date(text)).then(|| {
                (
                    format!("`{text}` is not a date, and `{}` is one", column.name),
                    "write a date as YYYY-MM-DD".to_owned(),
                )
            }),
            ColumnType::Timestamp => (!is_timestamp(text)).then(|| {
                (
                    format!("`{text}` is not a timestamp, and `{}` is one", column.name),
                    "write a timestamp as YYYY-MM-DD HH:MM:SS".to_owned(),
                )
            }),
            ColumnType::String => text.is_empty().then(|| {
                (
                    format!("An empty value for `{}`", column.name),
                    "an empty text reads as no value (NULL) when loaded: give a value".to_owned(),
                )
            }),
        };
        if let Some((message, help)) = problem {
            self.problem(ProblemKind::InvalidValue, at, locus, message, "here", Some(help));
        }
    }

    fn list(&mut self, at: Vec<Seg>, name: &str) -> bool {
        if self.profile.lists.contains_key(name) {
            return true;
        }
        let valid: Vec<&str> = self.profile.lists.keys().map(String::as_str).collect();
        self.problem(
            ProblemKind::UnknownName,
            at,
            At::Value,
            format!("Unknown list `{name}`"),
            format!("no list `{name}` under `lists`"),
            Some(did_you_mean(name, &valid, "list")),
        );
        false
    }

    fn dimension(&mut self, name: &str, levels: &BTreeMap<String, super::LevelProfile>) {
        let Some(dimension) = self.shape.dimension(name) else {
            let valid: Vec<&str> = self.shape.dimensions.iter().map(|d| d.name.as_str()).collect();
            self.unknown(path(&["dimensions", name]), "dimension", name, &valid, "");
            return;
        };
        let from = dimension.from.as_deref().and_then(|f| self.shape.source(f));
        // Members listed per level, for the parents of the next finer level.
        let mut listed: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (level_name, level) in levels {
            if !level.members.is_empty() {
                listed.insert(level_name, level.members.iter().map(|m| m.key.as_str()).collect());
            }
        }
        for (level_name, profile) in levels {
            let here = path(&["dimensions", name, level_name]);
            let Some(level) = dimension.level(level_name) else {
                let valid: Vec<&str> = dimension.levels.iter().map(|l| l.name.as_str()).collect();
                self.unknown(here, "level", level_name, &valid, &format!(" of dimension `{name}`"));
                continue;
            };
            let Some(key) = &level.key else {
                self.does_not_apply(
                    here,
                    format!("Level `{name}.{level_name}` has no members of its own"),
                    "a level without a key (a total such as `national`) takes no members: list the members of a level with a key",
                );
                continue;
            };
            if !profile.members.is_empty() && profile.count.is_some() {
                self.does_not_apply(
                    with(&here, &["count"]),
                    format!("Level `{name}.{level_name}` both lists members and gives a count"),
                    "list the members, or give a count of members to make up, not both",
                );
            }
            if profile.count == Some(0) {
                self.out_of_range(
                    with(&here, &["count"]),
                    format!("Level `{name}.{level_name}` would have no members"),
                    "give a count of 1 or more",
                );
            }
            let key_column = from.and_then(|s| s.column(key));
            let label_column = level.label.as_ref().and_then(|l| from.and_then(|s| s.column(l)));
            let parent = parent_level(dimension, level_name);
            let parent_key_column = parent
                .and_then(|p| dimension.level(p))
                .and_then(|l| l.key.as_ref())
                .and_then(|k| from.and_then(|s| s.column(k)));
            let mut seen: BTreeSet<&str> = BTreeSet::new();
            for (i, member) in profile.members.iter().enumerate() {
                let at = {
                    let mut p = with(&here, &["members"]);
                    p.push(Seg::Index(i));
                    p
                };
                if !seen.insert(member.key.as_str()) {
                    self.problem(
                        ProblemKind::Duplicate,
                        with(&at, &["key"]),
                        At::Value,
                        format!("Member `{}` of `{name}.{level_name}` is listed twice", member.key),
                        "listed again here",
                        Some("list each member once: a key names one member".to_owned()),
                    );
                }
                if let Some(column) = key_column {
                    self.fits(with(&at, &["key"]), At::Value, column, &member.key);
                }
                match (&member.label, &level.label) {
                    (Some(_), None) => self.does_not_apply(
                        with(&at, &["label"]),
                        format!("Level `{name}.{level_name}` has no label column"),
                        "remove `label`: the level's members are named by their key",
                    ),
                    (Some(text), Some(_)) => {
                        if let Some(column) = label_column {
                            self.fits(with(&at, &["label"]), At::Value, column, text);
                        }
                    }
                    _ => {}
                }
                match (&member.parent, parent) {
                    (Some(_), None) => self.does_not_apply(
                        with(&at, &["parent"]),
                        format!("Level `{name}.{level_name}` has no level above it"),
                        format!(
                            "remove `parent`: no hierarchy of `{name}` has a level with a key above `{level_name}`"
                        ),
                    ),
                    (Some(p), Some(parent)) => {
                        if let Some(keys) = listed.get(parent) {
                            if !keys.contains(p.as_str()) {
                                let valid: Vec<&str> = keys.iter().copied().collect();
                                self.problem(
                                    ProblemKind::InvalidValue,
                                    with(&at, &["parent"]),
                                    At::Value,
                                    format!("`{p}` is not a member of `{name}.{parent}`"),
                                    "not listed",
                                    Some(did_you_mean(p, &valid, "member")),
                                );
                            }
                        } else if let Some(column) = parent_key_column {
                            self.fits(with(&at, &["parent"]), At::Value, column, p);
                        }
                    }
                    (None, Some(parent)) if listed.contains_key(parent) => self.problem(
                        ProblemKind::InvalidValue,
                        at.clone(),
                        At::Value,
                        format!(
                            "Member `{}` of `{name}.{level_name}` has no parent",
                            member.key
                        ),
                        "no `parent`",
                        Some(format!(
                            "the members of `{name}.{parent}` are listed: give each member of `{level_name}` the key of its `{parent}` as `parent`"
                        )),
                    ),
                    _ => {}
                }
                self.positive(with(&at, &["weight"]), member.weight, true);
                self.member_values(name, &at, member, from, dimension);
            }
        }
    }

    fn member_values(
        &mut self,
        dimension_name: &str,
        at: &[Seg],
        member: &super::Member,
        from: Option<&ShapeSource>,
        dimension: &Dimension,
    ) {
        if member.values.is_empty() {
            return;
        }
        let Some(from) = from else {
            self.does_not_apply(
                with(at, &["values"]),
                format!("Dimension `{dimension_name}` lists its members from no source"),
                "remove `values`: they are columns of the dimension's `from` source",
            );
            return;
        };
        for (column_name, value) in &member.values {
            let here = with(at, &["values", column_name]);
            let Some(column) = from.column(column_name) else {
                self.unknown(
                    here,
                    "column",
                    column_name,
                    &from.column_names(),
                    &format!(" of source `{}`", from.name),
                );
                continue;
            };
            let level_column = dimension.levels.iter().find(|l| {
                l.key.as_deref() == Some(column_name) || l.label.as_deref() == Some(column_name)
            });
            if let Some(level) = level_column {
                self.does_not_apply(
                    here,
                    format!(
                        "`{column_name}` is the key or label of level `{dimension_name}.{}`",
                        level.name
                    ),
                    "give it as the member's `key`, `label` or `parent`, not under `values`",
                );
                continue;
            }
            self.fits(here, At::Value, column, value);
        }
    }

    fn source(&mut self, name: &str, profile: &SourceProfile) {
        let here = path(&["sources", name]);
        let Some(source) = self.shape.source(name) else {
            let valid: Vec<&str> = self.shape.sources.iter().map(|s| s.name.as_str()).collect();
            self.unknown(here, "source", name, &valid, "");
            return;
        };
        let mode = source.mode.as_str();
        if let Some(dimension) = self.shape.supplies(name) {
            for (key, set) in [
                ("rows_per_day", profile.rows_per_day.is_some()),
                ("members", profile.members.is_some()),
                ("updates", profile.updates.is_some()),
                ("deletes", profile.deletes.is_some()),
                ("new_members", profile.new_members.is_some()),
                ("group", profile.group.is_some()),
            ] {
                if set {
                    self.does_not_apply(
                        with(&here, &[key]),
                        format!(
                            "Source `{name}` lists the members of dimension `{}`",
                            dimension.name
                        ),
                        format!(
                            "its rows are the dimension's members, one snapshot: list or count them under `dimensions.{}` instead of `{key}`",
                            dimension.name
                        ),
                    );
                }
            }
        } else {
            let snapshot = mode == "snapshot";
            let applies = [
                (
                    "rows_per_day",
                    profile.rows_per_day.is_some(),
                    !snapshot,
                    "sources of events (append, incremental, cdc)",
                ),
                ("members", profile.members.is_some(), snapshot, "snapshot sources"),
                (
                    "updates",
                    profile.updates.is_some(),
                    mode != "append",
                    "incremental, cdc and snapshot sources",
                ),
                (
                    "deletes",
                    profile.deletes.is_some(),
                    mode == "cdc" || snapshot,
                    "cdc and snapshot sources",
                ),
                ("new_members", profile.new_members.is_some(), snapshot, "snapshot sources"),
            ];
            for (key, set, fits, which) in applies {
                if set && !fits {
                    self.does_not_apply(
                        with(&here, &[key]),
                        format!("`{key}` does not apply to `{name}`, {} source", a(mode)),
                        format!("`{key}` is for {which}"),
                    );
                }
            }
            self.positive(with(&here, &["rows_per_day"]), profile.rows_per_day, true);
            self.positive(with(&here, &["members"]), profile.members, true);
            self.share(with(&here, &["updates"]), profile.updates);
            self.share(with(&here, &["deletes"]), profile.deletes);
            self.share(with(&here, &["new_members"]), profile.new_members);
            if let (Some(u), Some(d)) = (profile.updates, profile.deletes) {
                if u + d > 1.0 {
                    self.out_of_range(
                        with(&here, &["deletes"]),
                        format!("`updates` and `deletes` of `{name}` add up to more than 1"),
                        "a row is updated or deleted, not both: keep the two shares' sum at most 1",
                    );
                }
            }
        }
        if let Some(group) = &profile.group {
            self.group(name, &with(&here, &["group"]), group, source);
        }
        for (column_name, column_profile) in &profile.columns {
            let at = with(&here, &["columns", column_name]);
            let Some(column) = source.column(column_name) else {
                self.unknown(
                    at,
                    "column",
                    column_name,
                    &source.column_names(),
                    &format!(" of source `{name}`"),
                );
                continue;
            };
            self.column(source, column, &at, column_profile, profile);
        }
        self.cycles(name, &here, profile, source);
    }

    fn group(&mut self, name: &str, at: &[Seg], group: &super::GroupProfile, source: &ShapeSource) {
        if source.key.len() < 2 {
            self.does_not_apply(
                at.to_vec(),
                format!("Source `{name}` has a key of one column, so no key groups"),
                "`group` is for sources with a composite key, whose rows come in groups (the lines of an entry)",
            );
            return;
        }
        if let Some(size) = &group.size {
            self.size(&with(at, &["size"]), size);
        }
        for (i, column) in group.shared.iter().flatten().enumerate() {
            if source.column(column).is_none() {
                let mut p = with(at, &["shared"]);
                p.push(Seg::Index(i));
                let valid = source.column_names();
                self.problem(
                    ProblemKind::UnknownName,
                    p,
                    At::Value,
                    format!("Unknown column `{column}` of source `{name}`"),
                    format!("no column `{column}`"),
                    Some(did_you_mean(column, &valid, "column")),
                );
            }
        }
    }

    fn size(&mut self, at: &[Seg], size: &GroupSize) {
        let ways = usize::from(size.lognormal.is_some()) + usize::from(size.uniform.is_some());
        if ways != 1 {
            self.does_not_apply(
                at.to_vec(),
                "A group size needs one distribution".to_owned(),
                "give `lognormal: {median, sigma}` or `uniform: {min, max}`",
            );
        }
        if let Some(l) = &size.lognormal {
            self.lognormal(&with(at, &["lognormal"]), l);
        }
        if let Some(u) = &size.uniform {
            self.uniform(&with(at, &["uniform"]), u);
        }
        self.positive(with(at, &["min"]), size.min, false);
        self.positive(with(at, &["max"]), size.max, false);
        self.bounds(at, size.min, size.max);
    }

    fn lognormal(&mut self, at: &[Seg], l: &LogNormal) {
        self.positive(with(at, &["median"]), Some(l.median), false);
        self.positive(with(at, &["sigma"]), Some(l.sigma), true);
    }

    fn uniform(&mut self, at: &[Seg], u: &Uniform) {
        if !u.min.is_finite() || !u.max.is_finite() || u.min > u.max {
            self.out_of_range(
                at.to_vec(),
                format!("The range {} to {} is empty", u.min, u.max),
                "give `min` at most `max`, both finite",
            );
        }
    }

    fn bounds(&mut self, at: &[Seg], min: Option<f64>, max: Option<f64>) {
        if let (Some(lo), Some(hi)) = (min, max) {
            if lo > hi {
                self.out_of_range(
                    with(at, &["max"]),
                    format!("`max` {hi} is below `min` {lo}"),
                    "give `min` at most `max`",
                );
            }
        }
    }

    fn column(
        &mut self,
        source: &ShapeSource,
        column: &Column,
        at: &[Seg],
        p: &ColumnProfile,
        source_profile: &SourceProfile,
    ) {
        let name = &column.name;
        let ty = column.ty.word();
        let generators = p.generators();
        if generators.len() > 1 {
            self.does_not_apply(
                with(at, &[generators[1]]),
                format!(
                    "Column `{name}` is given two ways of drawing values, `{}` and `{}`",
                    generators[0], generators[1]
                ),
                "keep one: the others (`null_share`, `min`, `max`, `zero_share`, `median_by`, `traffic_median`, `clusters`) adjust it",
            );
        }
        let is_key = source.key.iter().any(|k| k == name);
        let last_key = source.key.len() > 1 && source.key.last() == Some(name);
        if is_key {
            let allowed = ["pattern", "periods"];
            if let Some(bad) = generators.iter().find(|g| !allowed.contains(g)) {
                self.does_not_apply(
                    with(at, &[bad]),
                    format!("`{name}` is a key column of `{}`", source.name),
                    "key values are made unique by gen-data: a key column takes only a `pattern` (or `periods`, the last column of a composite key)",
                );
            }
            if p.periods.is_some() && source.key.len() > 1 && !last_key {
                self.does_not_apply(
                    with(at, &["periods"]),
                    format!("`{name}` is not the last column of the key of `{}`", source.name),
                    "only the last column of a composite key can count the periods of its group",
                );
            }
        }
        if let Some(r) = &column.references {
            for g in &generators {
                self.does_not_apply(
                    with(at, &[g]),
                    format!("`{name}` references `{r}` and takes its members"),
                    format!(
                        "weight the members under `dimensions.{}.{}` instead (`weight:`)",
                        r.dimension, r.level
                    ),
                );
            }
        }
        if p.null_share.is_some() && !column.nullable {
            self.does_not_apply(
                with(at, &["null_share"]),
                format!("`{name}` is `not null`"),
                "remove `null_share`: a required column always has a value",
            );
        }
        self.share(with(at, &["null_share"]), p.null_share);
        let number = matches!(column.ty, ColumnType::Int | ColumnType::Decimal { .. });
        let time = matches!(column.ty, ColumnType::Date | ColumnType::Timestamp);
        let text = matches!(column.ty, ColumnType::String);
        let checks: [(&str, bool, bool, &str); 17] = [
            (
                "weights",
                p.weights.is_some(),
                !matches!(column.ty, ColumnType::Bool) && !time,
                "enum, string, int and decimal columns",
            ),
            (
                "list",
                p.list.is_some(),
                !matches!(column.ty, ColumnType::Bool) && !time,
                "enum, string, int and decimal columns",
            ),
            ("pattern", p.pattern.is_some(), text, "string columns"),
            ("true_share", p.true_share.is_some(), column.ty == ColumnType::Bool, "bool columns"),
            ("true_when", p.true_when.is_some(), column.ty == ColumnType::Bool, "bool columns"),
            ("lognormal", p.lognormal.is_some(), number, "int and decimal columns"),
            ("uniform", p.uniform.is_some(), number, "int and decimal columns"),
            ("min", p.min.is_some(), number, "int and decimal columns"),
            ("max", p.max.is_some(), number, "int and decimal columns"),
            ("zero_share", p.zero_share.is_some(), number, "int and decimal columns"),
            ("median_by", p.median_by.is_some(), p.lognormal.is_some(), "a `lognormal` column"),
            (
                "traffic_median",
                p.traffic_median.is_some(),
                p.lognormal.is_some(),
                "a `lognormal` column",
            ),
            (
                "clusters",
                p.clusters.is_some(),
                p.lognormal.is_some() || p.uniform.is_some(),
                "a `lognormal` or `uniform` column",
            ),
            ("times", p.times.is_some(), number, "int and decimal columns"),
            ("after", p.after.is_some(), time, "date and timestamp columns"),
            ("running_total_of", p.running_total_of.is_some(), number, "int and decimal columns"),
            ("periods", p.periods.is_some(), text, "string columns"),
        ];
        for (key, set, fits, which) in checks {
            if set && !fits {
                self.does_not_apply(
                    with(at, &[key]),
                    format!("`{key}` does not apply to `{name}`, {} column", a(ty)),
                    format!("`{key}` is for {which}"),
                );
            }
        }
        if p.period_end_of.is_some() && !time {
            self.does_not_apply(
                with(at, &["period_end_of"]),
                format!("`period_end_of` does not apply to `{name}`, {} column", a(ty)),
                "`period_end_of` is for date and timestamp columns",
            );
        }
        if let Some(weights) = &p.weights {
            let fits = (!matches!(column.ty, ColumnType::String)).then_some(column);
            self.weights(&with(at, &["weights"]), weights, fits);
        }
        if let Some(list) = &p.list {
            if self.list(with(at, &["list"]), list) && !text {
                // The first value of the list the column cannot hold stands for the others.
                let profile = self.profile;
                let values = profile.lists.get(list).into_iter().flat_map(|w| w.keys());
                let before = self.problems.len();
                for value in values {
                    self.fits(with(at, &["list"]), At::Value, column, value);
                    if self.problems.len() > before {
                        break;
                    }
                }
            }
        }
        if let Some(pattern) = &p.pattern {
            match Pattern::parse(pattern) {
                Ok(parsed) => {
                    for list in parsed.lists() {
                        self.list(with(at, &["pattern"]), list);
                    }
                }
                Err(why) => self.problem(
                    ProblemKind::InvalidValue,
                    with(at, &["pattern"]),
                    At::Value,
                    format!("The pattern of `{name}` does not read: {why}"),
                    "here",
                    Some("placeholders are `{1..99}`, `{000001..999}` (zero-padded), `{list NAME}` and `{date}`".to_owned()),
                ),
            }
        }
        self.share(with(at, &["true_share"]), p.true_share);
        self.share(with(at, &["zero_share"]), p.zero_share);
        if let Some(l) = &p.lognormal {
            self.lognormal(&with(at, &["lognormal"]), l);
        }
        if let Some(u) = &p.uniform {
            self.uniform(&with(at, &["uniform"]), u);
        }
        self.bounds(at, p.min, p.max);
        self.positive(with(at, &["traffic_median"]), p.traffic_median, true);
        let other = |column: &str| source.column(column);
        if let Some(t) = &p.true_when {
            if let Some(c) =
                self.other_column(source, &with(at, &["true_when", "column"]), &t.column)
            {
                for (i, v) in t.values.iter().enumerate() {
                    let mut here = with(at, &["true_when", "values"]);
                    here.push(Seg::Index(i));
                    if !matches!(c.ty, ColumnType::String) {
                        self.fits(here, At::Value, c, v);
                    }
                }
            }
        }
        if let Some(m) = &p.median_by {
            if let Some(c) =
                self.other_column(source, &with(at, &["median_by", "column"]), &m.column)
            {
                for (value, median) in &m.medians {
                    let here = with(at, &["median_by", "medians", value]);
                    if !matches!(c.ty, ColumnType::String) {
                        self.fits(here.clone(), At::Key, c, value);
                    }
                    self.positive(here, Some(*median), false);
                }
            }
        }
        if let Some(cl) = &p.clusters {
            self.other_column(source, &with(at, &["clusters", "column"]), &cl.column);
            let mut total = 0.0;
            for (i, f) in cl.factors.iter().enumerate() {
                let mut here = with(at, &["clusters", "factors"]);
                here.push(Seg::Index(i));
                self.share(with(&here, &["share"]), Some(f.share));
                self.positive(with(&here, &["factor"]), Some(f.factor), true);
                total += f.share;
            }
            if total > 1.0 {
                self.out_of_range(
                    with(at, &["clusters", "factors"]),
                    format!("The shares of the clusters of `{name}` add up to {total}"),
                    "the factors' shares are parts of one whole: keep their sum at most 1",
                );
            }
        }
        if let Some(t) = &p.times {
            let here = with(at, &["times", "column"]);
            if let Some(c) = self.other_column(source, &here, &t.column) {
                self.numeric(here, c, "times");
            }
            self.weights(&with(at, &["times", "factors"]), &t.factors, None);
            for factor in t.factors.keys() {
                if factor.parse::<f64>().map_or(true, |f| !f.is_finite()) {
                    self.problem(
                        ProblemKind::InvalidValue,
                        with(at, &["times", "factors", factor]),
                        At::Key,
                        format!("The factor `{factor}` is not a number"),
                        "here",
                        Some("write each factor as a number, e.g. `0.025: 3`".to_owned()),
                    );
                }
            }
        }
        if let Some(after) = &p.after {
            match (&after.median_minutes, &after.minutes_from) {
                (Some(_), Some(_)) | (None, None) => self.does_not_apply(
                    with(at, &["after"]),
                    format!("`after` of `{name}` needs one of `median_minutes` and `minutes_from`"),
                    "give `median_minutes: 120` (log-normal minutes after the event) or `minutes_from: COLUMN`",
                ),
                _ => {}
            }
            self.positive(with(at, &["after", "median_minutes"]), after.median_minutes, false);
            self.positive(with(at, &["after", "sigma"]), after.sigma, true);
            if let Some(from) = &after.minutes_from {
                let here = with(at, &["after", "minutes_from"]);
                if let Some(c) = self.other_column(source, &here, from) {
                    self.numeric(here, c, "after.minutes_from");
                }
            }
        }
        if let Some(of) = &p.running_total_of {
            let here = with(at, &["running_total_of"]);
            if let Some(c) = self.other_column(source, &here, of) {
                self.numeric(here, c, "running_total_of");
            }
        }
        if let Some(periods) = &p.periods {
            if periods.days == 0 {
                self.out_of_range(
                    with(at, &["periods", "days"]),
                    "A period of 0 days".to_owned(),
                    "give `days` of 1 or more: `periods: {days: 14}` is biweekly",
                );
            }
        }
        if let Some(of) = &p.period_end_of {
            let here = with(at, &["period_end_of"]);
            if other(of).is_some()
                && source_profile.columns.get(of).is_none_or(|c| c.periods.is_none())
            {
                self.does_not_apply(
                    here,
                    format!("`{of}` is not a period label"),
                    format!("give `{of}` `periods: {{days: N}}` in the profile, or name the column that has it"),
                );
            } else {
                self.other_column(source, &here, of);
            }
        }
    }

    /// The column `name` of `source`, reporting it when there is none.
    fn other_column<'s>(
        &mut self,
        source: &'s ShapeSource,
        at: &[Seg],
        name: &str,
    ) -> Option<&'s Column> {
        let found = source.column(name);
        if found.is_none() {
            self.problem(
                ProblemKind::UnknownName,
                at.to_vec(),
                At::Value,
                format!("Unknown column `{name}` of source `{}`", source.name),
                format!("no column `{name}`"),
                Some(did_you_mean(name, &source.column_names(), "column")),
            );
        }
        found
    }

    fn numeric(&mut self, at: Vec<Seg>, column: &Column, setting: &str) {
        if !matches!(column.ty, ColumnType::Int | ColumnType::Decimal { .. }) {
            self.problem(
                ProblemKind::DoesNotApply,
                at,
                At::Value,
                format!("`{setting}` names `{}`, {} column", column.name, a(column.ty.word())),
                "not a number",
                Some(format!("`{setting}` takes an int or decimal column")),
            );
        }
    }

    /// Columns computed from other columns must not go round in a circle.
    fn cycles(&mut self, name: &str, here: &[Seg], profile: &SourceProfile, source: &ShapeSource) {
        let depends: BTreeMap<&str, Vec<&str>> = profile
            .columns
            .iter()
            .filter(|(c, _)| source.column(c).is_some())
            .map(|(c, p)| (c.as_str(), p.depends_on()))
            .collect();
        let mut reported: BTreeSet<Vec<&str>> = BTreeSet::new();
        for start in depends.keys() {
            let Some(circle) = circle(&depends, start) else { continue };
            let mut key = circle.clone();
            key.sort_unstable();
            if !reported.insert(key) {
                continue;
            }
            let text: Vec<String> = circle.iter().map(|c| format!("`{c}`")).collect();
            self.does_not_apply(
                with(here, &["columns", circle[0]]),
                format!(
                    "Columns of `{name}` are computed from each other in a circle: {} from {}",
                    text.join(" from "),
                    text[0]
                ),
                "let one of them draw its values on its own (`lognormal`, `weights`, ...)",
            );
        }
    }
}

/// A way from `start` through the columns it is computed from back to `start`.
fn circle<'a>(depends: &BTreeMap<&'a str, Vec<&'a str>>, start: &'a str) -> Option<Vec<&'a str>> {
    let mut stack = vec![vec![start]];
    let mut visited: BTreeSet<&str> = BTreeSet::new();
    while let Some(trail) = stack.pop() {
        let at = trail[trail.len() - 1];
        for next in depends.get(at).into_iter().flatten() {
            if *next == start {
                return Some(trail);
            }
            if visited.insert(next) {
                let mut longer = trail.clone();
                longer.push(next);
                stack.push(longer);
            }
        }
    }
    None
}

/// `int` → `an int`, `bool` → `a bool`.
fn a(word: &str) -> String {
    match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {word}"),
        _ => format!("a {word}"),
    }
}

fn fits_decimal(text: &str, precision: u8, scale: u8) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    !int.is_empty()
        && all_digits(int)
        && all_digits(frac)
        && int.trim_start_matches('0').len() <= usize::from(precision.saturating_sub(scale))
        && frac.len() <= usize::from(scale)
}

fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else { return false };
    let num = |s: &str, len: usize, lo: u32, hi: u32| {
        s.len() == len && s.parse::<u32>().is_ok_and(|n| (lo..=hi).contains(&n))
    };
    num(y, 4, 1, 9999) && num(m, 2, 1, 12) && num(d, 2, 1, 31)
}

fn is_timestamp(text: &str) -> bool {
    let Some((date, time)) = text.split_once(' ') else { return false };
    let parts: Vec<&str> = time.split(':').collect();
    let num = |s: &str, hi: u32| s.len() == 2 && s.parse::<u32>().is_ok_and(|n| n <= hi);
    is_date(date) && matches!(parts.as_slice(), [h, m, s] if num(h, 23) && num(m, 59) && num(s, 59))
}
