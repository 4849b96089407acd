//! The members of every dimension, made before any file is written: a reference column
//! (`-> dimension.level`) draws from them, and the dimension's `from` source lists them, one
//! row per member of its finest level.
//!
//! A level's members are the profile's when it lists them (keys, labels, parents, weights,
//! other columns of the `from` source); else those of the level its key column references in
//! another dimension; else the parents the finer level's listed members name; else made up:
//! `count` of them (or 4 at the top of a hierarchy, 3 per parent below, 12 for a level on its
//! own), keyed by the level's name (`REGI01`), labelled by it (`Region 1`), each under a parent
//! in turn. Every member belongs to a member of the level above it in the dimension's first
//! hierarchy, so rows cut by any level of a drill path agree.

use crate::error::{codes, Error, Result};
use chrono::{Duration, NaiveDate};
use std::collections::{BTreeMap, BTreeSet};
use tally_contract::gendata::check::parent_level;
use tally_contract::gendata::Profile;
use tally_contract::plan::{ColumnType, Dimension, Plan, Reference};

/// One dimension's members.
#[derive(Debug, Clone)]
pub struct DimensionMembers {
    pub name: String,
    /// The source that lists the members, if the dimension has one.
    pub from: Option<String>,
    /// The levels with a key, parents before children.
    pub levels: Vec<LevelMembers>,
    /// The level whose members are the rows of `from`.
    pub row_level: usize,
}

#[derive(Debug, Clone)]
pub struct LevelMembers {
    pub name: String,
    /// The column of `from` holding a member's key, and its label.
    pub key: String,
    pub label: Option<String>,
    /// The level above, by index into [`DimensionMembers::levels`].
    pub parent: Option<usize>,
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: String,
    pub label: Option<String>,
    /// The member of the parent level it belongs to.
    pub parent: Option<usize>,
    pub weight: f64,
    /// Other columns of the `from` source.
    pub values: BTreeMap<String, String>,
}

/// Every dimension's members, by dimension name.
pub fn build(
    plan: &Plan,
    profile: &Profile,
    start: NaiveDate,
) -> Result<BTreeMap<String, DimensionMembers>> {
    let mut built: BTreeMap<String, DimensionMembers> = BTreeMap::new();
    let mut pending: Vec<&Dimension> = plan.dimensions.iter().collect();
    pending.sort_by(|a, b| a.name.cmp(&b.name));
    // Dimensions whose level keys reference another dimension come after it; a circle of such
    // references is broken by name order.
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|d| {
                borrowed_from(plan, d).iter().all(|o| built.contains_key(o) || *o == d.name)
            })
            .unwrap_or(0);
        let dimension = pending.remove(ready);
        let members = Builder { plan, profile, dimension, built: &built, start }.build()?;
        built.insert(dimension.name.clone(), members);
    }
    Ok(built)
}

/// The other dimensions the level keys of `dimension` reference.
fn borrowed_from(plan: &Plan, dimension: &Dimension) -> BTreeSet<String> {
    let Some(from) = dimension.from.as_deref().and_then(|f| plan.source(f)) else {
        return BTreeSet::new();
    };
    dimension
        .levels
        .iter()
        .filter_map(|l| from.column(l.key.as_deref()?)?.references.as_ref())
        .map(|r| r.dimension.clone())
        .filter(|d| *d != dimension.name)
        .collect()
}

struct Builder<'a> {
    plan: &'a Plan,
    profile: &'a Profile,
    dimension: &'a Dimension,
    built: &'a BTreeMap<String, DimensionMembers>,
    start: NaiveDate,
}

impl Builder<'_> {
    fn build(&self) -> Result<DimensionMembers> {
        let d = self.dimension;
        let from = d.from.as_deref().and_then(|f| self.plan.source(f));
        // Keyed levels with their parents, ordered so that parents come first.
        let keyed: Vec<&tally_contract::plan::Level> =
            d.levels.iter().filter(|l| l.key.is_some()).collect();
        let depth = |name: &str| {
            let mut n = 0;
            let mut at = name.to_owned();
            while let Some(p) = parent_level(d, &at) {
                n += 1;
                at = p.to_owned();
                if n > keyed.len() {
                    break;
                }
            }
            n
        };
        let mut order: Vec<(usize, usize)> =
            keyed.iter().enumerate().map(|(i, l)| (depth(&l.name), i)).collect();
        order.sort_unstable();
        let mut levels: Vec<LevelMembers> = Vec::new();
        for (_, i) in &order {
            let level = keyed[*i];
            let parent =
                parent_level(d, &level.name).and_then(|p| levels.iter().position(|l| l.name == p));
            levels.push(LevelMembers {
                name: level.name.clone(),
                key: level.key.clone().unwrap_or_default(),
                label: level.label.clone(),
                parent,
                members: Vec::new(),
            });
        }
        for i in 0..levels.len() {
            let members = self.members_of(&levels, i)?;
            levels[i].members = members;
        }
        let single_key = from.filter(|s| s.key.len() == 1).map(|s| s.key[0].as_str());
        let deepest = order.last().map(|(depth, _)| *depth).unwrap_or(0);
        let row_level = levels
            .iter()
            .position(|l| Some(l.key.as_str()) == single_key)
            .or_else(|| {
                // The last of the deepest levels, in declaration order.
                keyed
                    .iter()
                    .rev()
                    .find(|l| depth(&l.name) == deepest)
                    .and_then(|l| levels.iter().position(|x| x.name == l.name))
            })
            .unwrap_or(0);
        Ok(DimensionMembers { name: d.name.clone(), from: d.from.clone(), levels, row_level })
    }

    fn key_type(&self, column: &str) -> Option<&ColumnType> {
        let from = self.dimension.from.as_deref().and_then(|f| self.plan.source(f))?;
        from.column(column).map(|c| &c.ty)
    }

    fn members_of(&self, levels: &[LevelMembers], i: usize) -> Result<Vec<Member>> {
        let d = self.dimension;
        let level = &levels[i];
        let parents = level.parent.map_or(0, |p| levels[p].members.len());
        let profile = self.profile.level(&d.name, &level.name);
        let listed = profile.map(|p| p.members.as_slice()).unwrap_or_default();
        if !listed.is_empty() {
            let mut out = Vec::new();
            for (n, m) in listed.iter().enumerate() {
                let parent = match (level.parent, &m.parent) {
                    (Some(p), Some(key)) => levels[p].members.iter().position(|x| &x.key == key),
                    (Some(_), None) if parents > 0 => Some(n % parents),
                    _ => None,
                };
                out.push(Member {
                    key: m.key.clone(),
                    label: m.label.clone(),
                    parent,
                    weight: m.weight.unwrap_or(1.0),
                    values: m.values.clone(),
                });
            }
            return Ok(out);
        }
        // The parents that a finer level's listed members name, in order of first mention.
        let named: Vec<String> = d
            .levels
            .iter()
            .filter(|l| parent_level(d, &l.name) == Some(level.name.as_str()))
            .filter_map(|l| self.profile.level(&d.name, &l.name))
            .flat_map(|p| p.members.iter().filter_map(|m| m.parent.clone()))
            .fold(Vec::new(), |mut acc, key| {
                if !acc.contains(&key) {
                    acc.push(key);
                }
                acc
            });
        if !named.is_empty() {
            return Ok(named
                .into_iter()
                .enumerate()
                .map(|(n, key)| Member {
                    label: level.label.as_ref().map(|_| format!("{} {key}", title(&level.name))),
                    key,
                    parent: (parents > 0).then(|| n % parents),
                    weight: 1.0,
                    values: BTreeMap::new(),
                })
                .collect());
        }
        // The members of the level the key column references in another dimension.
        if let Some(r) = self.referenced(&level.key) {
            if let Some(other) = self.built.get(&r.dimension) {
                if let Some(l) = other.levels.iter().find(|l| l.name == r.level) {
                    let weights = other.weights(&r.level);
                    return Ok(l
                        .members
                        .iter()
                        .enumerate()
                        .map(|(n, m)| Member {
                            key: m.key.clone(),
                            label: level.label.as_ref().map(|_| {
                                m.label
                                    .clone()
                                    .unwrap_or_else(|| format!("{} {}", title(&level.name), m.key))
                            }),
                            parent: (parents > 0).then(|| n % parents),
                            weight: weights.get(n).map_or(1.0, |(_, w)| *w),
                            values: BTreeMap::new(),
                        })
                        .collect());
                }
            }
        }
        let has_children =
            d.levels.iter().any(|l| parent_level(d, &l.name) == Some(level.name.as_str()));
        let default = match (level.parent, has_children) {
            (Some(_), _) => (parents * 3).max(1),
            (None, true) => 4,
            (None, false) => 12,
        };
        let count = profile.and_then(|p| p.count).map_or(default, |c| c as usize);
        let keys = self.made_up_keys(&level.name, &level.key, count)?;
        Ok(keys
            .into_iter()
            .enumerate()
            .map(|(n, key)| Member {
                key,
                label: level.label.as_ref().map(|_| format!("{} {}", title(&level.name), n + 1)),
                parent: (parents > 0).then(|| n % parents),
                // A few members are much busier than the rest.
                weight: 1.0 / (n as f64 + 1.0),
                values: BTreeMap::new(),
            })
            .collect())
    }

    fn referenced(&self, column: &str) -> Option<&Reference> {
        let from = self.dimension.from.as_deref().and_then(|f| self.plan.source(f))?;
        from.column(column)?.references.as_ref().filter(|r| r.dimension != self.dimension.name)
    }

    /// `count` keys of the type of the level's key column.
    fn made_up_keys(&self, level: &str, key_column: &str, count: usize) -> Result<Vec<String>> {
        let keys = match self.key_type(key_column) {
            Some(ColumnType::Enum { values }) => values.clone(),
            Some(ColumnType::Bool) => vec!["true".to_owned(), "false".to_owned()],
            Some(ColumnType::Int | ColumnType::Decimal { .. }) => {
                (1..=count).map(|n| n.to_string()).collect()
            }
            Some(ColumnType::Date) => (0..count)
                .map(|n| (self.start + Duration::days(n as i64)).format("%Y-%m-%d").to_string())
                .collect(),
            Some(ColumnType::Timestamp) => (0..count)
                .map(|n| {
                    (self.start.and_time(chrono::NaiveTime::MIN) + Duration::hours(n as i64))
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string()
                })
                .collect(),
            Some(ColumnType::String) | None => {
                let code = code(level);
                let width = count.to_string().len().max(2);
                (1..=count).map(|n| format!("{code}{n:0width$}")).collect()
            }
        };
        if keys.is_empty() {
            return Err(Error::new(
                codes::GEN_DATA_NO_SUPPLIER,
                format!("level `{}.{level}` would have no members", self.dimension.name),
            )
            .help("give the level members or a count in the profile's `dimensions`"));
        }
        Ok(keys)
    }
}

impl DimensionMembers {
    pub fn level(&self, name: &str) -> Option<&LevelMembers> {
        self.levels.iter().find(|l| l.name == name)
    }

    /// A level's member keys and how busy each is: the rows' members by their own weight, the
    /// levels above them by the sum of their rows' weights, other levels by their own.
    pub fn weights(&self, level: &str) -> Vec<(String, f64)> {
        let Some(at) = self.levels.iter().position(|l| l.name == level) else { return Vec::new() };
        let members = &self.levels[at].members;
        if at == self.row_level || !self.is_ancestor(at, self.row_level) {
            return members.iter().map(|m| (m.key.clone(), m.weight)).collect();
        }
        let mut sums = vec![0.0; members.len()];
        let mut reached = vec![false; members.len()];
        for (i, m) in self.levels[self.row_level].members.iter().enumerate() {
            if let Some(j) = self.ancestor(self.row_level, i, at) {
                sums[j] += m.weight;
                reached[j] = true;
            }
        }
        members
            .iter()
            .enumerate()
            .map(|(j, m)| (m.key.clone(), if reached[j] { sums[j] } else { m.weight }))
            .collect()
    }

    fn is_ancestor(&self, ancestor: usize, mut level: usize) -> bool {
        while let Some(p) = self.levels[level].parent {
            if p == ancestor {
                return true;
            }
            level = p;
        }
        false
    }

    /// The member of level `target` above member `member` of level `level`.
    fn ancestor(&self, mut level: usize, mut member: usize, target: usize) -> Option<usize> {
        while level != target {
            member = self.levels[level].members.get(member)?.parent?;
            level = self.levels[level].parent?;
        }
        Some(member)
    }

    /// How many rows the `from` source lists.
    pub fn rows(&self) -> usize {
        self.levels.get(self.row_level).map_or(0, |l| l.members.len())
    }

    /// The columns row `i` of the `from` source takes from the members: every level's key and
    /// label (the row's member and those above it; for other levels, their members in turn),
    /// and the row member's other values.
    pub fn row(&self, i: usize) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let put = |level: usize, member: usize, out: &mut BTreeMap<String, String>| {
            let mut at = Some((level, member));
            while let Some((l, m)) = at {
                let lm = &self.levels[l];
                let Some(x) = lm.members.get(m) else { break };
                out.entry(lm.key.clone()).or_insert_with(|| x.key.clone());
                if let Some(label) = &lm.label {
                    let text =
                        x.label.clone().unwrap_or_else(|| format!("{} {}", title(&lm.name), x.key));
                    out.entry(label.clone()).or_insert(text);
                }
                at = lm.parent.zip(x.parent);
            }
        };
        put(self.row_level, i, &mut out);
        for l in 0..self.levels.len() {
            let n = self.levels[l].members.len();
            if n > 0 && !out.contains_key(&self.levels[l].key) {
                put(l, i % n, &mut out);
            }
        }
        if let Some(m) = self.levels.get(self.row_level).and_then(|l| l.members.get(i)) {
            for (k, v) in &m.values {
                out.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        out
    }
}

/// `clinic_group` → `CLIN`: the stem of made-up keys.
pub fn code(name: &str) -> String {
    let base = name.trim_end_matches("_code").trim_end_matches("_id");
    let code: String = base
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(4)
        .collect::<String>()
        .to_ascii_uppercase();
    if code.is_empty() {
        "M".to_owned()
    } else {
        code
    }
}

/// `clinic_group` → `Clinic Group`.
pub fn title(name: &str) -> String {
    name.trim_end_matches("_name")
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            cs.next().map(|f| f.to_ascii_uppercase().to_string() + cs.as_str()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}
