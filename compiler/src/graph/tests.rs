//! Tests of the graph stage on small projects built in memory.

use super::*;
use crate::diagnostic::Severity;
use crate::source::MemoryFs;

/// A small project with one of each kind that matters: a source, a dimension listed by another
/// source, two base metrics, a derived metric, a mart, a report and a role.
const SMALL: &str = r#"
retention standard {
  keep 7 years
  archive 40 years
}

source ports {
  title "Ports of entry"
  refresh daily
  landing "reference/ports.csv" as csv
  load snapshot
  key port_code
  columns {
    port_code         string -> location.port
    field_office_code string not null
  }
}

dimension location {
  from ports
  level national
  level field_office key field_office_code
  level port key port_code
  hierarchy national > field_office > port
}

source seacats {
  title "SEACATS"
  refresh every 15 minutes
  landing "seacats/*.csv" as csv
  load append
  key seizure_id
  retention standard
  columns {
    seizure_id     string
    seizure_date   date not null
    seizure_type   enum(drug, currency)
    drug_weight_kg decimal(12, 3)
    currency_usd   decimal(14, 2)
    port_code      string not null -> location.port
  }
}

metric drug_weight {
  measure sum(seacats.drug_weight_kg) where seacats.seizure_type = 'drug'
  time seacats.seizure_date
  by location.port, time.month
}

metric seizures {
  measure count(*)
  time seacats.seizure_date
}

metric weight_per_seizure = drug_weight / seizures

mart borderstat {
  kind dashboard
  metrics drug_weight, seizures, weight_per_seizure
  dimensions location.port, time
  grain day
  drill seacats (seizure_id, seizure_date)
}

report weekly {
  mart borderstat
  metrics drug_weight
  by location.field_office, time.week
}

users {
  attributes {
    field_office string -> location.field_office
  }
}

role director {
  marts borderstat
  reports weekly
  scope location.field_office = user.field_office
}
"#;

fn check(text: &str) -> crate::Checked {
    crate::check(&MemoryFs::new().with("tally.yaml", "name: t\n").with("main.tally", text), "")
}

/// Builds the graph of a project that must be free of diagnostics before the graph stage.
fn graph_of(text: &str) -> (Graph, Vec<Diagnostic>) {
    let checked = check(text);
    let (graph, diagnostics) = build(&checked.model);
    let earlier: Vec<_> =
        checked.diagnostics().iter().filter(|d| !diagnostics.contains(d)).collect();
    assert!(earlier.is_empty(), "{earlier:#?}");
    (graph, diagnostics)
}

fn ids(nodes: &[&Node]) -> Vec<String> {
    nodes.iter().map(|n| n.id()).collect()
}

/// The declarations of a file (top-level blocks separated by blank lines), so tests can
/// reorder them.
fn declarations(text: &str) -> Vec<&str> {
    text.split("\n\n").map(str::trim).filter(|d| !d.is_empty()).collect()
}

#[test]
fn small_project_renders_as_dot() {
    let (graph, diagnostics) = graph_of(SMALL);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    insta::assert_snapshot!(graph.to_dot());
}

#[test]
fn small_project_renders_as_mermaid() {
    let (graph, _) = graph_of(SMALL);
    insta::assert_snapshot!(graph.to_mermaid());
}

#[test]
fn small_project_renders_as_json() {
    let (graph, _) = graph_of(SMALL);
    let json = graph.to_json();
    let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(value["nodes"].as_array().map(Vec::len), Some(graph.nodes().count()));
    insta::assert_snapshot!(json);
}

#[test]
fn output_is_the_same_bytes_every_time_and_in_any_declaration_order() {
    let (first, _) = graph_of(SMALL);
    let (second, _) = graph_of(SMALL);
    let mut reversed = declarations(SMALL);
    reversed.reverse();
    let (third, _) = graph_of(&reversed.join("\n\n"));
    // A different, fixed shuffle: every third declaration first.
    let all = declarations(SMALL);
    let shuffled: Vec<&str> = (0..3).flat_map(|k| all.iter().skip(k).step_by(3).copied()).collect();
    let (fourth, _) = graph_of(&shuffled.join("\n\n"));
    for other in [&second, &third, &fourth] {
        assert_eq!(first.to_dot(), other.to_dot());
        assert_eq!(first.to_mermaid(), other.to_mermaid());
        assert_eq!(first.to_json(), other.to_json());
        assert_eq!(ids(&first.topological_order()), ids(&other.topological_order()));
    }
}

#[test]
fn topological_order_puts_every_node_after_its_dependencies_ties_by_kind_and_name() {
    let (graph, _) = graph_of(SMALL);
    let order = graph.topological_order();
    assert_eq!(order.len(), graph.nodes().count());
    let position = |n: &Node| order.iter().position(|o| *o == n);
    for (from, to, _) in graph.edges() {
        assert!(position(from) < position(to), "{} before {}", from.id(), to.id());
    }
    assert_eq!(
        ids(&order),
        [
            "retention_rule:standard",
            "source:ports",
            "source:seacats",
            "staging_table:stg_ports",
            "staging_table:stg_seacats",
            "current_table:cur_ports",
            "current_table:cur_seacats",
            "archive_table:arc_ports",
            "archive_table:arc_seacats",
            "dimension:location",
            "calendar:time",
            "metric:drug_weight",
            "metric:seizures",
            "metric:weight_per_seizure",
            "mart:borderstat",
            "report:weekly",
            "role:director",
        ]
    );
}

#[test]
fn edges_point_from_dependency_to_dependent_with_the_reference_span() {
    let checked = check(SMALL);
    let (graph, _) = build(&checked.model);
    let text = |span: Span| checked.project.sources.snippet(span).to_string();

    let used_by_ratio = graph.dependencies_of(NodeKind::Metric, "weight_per_seizure");
    let used: Vec<(&str, &str, String)> = used_by_ratio
        .iter()
        .map(|(n, e)| (n.name.as_str(), e.kind.label(), text(e.span)))
        .collect();
    assert_eq!(
        used,
        [
            ("drug_weight", "derived from", "drug_weight".to_string()),
            ("seizures", "derived from", "seizures".to_string()),
        ]
    );

    // The first reason wins: the measure's column, not the filter's nor the time column.
    let reads = graph.dependencies_of(NodeKind::Metric, "drug_weight");
    let reads: Vec<(String, &str, String)> =
        reads.iter().map(|(n, e)| (n.id(), e.kind.label(), text(e.span))).collect();
    assert_eq!(
        reads,
        [
            (
                "current_table:cur_seacats".to_string(),
                "measures",
                "seacats.drug_weight_kg".to_string()
            ),
            ("dimension:location".to_string(), "cuts by", "location.port".to_string()),
            ("calendar:time".to_string(), "cuts by", "time.month".to_string()),
        ]
    );

    let dependents: Vec<String> =
        graph.dependents_of(NodeKind::Mart, "borderstat").iter().map(|(n, _)| n.id()).collect();
    assert_eq!(dependents, ["report:weekly", "role:director"]);
    assert!(graph.dependents_of(NodeKind::Mart, "nothing").is_empty());
    assert_eq!(
        graph.node(NodeKind::StagingTable, "stg_seacats").map(|n| n.kind),
        Some(NodeKind::StagingTable)
    );
    assert!(graph.node(NodeKind::Metric, "ports").is_none());
}

#[test]
fn a_filter_alone_labels_its_edge_filters_on() {
    let text = SMALL.replace(
        "metric seizures {\n  measure count(*)\n  time seacats.seizure_date\n}",
        "metric seizures {\n  measure count(*) where seacats.seizure_type = 'drug'\n}",
    );
    let (graph, _) = graph_of(&text);
    let reads = graph.dependencies_of(NodeKind::Metric, "seizures");
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].1.kind, EdgeKind::FiltersOn);
}

#[test]
fn every_edge_but_derived_from_goes_up_in_rank_so_only_metrics_can_form_a_cycle() {
    let (graph, _) = graph_of(SMALL);
    for (from, to, edge) in graph.edges() {
        if edge.kind == EdgeKind::DerivedFrom {
            assert_eq!((from.kind, to.kind), (NodeKind::Metric, NodeKind::Metric));
        } else {
            assert!(from.kind < to.kind, "{} -> {}", from.id(), to.id());
        }
    }
}

#[test]
fn a_source_referencing_the_dimension_it_lists_is_not_a_cycle() {
    // `ports.port_code -> location.port` and `location { from ports }`.
    let (graph, diagnostics) = graph_of(SMALL);
    assert!(diagnostics.is_empty());
    assert!(graph.dependencies_of(NodeKind::Source, "ports").is_empty());
}

#[test]
fn the_calendar_is_a_node_only_when_used_or_declared() {
    let unused = r#"
source s {
  title "S"
  refresh daily
  landing "s/*.csv" as csv
  load append
  key id
  columns {
    id string
  }
}

metric n {
  measure count(s.id)
}
"#;
    let (graph, _) = graph_of(unused);
    assert!(graph.node(NodeKind::Calendar, "time").is_none());
    let declared = format!("{unused}\ncalendar time {{\n  week_start sunday\n}}\n");
    let (graph, _) = graph_of(&declared);
    assert!(graph.node(NodeKind::Calendar, "time").is_some());
}

const BASE: &str = r#"
source s {
  title "S"
  refresh daily
  landing "s/*.csv" as csv
  load append
  key id
  columns {
    id string
  }
}

metric base {
  measure count(s.id)
}
"#;

fn cycle_diagnostics(metrics: &str) -> (crate::Checked, Vec<Diagnostic>) {
    let checked = check(&format!("{BASE}\n{metrics}"));
    let cycles: Vec<Diagnostic> =
        checked.diagnostics().iter().filter(|d| d.code == codes::METRIC_CYCLE).cloned().collect();
    (checked, cycles)
}

/// (the text under the label, the label) for the primary and every secondary label.
fn labels(checked: &crate::Checked, diagnostic: &Diagnostic) -> Vec<(String, String)> {
    std::iter::once(&diagnostic.primary)
        .chain(&diagnostic.secondary)
        .map(|l| (checked.project.sources.snippet(l.span).to_string(), l.message.clone()))
        .collect()
}

#[test]
fn a_two_cycle_is_reported_once_with_both_edges_labelled() {
    let (checked, cycles) = cycle_diagnostics("metric b = a + 1\n\nmetric a = b * 2 + base\n");
    assert_eq!(cycles.len(), 1, "{cycles:#?}");
    let cycle = &cycles[0];
    assert_eq!(cycle.severity, Severity::Error);
    assert_eq!(cycle.message, "Derived metrics form a cycle: `a` → `b` → `a`");
    assert_eq!(
        labels(&checked, cycle),
        [
            ("b".to_string(), "`a` uses `b` here".to_string()),
            ("a".to_string(), "`b` uses `a` here".to_string()),
        ]
    );
    assert!(cycle.notes.is_empty());
    // Only the cycle: the reference to `base` is fine.
    assert_eq!(checked.diagnostics().len(), 1);
}

#[test]
fn a_three_cycle_labels_every_edge_and_starts_at_the_first_name() {
    let (checked, cycles) =
        cycle_diagnostics("metric y = z / 2\n\nmetric z = x - base\n\nmetric x = y * 3\n");
    assert_eq!(cycles.len(), 1, "{cycles:#?}");
    let cycle = &cycles[0];
    assert_eq!(cycle.message, "Derived metrics form a cycle: `x` → `y` → `z` → `x`");
    assert_eq!(
        labels(&checked, cycle),
        [
            ("y".to_string(), "`x` uses `y` here".to_string()),
            ("z".to_string(), "`y` uses `z` here".to_string()),
            ("x".to_string(), "`z` uses `x` here".to_string()),
        ]
    );
}

#[test]
fn a_metric_using_itself_is_a_cycle() {
    let (checked, cycles) = cycle_diagnostics("metric a = a + base\n");
    assert_eq!(cycles.len(), 1);
    assert_eq!(cycles[0].message, "Derived metrics form a cycle: `a` → `a`");
    assert_eq!(
        labels(&checked, &cycles[0]),
        [("a".to_string(), "`a` uses itself here".to_string())]
    );
}

#[test]
fn two_separate_cycles_are_two_diagnostics() {
    let (_, cycles) = cycle_diagnostics(
        "metric a = b\n\nmetric b = a\n\nmetric c = d\n\nmetric d = c\n\nmetric e = a + c\n",
    );
    let messages: Vec<&str> = cycles.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "Derived metrics form a cycle: `a` → `b` → `a`",
            "Derived metrics form a cycle: `c` → `d` → `c`",
        ]
    );
}

#[test]
fn cycles_sharing_metrics_are_one_diagnostic_with_every_edge_labelled() {
    // a ⇄ b and b ⇄ c: one knot, the shortest cycle through `a` spelled, all four edges shown.
    let (checked, cycles) =
        cycle_diagnostics("metric a = b\n\nmetric b = a + c\n\nmetric c = b * 2\n");
    assert_eq!(cycles.len(), 1, "{cycles:#?}");
    let cycle = &cycles[0];
    assert_eq!(cycle.message, "Derived metrics form a cycle: `a` → `b` → `a`");
    let mut shown: Vec<String> = labels(&checked, cycle).into_iter().map(|(_, l)| l).collect();
    shown.sort();
    assert_eq!(
        shown,
        ["`a` uses `b` here", "`b` uses `a` here", "`b` uses `c` here", "`c` uses `b` here"]
    );
    assert_eq!(
        cycle.notes,
        ["`a`, `b` and `c` all depend on each other; every reference between them is labelled"]
    );
}

#[test]
fn nodes_on_a_cycle_are_still_ordered_and_what_depends_on_them_comes_after() {
    let text = format!(
        "{BASE}\nmetric b = a + 1\n\nmetric a = b * 2 + base\n\nmetric after = a / 2\n\nmart m {{\n  kind dashboard\n  metrics after\n}}\n"
    );
    let checked = check(&text);
    let (graph, _) = build(&checked.model);
    let order = ids(&graph.topological_order());
    assert_eq!(
        order,
        [
            "source:s",
            "staging_table:stg_s",
            "current_table:cur_s",
            "archive_table:arc_s",
            "metric:base",
            "metric:a",
            "metric:b",
            "metric:after",
            "mart:m",
        ]
    );
}

#[test]
fn a_cycle_across_files_is_labelled_in_both() {
    let fs = MemoryFs::new()
        .with("tally.yaml", "name: t\n")
        .with("a.tally", "metric a = b + 1\n")
        .with("b.tally", "metric b = a * 2\n");
    let checked = crate::check(&fs, "");
    let codes: Vec<_> = checked.diagnostics().iter().map(|d| d.code).collect();
    assert_eq!(codes, [codes::METRIC_CYCLE]);
    let cycle = &checked.diagnostics()[0];
    assert_ne!(cycle.primary.span.file, cycle.secondary[0].span.file);
}

#[test]
fn an_empty_model_gives_an_empty_graph() {
    let (graph, diagnostics) = build(&Model::default());
    assert!(diagnostics.is_empty());
    assert_eq!(graph.nodes().count(), 0);
    assert_eq!(graph.to_dot(), "digraph tally {\n  rankdir=LR;\n}\n");
    assert_eq!(graph.to_mermaid(), "flowchart LR\n");
}

// ---------------------------------------------------------------- derived metric limits

fn derived_limit_diagnostics(metrics: &str) -> (crate::Checked, Vec<Diagnostic>) {
    let checked = check(&format!("{BASE}\n{metrics}"));
    let found: Vec<Diagnostic> = checked
        .diagnostics()
        .iter()
        .filter(|d| d.code == codes::DERIVED_TOO_DEEP)
        .cloned()
        .collect();
    (checked, found)
}

#[test]
fn a_chain_of_derived_metrics_past_the_limit_is_reported_where_it_crosses() {
    // level_1 reads base; level_n reads level_{n-1}.
    let chain = |levels: usize| -> String {
        (1..=levels)
            .map(|n| {
                let below = if n == 1 { "base".to_string() } else { format!("level_{}", n - 1) };
                format!("metric level_{n} = {below} * 2\n")
            })
            .collect()
    };
    let (_, found) = derived_limit_diagnostics(&chain(MAX_DERIVED_DEPTH));
    assert!(found.is_empty(), "{found:#?}");
    let (checked, found) = derived_limit_diagnostics(&chain(MAX_DERIVED_DEPTH + 20));
    assert_eq!(found.len(), 1, "{found:#?}");
    let d = &found[0];
    assert_eq!(d.message, "Metric `level_17` is derived through more than 16 levels of metrics");
    assert_eq!(
        labels(&checked, d),
        [
            ("level_17".to_string(), "17 levels".to_string()),
            ("level_16".to_string(), "`level_16` is 16 levels deep".to_string()),
        ]
    );
}

#[test]
fn derived_metrics_that_share_their_inputs_are_counted_per_path() {
    // Each level combines the two metrics of the level below: 2^n metrics read from sources.
    let mut metrics = String::from("metric base2 {\n  measure count(s.id)\n}\n");
    let mut below = ("base".to_string(), "base2".to_string());
    for n in 1..=10 {
        metrics.push_str(&format!("metric a{n} = {} + {}\n", below.0, below.1));
        metrics.push_str(&format!("metric b{n} = {} - {}\n", below.0, below.1));
        below = (format!("a{n}"), format!("b{n}"));
    }
    let (checked, found) = derived_limit_diagnostics(&metrics);
    // a8 and b8 compute 2^8 = 256 each; a9 and b9 are the first past the limit.
    let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "Metric `a9` computes 512 metrics from sources, more than 256",
            "Metric `b9` computes 512 metrics from sources, more than 256",
        ]
    );
    assert_eq!(labels(&checked, &found[0])[1], ("a8".to_string(), "`a8` computes 256".to_string()));
}
