//! The dependency graph: the resolved [`Model`] → a DAG of everything the warehouse builds,
//! in the order it must be built.
//!
//! Nodes are declarations and the warehouse tables they imply ([`NodeKind`]); an edge goes from
//! a dependency to its dependent and says why ([`EdgeKind`]) and where the DSL made it (the
//! [`Span`] of the reference, or of the declaration for edges no reference spells, such as a
//! source loading its staging table). Code generation walks [`Graph::topological_order`];
//! `tally graph` prints [`Graph::to_dot`], [`Graph::to_mermaid`] or [`Graph::to_json`].
//!
//! **The only possible cycle is among derived metrics.** Every edge goes from a kind of lower
//! rank to a kind of higher rank (the order of [`NodeKind`]: retention rules, sources, their
//! staging, current and archive tables, dimensions, the calendar, metrics, marts, reports,
//! roles) except `derived from` edges between two metrics. A source column's `->
//! dimension.level` is deliberately not an edge into the source: it is a join key read when a
//! metric cuts by the dimension (an edge from the dimension into the metric), and loading the
//! source does not need the dimension. So `dimension location { from ports }` with
//! `ports.port_code -> location.port` is not a cycle. A cycle through anything but metrics
//! would be a bug in this module, and is reported as an internal error (`T9999`).
//!
//! Derived metrics nest at most [`MAX_DERIVED_DEPTH`] levels and compute at most
//! [`MAX_INLINED`] metrics from sources each (`T0402`, reported on the metric that crosses a
//! limit, not on everything above it), so that no project makes a statement code generation
//! cannot write or a database cannot read.
//!
//! A cycle is reported once per strongly connected component (`T0401`): a knot of several
//! cycles is one problem, shown with every edge inside it labelled. The message spells the
//! shortest cycle through the metric whose name sorts first; the primary label is that
//! metric's reference to the next one.
//!
//! Decisions worth knowing:
//!
//! - **Canonical whatever the declaration order.** Nodes are added to the petgraph graph
//!   sorted by (kind, name), edges sorted by (from, to), so node indices, outputs and the
//!   topological order do not depend on the order of files or declarations.
//! - **One edge per pair of nodes.** A metric that measures, filters on and buckets by columns
//!   of one source has one edge from the source's current table, labelled by the first reason
//!   in the order properties are read (measure, where, time, by, top, buckets, per); its span
//!   is the first such reference. Column-level lineage is another view (`tally lineage`).
//! - **Every source has staging, current and archive tables** (`stg_<source>`,
//!   `cur_<source>`, `arc_<source>`, the names code generation uses). Metrics, dimensions and
//!   drills read the current table.
//! - **The calendar is a node only when declared or used**, so a project without time axes does
//!   not show the implicit calendar.
//! - **The order covers every node, cycles too.** Kahn's algorithm runs over the strongly
//!   connected components: a cycle (already reported) is one unit, whose members come out
//!   together in (kind, name) order once everything they depend on outside it is out; what
//!   depends on them comes after. Ties are broken by (kind rank, name).
//!
//! Building is linear in the size of the model apart from the sorting that makes the output
//! canonical (O((V + E) log(V + E))).

mod render;
#[cfg(test)]
mod tests;

use crate::diagnostic::{codes, Diagnostic};
use crate::semantic::{Axis, ColumnRef, Model, Scope};
use crate::span::Span;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, EdgeIndex, EdgeReference, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::fmt;

/// What a node stands for. The order of the variants is the rank used to break ties in
/// [`Graph::topological_order`], and every edge except `derived from` goes from a lower rank
/// to a higher one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    RetentionRule,
    /// A source system's landed files.
    Source,
    /// `stg_<source>`: one load batch, typed, before merging.
    StagingTable,
    /// `cur_<source>`: the current state of the source.
    CurrentTable,
    /// `arc_<source>`: rows deleted upstream or past retention.
    ArchiveTable,
    Dimension,
    Calendar,
    /// A metric; its aggregate table is `agg_<metric>`.
    Metric,
    /// A mart; its table is `mart_<mart>`.
    Mart,
    Report,
    /// A role: the access-policy rows and grants derived from it.
    Role,
}

impl NodeKind {
    pub const ALL: [NodeKind; 11] = [
        NodeKind::RetentionRule,
        NodeKind::Source,
        NodeKind::StagingTable,
        NodeKind::CurrentTable,
        NodeKind::ArchiveTable,
        NodeKind::Dimension,
        NodeKind::Calendar,
        NodeKind::Metric,
        NodeKind::Mart,
        NodeKind::Report,
        NodeKind::Role,
    ];

    /// The word used in ids and in the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::RetentionRule => "retention_rule",
            NodeKind::Source => "source",
            NodeKind::StagingTable => "staging_table",
            NodeKind::CurrentTable => "current_table",
            NodeKind::ArchiveTable => "archive_table",
            NodeKind::Dimension => "dimension",
            NodeKind::Calendar => "calendar",
            NodeKind::Metric => "metric",
            NodeKind::Mart => "mart",
            NodeKind::Report => "report",
            NodeKind::Role => "role",
        }
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The warehouse table names code generation uses for a source's tables.
pub fn staging_table(source: &str) -> String {
    format!("stg_{source}")
}

pub fn current_table(source: &str) -> String {
    format!("cur_{source}")
}

pub fn archive_table(source: &str) -> String {
    format!("arc_{source}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    pub kind: NodeKind,
    /// The declaration's name, or the table's name for the tables of a source.
    pub name: String,
    /// The declaration's name in the DSL (the source's, for its tables); `None` for the
    /// implicit calendar.
    #[serde(skip)]
    pub span: Option<Span>,
}

impl Node {
    /// `kind:name`, unique in a graph: the id in the DOT and JSON outputs.
    pub fn id(&self) -> String {
        format!("{}:{}", self.kind, self.name)
    }
}

/// Why a node depends on another: the label of an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// Source → its staging table.
    Loads,
    /// Staging table → current table.
    MergesInto,
    /// Current table → archive table.
    Archives,
    /// Retention rule → a source that names it.
    Follows,
    /// A current table → the dimension it lists the members of (`from`).
    ListsMembers,
    /// A current table → a metric whose measure reads it.
    Measures,
    /// A current table → a metric whose `where` (or `per ... having`) reads it.
    FiltersOn,
    /// A current table → a metric whose `time` column it holds.
    PlacesInTime,
    /// A dimension, the calendar or a current table → a metric, mart or report cut by it.
    CutsBy,
    /// An axis → a metric that keeps its `top` members.
    RanksBy,
    /// A current table → a metric whose `buckets` read it.
    BucketsBy,
    /// An axis → a metric that counts groups (`per`).
    GroupsBy,
    /// A metric → a derived metric that combines it.
    DerivedFrom,
    /// A metric → a mart or report that shows it.
    Shows,
    /// A current table → a mart whose `drill` shows its rows.
    DrillsInto,
    /// A mart → a report drawn from it.
    Reads,
    /// A mart, metric or report → a role that may read it.
    Grants,
    /// A dimension → a role whose scope is one of its levels.
    ScopesBy,
}

impl EdgeKind {
    pub fn label(self) -> &'static str {
        match self {
            EdgeKind::Loads => "loads",
            EdgeKind::MergesInto => "merges into",
            EdgeKind::Archives => "archives",
            EdgeKind::Follows => "follows",
            EdgeKind::ListsMembers => "lists members",
            EdgeKind::Measures => "measures",
            EdgeKind::FiltersOn => "filters on",
            EdgeKind::PlacesInTime => "places in time",
            EdgeKind::CutsBy => "cuts by",
            EdgeKind::RanksBy => "ranks by",
            EdgeKind::BucketsBy => "buckets by",
            EdgeKind::GroupsBy => "groups by",
            EdgeKind::DerivedFrom => "derived from",
            EdgeKind::Shows => "shows",
            EdgeKind::DrillsInto => "drills into",
            EdgeKind::Reads => "reads",
            EdgeKind::Grants => "grants",
            EdgeKind::ScopesBy => "scopes by",
        }
    }
}

/// An edge from a dependency to its dependent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub kind: EdgeKind,
    /// The reference in the DSL that made the edge, or the dependent's declaration name when
    /// no reference spells it.
    pub span: Span,
}

/// The dependency graph of a project. Build it with [`build`].
#[derive(Debug, Default)]
pub struct Graph {
    graph: DiGraph<Node, Edge>,
    /// (kind, name) → node. Node indices follow this order (nodes are added sorted).
    index: BTreeMap<(NodeKind, String), NodeIndex>,
    order: Vec<NodeIndex>,
}

impl Graph {
    /// Every node, sorted by (kind, name).
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.graph.node_weights()
    }

    /// Every edge as (dependency, dependent, edge), sorted by (dependency, dependent).
    pub fn edges(&self) -> impl Iterator<Item = (&Node, &Node, &Edge)> {
        self.graph
            .edge_references()
            .map(|e| (&self.graph[e.source()], &self.graph[e.target()], e.weight()))
    }

    pub fn node(&self, kind: NodeKind, name: &str) -> Option<&Node> {
        self.index_of(kind, name).map(|i| &self.graph[i])
    }

    /// Every node, each after everything it depends on (except inside a cycle, see the module
    /// docs); ties broken by (kind rank, name).
    pub fn topological_order(&self) -> Vec<&Node> {
        self.order.iter().map(|&i| &self.graph[i]).collect()
    }

    /// What the node depends on, with the edges, sorted by (kind, name). Empty for an unknown
    /// node.
    pub fn dependencies_of(&self, kind: NodeKind, name: &str) -> Vec<(&Node, &Edge)> {
        self.neighbours(kind, name, Direction::Incoming)
    }

    /// What depends on the node, with the edges, sorted by (kind, name). Empty for an unknown
    /// node.
    pub fn dependents_of(&self, kind: NodeKind, name: &str) -> Vec<(&Node, &Edge)> {
        self.neighbours(kind, name, Direction::Outgoing)
    }

    fn index_of(&self, kind: NodeKind, name: &str) -> Option<NodeIndex> {
        // The key owns its name; a lookup by `&str` would need a borrowed key type, and a
        // short allocation per query is cheaper than that machinery.
        self.index.get(&(kind, name.to_string())).copied()
    }

    fn neighbours(&self, kind: NodeKind, name: &str, direction: Direction) -> Vec<(&Node, &Edge)> {
        let Some(node) = self.index_of(kind, name) else { return Vec::new() };
        let mut out: Vec<(NodeIndex, &Edge)> = self
            .graph
            .edges_directed(node, direction)
            .map(|e| {
                let other = if direction == Direction::Incoming { e.source() } else { e.target() };
                (other, e.weight())
            })
            .collect();
        out.sort_by_key(|&(other, _)| other);
        out.into_iter().map(|(other, edge)| (&self.graph[other], edge)).collect()
    }
}

/// Builds the dependency graph of a model and reports its cycles (`T0401`) and derived metrics
/// nested past the limits (`T0402`). Works on a model with errors too: what did not resolve is
/// not in the model, so it is not in the graph.
pub fn build(model: &Model) -> (Graph, Vec<Diagnostic>) {
    let mut builder = Builder::default();
    builder.collect(model);
    let (graph, mut diagnostics) = builder.finish();
    let components = Components::new(&graph.graph);
    diagnostics.extend(report_cycles(&graph.graph, &components));
    let order = topological_order(&graph.graph, &components);
    diagnostics.extend(report_derived_limits(&graph.graph, &components, &order));
    (Graph { order, ..graph }, diagnostics)
}

// ---------------------------------------------------------------- building

type Key = (NodeKind, String);

/// An edge waiting for its nodes to get their final indices.
#[derive(Debug)]
struct Pending {
    from: Key,
    to: Key,
    edge: Edge,
}

/// Collects nodes and edges in model order, then adds them to the graph in a canonical order.
#[derive(Debug, Default)]
struct Builder {
    nodes: BTreeMap<Key, Option<Span>>,
    edges: Vec<Pending>,
}

impl Builder {
    fn node(&mut self, kind: NodeKind, name: &str, span: Option<Span>) {
        self.nodes.entry((kind, name.to_string())).or_insert(span);
    }

    fn edge(&mut self, from: Key, to: &Key, kind: EdgeKind, span: Span) {
        self.edges.push(Pending { from, to: to.clone(), edge: Edge { kind, span } });
    }

    fn collect(&mut self, model: &Model) {
        let calendar = &model.calendar;
        if calendar.span.is_some() {
            self.node(NodeKind::Calendar, &calendar.name, calendar.span);
        }

        for (name, rule) in &model.retention_rules {
            self.node(NodeKind::RetentionRule, name, Some(rule.meta.span));
        }

        for (name, source) in &model.sources {
            let span = source.meta.span;
            let (stg, cur, arc) = (staging_table(name), current_table(name), archive_table(name));
            self.node(NodeKind::Source, name, Some(span));
            self.node(NodeKind::StagingTable, &stg, Some(span));
            self.node(NodeKind::CurrentTable, &cur, Some(span));
            self.node(NodeKind::ArchiveTable, &arc, Some(span));
            let source_key = (NodeKind::Source, name.clone());
            let stg = (NodeKind::StagingTable, stg);
            let cur = (NodeKind::CurrentTable, cur);
            let arc = (NodeKind::ArchiveTable, arc);
            self.edge(source_key.clone(), &stg, EdgeKind::Loads, span);
            self.edge(stg, &cur, EdgeKind::MergesInto, span);
            self.edge(cur, &arc, EdgeKind::Archives, span);
            // The model keeps no span for `retention <rule>`; the source's name stands in.
            if let Some(rule) = &source.retention.rule {
                self.edge(
                    (NodeKind::RetentionRule, rule.clone()),
                    &source_key,
                    EdgeKind::Follows,
                    span,
                );
            }
        }

        for (name, dimension) in &model.dimensions {
            let span = dimension.meta.span;
            self.node(NodeKind::Dimension, name, Some(span));
            // Nor for `from <source>`.
            if let Some(from) = &dimension.from {
                let to = (NodeKind::Dimension, name.clone());
                self.edge(current(from), &to, EdgeKind::ListsMembers, span);
            }
        }

        for (name, metric) in &model.metrics {
            self.node(NodeKind::Metric, name, Some(metric.meta.span));
            let to = (NodeKind::Metric, name.clone());
            if let Some(measure) = &metric.measure {
                let filter = measure.filter.as_ref().map(|f| f.span);
                for column in &measure.columns {
                    let in_filter = filter.is_some_and(|f| contains(f, column.span));
                    let kind = if in_filter { EdgeKind::FiltersOn } else { EdgeKind::Measures };
                    self.column_edge(column, &to, kind);
                }
                for used in &measure.metrics {
                    let from = (NodeKind::Metric, used.name.clone());
                    self.edge(from, &to, EdgeKind::DerivedFrom, used.span);
                }
            }
            if let Some(time) = &metric.time {
                self.column_edge(time, &to, EdgeKind::PlacesInTime);
            }
            for axis in &metric.by {
                self.axis_edge(model, axis, &to, EdgeKind::CutsBy);
            }
            if let Some(top) = &metric.top {
                self.axis_edge(model, &top.by, &to, EdgeKind::RanksBy);
            }
            if let Some(buckets) = &metric.buckets {
                for column in &buckets.columns {
                    self.column_edge(column, &to, EdgeKind::BucketsBy);
                }
            }
            if let Some(per) = &metric.per {
                for axis in &per.keys {
                    self.axis_edge(model, axis, &to, EdgeKind::GroupsBy);
                }
                for column in &per.columns {
                    self.column_edge(column, &to, EdgeKind::FiltersOn);
                }
            }
            // A metric that names no column (`measure count(*)`) still reads its source; the
            // metric's name stands in for the reference. Last, so a real reference wins.
            if let Some(source) = &metric.source {
                self.edge(current(source), &to, EdgeKind::Measures, metric.meta.span);
            }
        }

        for (name, mart) in &model.marts {
            self.node(NodeKind::Mart, name, Some(mart.meta.span));
            let to = (NodeKind::Mart, name.clone());
            for metric in &mart.metrics {
                let from = (NodeKind::Metric, metric.name.clone());
                self.edge(from, &to, EdgeKind::Shows, metric.span);
            }
            for axis in &mart.dimensions {
                self.axis_edge(model, axis, &to, EdgeKind::CutsBy);
            }
            if let Some(drill) = &mart.drill {
                self.edge(current(&drill.source), &to, EdgeKind::DrillsInto, drill.span);
            }
        }

        for (name, report) in &model.reports {
            self.node(NodeKind::Report, name, Some(report.meta.span));
            let to = (NodeKind::Report, name.clone());
            if let Some(mart) = &report.mart {
                self.edge((NodeKind::Mart, mart.name.clone()), &to, EdgeKind::Reads, mart.span);
            }
            for metric in &report.metrics {
                let from = (NodeKind::Metric, metric.name.clone());
                self.edge(from, &to, EdgeKind::Shows, metric.span);
            }
            for axis in &report.by {
                self.axis_edge(model, axis, &to, EdgeKind::CutsBy);
            }
        }

        for (name, role) in &model.roles {
            self.node(NodeKind::Role, name, Some(role.meta.span));
            let to = (NodeKind::Role, name.clone());
            let granted = [
                (NodeKind::Mart, &role.marts),
                (NodeKind::Metric, &role.metrics),
                (NodeKind::Report, &role.reports),
            ];
            for (kind, names) in granted {
                for granted in names {
                    self.edge((kind, granted.name.clone()), &to, EdgeKind::Grants, granted.span);
                }
            }
            if let Some(Scope::Bound { dimension, span, .. }) = &role.scope {
                let from = (NodeKind::Dimension, dimension.clone());
                self.edge(from, &to, EdgeKind::ScopesBy, *span);
            }
        }
    }

    fn column_edge(&mut self, column: &ColumnRef, to: &Key, kind: EdgeKind) {
        self.edge(current(&column.source), to, kind, column.span);
    }

    fn axis_edge(&mut self, model: &Model, axis: &Axis, to: &Key, kind: EdgeKind) {
        let (from, span) = match axis {
            Axis::Dimension { dimension, span } | Axis::Level { dimension, span, .. } => {
                ((NodeKind::Dimension, dimension.clone()), *span)
            }
            Axis::Time { span, .. } => {
                let calendar = &model.calendar;
                self.node(NodeKind::Calendar, &calendar.name, calendar.span);
                ((NodeKind::Calendar, calendar.name.clone()), *span)
            }
            Axis::Column { source, span, .. } => (current(source), *span),
        };
        self.edge(from, to, kind, span);
    }

    /// Adds the nodes sorted by key and the edges sorted by (from, to), one per pair: the
    /// first collected wins, and edges are collected in the order properties are read.
    fn finish(self) -> (Graph, Vec<Diagnostic>) {
        let mut graph = Graph::default();
        for (key, span) in self.nodes {
            let node = Node { kind: key.0, name: key.1.clone(), span };
            let index = graph.graph.add_node(node);
            graph.index.insert(key, index);
        }
        let mut diagnostics = Vec::new();
        let mut edges: Vec<(NodeIndex, NodeIndex, Edge)> = Vec::with_capacity(self.edges.len());
        for Pending { from, to, edge } in self.edges {
            match (graph.index.get(&from), graph.index.get(&to)) {
                (Some(&from), Some(&to)) => edges.push((from, to, edge)),
                // The model promises that every reference resolves, so this is a bug.
                _ => diagnostics.push(
                    Diagnostic::internal(
                        format!("the dependency graph has no node for `{}` or `{}`", from.1, to.1),
                        edge.span,
                    )
                    .label("this reference points at nothing"),
                ),
            }
        }
        // Stable: among edges between the same two nodes, the first collected stays first.
        edges.sort_by_key(|&(from, to, _)| (from, to));
        edges.dedup_by_key(|&mut (from, to, _)| (from, to));
        for (from, to, edge) in edges {
            graph.graph.add_edge(from, to, edge);
        }
        (graph, diagnostics)
    }
}

fn current(source: &str) -> Key {
    (NodeKind::CurrentTable, current_table(source))
}

fn contains(outer: Span, inner: Span) -> bool {
    outer.file == inner.file && outer.start <= inner.start && inner.end <= outer.end
}

// ---------------------------------------------------------------- derived metrics

/// Levels of derived metrics one may be built on (`metric b = a * 2` is one level above `a`).
///
/// Code generation computes a derived metric's inputs inline, as subqueries of its statement
/// (see `codegen::metrics_sql`), so each level nests the SQL a few subqueries deeper.
pub const MAX_DERIVED_DEPTH: usize = 16;

/// Metrics read from sources that one derived metric's statement may compute, counting a
/// metric once per way it is reached: `metric c = a + b` with `a` and `b` both derived from
/// `x` and `y` computes four. Without a limit, a few lines of metrics that each combine two of
/// the level below would make a statement twice as large per level.
pub const MAX_INLINED: u64 = 256;

/// T0402 for each derived metric that crosses a limit while the metrics it reads do not:
/// the one to change, reported once however many build on it. Metrics on a cycle (already
/// reported) are left alone.
fn report_derived_limits(
    graph: &DiGraph<Node, Edge>,
    components: &Components,
    order: &[NodeIndex],
) -> Vec<Diagnostic> {
    // Per node: how many levels of derived metrics it is built on, how many metrics read
    // from sources its statement computes, and whether a limit is crossed at or below it.
    let mut depth = vec![0usize; graph.node_count()];
    let mut inlined = vec![1u64; graph.node_count()];
    let mut crossed = vec![false; graph.node_count()];
    let mut diagnostics = Vec::new();
    for &node in order {
        if graph[node].kind != NodeKind::Metric {
            continue;
        }
        let mut inputs: Vec<EdgeReference<'_, Edge>> = graph
            .edges_directed(node, Direction::Incoming)
            .filter(|e| e.weight().kind == EdgeKind::DerivedFrom)
            .filter(|e| !components.same(e.source(), node))
            .collect();
        if inputs.is_empty() {
            continue;
        }
        inputs.sort_by_key(|e| e.source());
        let i = node.index();
        depth[i] = 1 + inputs.iter().map(|e| depth[e.source().index()]).max().unwrap_or(0);
        inlined[i] = inputs.iter().fold(0u64, |n, e| n.saturating_add(inlined[e.source().index()]));
        if inputs.iter().any(|e| crossed[e.source().index()]) {
            crossed[i] = true;
            continue;
        }
        let Some(span) = graph[node].span else { continue };
        let name = &graph[node].name;
        let deepest = inputs.iter().max_by_key(|e| depth[e.source().index()]);
        if depth[i] > MAX_DERIVED_DEPTH {
            crossed[i] = true;
            let mut d = Diagnostic::error(
                codes::DERIVED_TOO_DEEP,
                format!("Metric `{name}` is derived through more than {MAX_DERIVED_DEPTH} levels of metrics"),
                span,
            )
            .label(format!("{} levels", depth[i]));
            if let Some(e) = deepest {
                let input = &graph[e.source()].name;
                d = d.secondary(
                    e.weight().span,
                    format!("`{input}` is {} levels deep", depth[e.source().index()]),
                );
            }
            diagnostics.push(d.help(
                "derive it from metrics nearer to the sources: a derived metric computes every \
                 metric below it in its own statement",
            ));
        } else if inlined[i] > MAX_INLINED {
            crossed[i] = true;
            let mut d = Diagnostic::error(
                codes::DERIVED_TOO_DEEP,
                format!(
                    "Metric `{name}` computes {} metrics from sources, more than {MAX_INLINED}",
                    inlined[i]
                ),
                span,
            )
            .label("derived from metrics that share what they read");
            for e in &inputs {
                let input = &graph[e.source()].name;
                let count = inlined[e.source().index()];
                d = d.secondary(e.weight().span, format!("`{input}` computes {count}"));
            }
            diagnostics.push(d.help(
                "combine the metrics read from sources directly: a derived metric computes each \
                 metric below it once for every way it reaches it",
            ));
        }
    }
    diagnostics
}

// ---------------------------------------------------------------- cycles

/// The strongly connected components: which one each node is in.
#[derive(Debug)]
struct Components {
    of: Vec<usize>,
    list: Vec<Vec<NodeIndex>>,
}

impl Components {
    fn new(graph: &DiGraph<Node, Edge>) -> Self {
        let mut list = tarjan_scc(graph);
        // tarjan_scc never returns an empty component; sorted members make the first one a
        // component's key.
        list.iter_mut().for_each(|c| c.sort_unstable());
        let mut of = vec![0; graph.node_count()];
        for (i, component) in list.iter().enumerate() {
            for node in component {
                of[node.index()] = i;
            }
        }
        Components { of, list }
    }

    fn same(&self, a: NodeIndex, b: NodeIndex) -> bool {
        self.of[a.index()] == self.of[b.index()]
    }
}

/// One diagnostic per component that holds a cycle (two nodes or more, or one that uses
/// itself), in the order of the first node of each.
fn report_cycles(graph: &DiGraph<Node, Edge>, components: &Components) -> Vec<Diagnostic> {
    let mut knots: Vec<Vec<NodeIndex>> = components
        .list
        .iter()
        .filter(|c| c.len() > 1 || graph.contains_edge(c[0], c[0]))
        .cloned()
        .collect();
    knots.sort_unstable();
    knots.iter().map(|knot| cycle_diagnostic(graph, components, knot)).collect()
}

/// `knot` is sorted and non-empty.
fn cycle_diagnostic(
    graph: &DiGraph<Node, Edge>,
    components: &Components,
    knot: &[NodeIndex],
) -> Diagnostic {
    let name = |i: NodeIndex| graph[i].name.as_str();
    // What each member uses inside the knot, smallest name first, so the cycle found is the
    // same whatever the order edges were added in.
    let uses = |user: NodeIndex| -> Vec<(NodeIndex, EdgeIndex)> {
        let mut used: Vec<(NodeIndex, EdgeIndex)> = graph
            .edges_directed(user, Direction::Incoming)
            .filter(|e| components.same(e.source(), user))
            .map(|e| (e.source(), e.id()))
            .collect();
        used.sort_unstable();
        used
    };

    let cycle = shortest_cycle(knot[0], &uses);
    let on_cycle: BTreeSet<EdgeIndex> = cycle.iter().map(|&(_, edge)| edge).collect();
    let spelled: Vec<String> = cycle
        .iter()
        .map(|&(user, _)| format!("`{}`", name(user)))
        .chain(std::iter::once(format!("`{}`", name(knot[0]))))
        .collect();
    let label = |edge: EdgeIndex| -> (Span, String) {
        let (used, user) = graph.edge_endpoints(edge).unwrap_or((knot[0], knot[0]));
        let text = if used == user {
            format!("`{}` uses itself here", name(user))
        } else {
            format!("`{}` uses `{}` here", name(user), name(used))
        };
        (graph[edge].span, text)
    };

    // Metrics are the only nodes a cycle can go through (see the module docs), and a knot
    // always holds a cycle; anything else is a bug in how the graph was built.
    let first = cycle.first().map(|&(_, edge)| edge);
    let (Some(first), true) = (first, knot.iter().all(|&i| graph[i].kind == NodeKind::Metric))
    else {
        let members: Vec<String> = knot.iter().map(|&i| graph[i].id()).collect();
        let span = graph[knot[0]].span.unwrap_or_default();
        return Diagnostic::internal(
            format!("the dependency graph has a cycle: {}", members.join(", ")),
            span,
        );
    };

    let (span, text) = label(first);
    let mut diagnostic = Diagnostic::error(
        codes::METRIC_CYCLE,
        format!("Derived metrics form a cycle: {}", spelled.join(" → ")),
        span,
    )
    .label(text)
    .help(
        "a metric cannot be computed from itself, directly or through other metrics: compute \
         one of these metrics from its source's columns, or drop one of the references",
    );
    for &(_, edge) in &cycle[1..] {
        let (span, text) = label(edge);
        diagnostic = diagnostic.secondary(span, text);
    }
    // The rest of the knot: every edge between its members is on some cycle, so each is
    // shown, or fixing the cycle spelled above would only reveal the next one.
    let mut others: Vec<EdgeIndex> = knot
        .iter()
        .flat_map(|&user| uses(user).into_iter().map(|(_, edge)| edge))
        .filter(|edge| !on_cycle.contains(edge))
        .collect();
    others.sort_by_key(|&edge| graph[edge].span);
    if !others.is_empty() {
        let names: Vec<String> = knot.iter().map(|&i| format!("`{}`", name(i))).collect();
        diagnostic = diagnostic.note(format!(
            "{} all depend on each other; every reference between them is labelled",
            join_names(&names)
        ));
        for edge in others {
            let (span, text) = label(edge);
            diagnostic = diagnostic.secondary(span, text);
        }
    }
    diagnostic
}

/// The shortest cycle through `start`, following `uses` (breadth first, smallest name
/// first): the users along it, each with the edge to the next one (the last edge goes back to
/// `start`). `start` is in a knot, so a cycle exists; the fallback is never taken.
fn shortest_cycle(
    start: NodeIndex,
    uses: &dyn Fn(NodeIndex) -> Vec<(NodeIndex, EdgeIndex)>,
) -> Vec<(NodeIndex, EdgeIndex)> {
    // parent[n] = (the node that uses n, that edge)
    let mut parent: BTreeMap<NodeIndex, (NodeIndex, EdgeIndex)> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(user) = queue.pop_front() {
        for (used, edge) in uses(user) {
            if used == start {
                let mut path = vec![(user, edge)];
                let mut at = user;
                while at != start {
                    let Some(&(prev, prev_edge)) = parent.get(&at) else { break };
                    path.push((prev, prev_edge));
                    at = prev;
                }
                path.reverse();
                return path;
            }
            if let std::collections::btree_map::Entry::Vacant(slot) = parent.entry(used) {
                slot.insert((user, edge));
                queue.push_back(used);
            }
        }
    }
    Vec::new()
}

/// `a`, `a and b`, `a, b and c`.
fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

// ---------------------------------------------------------------- order

/// Kahn's algorithm over the components (a cycle, already reported, is one unit: its members
/// have no order among themselves), taking the ready component whose first node has the
/// smallest index, that is the smallest (kind, name), first; a component's members come out
/// together in (kind, name) order.
fn topological_order(graph: &DiGraph<Node, Edge>, components: &Components) -> Vec<NodeIndex> {
    let crossing = |e: &EdgeReference<'_, Edge>| !components.same(e.source(), e.target());
    let mut waiting: Vec<usize> = vec![0; components.list.len()];
    for e in graph.edge_references().filter(crossing) {
        waiting[components.of[e.target().index()]] += 1;
    }
    // Members are sorted, so a component is keyed by its first; the key is unique.
    let mut ready: BinaryHeap<Reverse<(NodeIndex, usize)>> = (0..components.list.len())
        .filter(|&c| waiting[c] == 0)
        .map(|c| Reverse((components.list[c][0], c)))
        .collect();
    let mut order = Vec::with_capacity(graph.node_count());
    while let Some(Reverse((_, component))) = ready.pop() {
        for &node in &components.list[component] {
            order.push(node);
            for e in graph.edges_directed(node, Direction::Outgoing).filter(crossing) {
                let target = components.of[e.target().index()];
                waiting[target] -= 1;
                if waiting[target] == 0 {
                    ready.push(Reverse((components.list[target][0], target)));
                }
            }
        }
    }
    order
}
