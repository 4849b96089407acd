//! The graph as text for `tally graph`: DOT (Graphviz), Mermaid and JSON.
//!
//! Each is a pure function of the graph, so the same project gives the same bytes: nodes in
//! (kind, name) order, edges in (dependency, dependent) order, no spans (they hold byte
//! offsets, which would change the output when a comment is edited), and a final line break.

use super::{Graph, Node, NodeKind};
use serde::Serialize;
use std::fmt::Write as _;

impl Graph {
    /// A Graphviz `digraph`, laid out left to right, one shape per kind of node.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph tally {\n  rankdir=LR;\n");
        for node in self.nodes() {
            writeln!(
                out,
                "  {} [label={}, shape={}];",
                dot_string(&node.id()),
                dot_string(&node.name),
                dot_shape(node.kind)
            )
            .ok();
        }
        for (from, to, edge) in self.edges() {
            writeln!(
                out,
                "  {} -> {} [label={}];",
                dot_string(&from.id()),
                dot_string(&to.id()),
                dot_string(edge.kind.label())
            )
            .ok();
        }
        out.push_str("}\n");
        out
    }

    /// A Mermaid `flowchart LR`, one shape per kind of node.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for node in self.nodes() {
            let (open, close) = mermaid_shape(node.kind);
            let label = mermaid_string(&node.name);
            writeln!(out, "  {}{open}{label}{close}", mermaid_id(node)).ok();
        }
        for (from, to, edge) in self.edges() {
            let label = mermaid_string(edge.kind.label());
            writeln!(out, "  {} -->|{label}| {}", mermaid_id(from), mermaid_id(to)).ok();
        }
        out
    }

    /// `{"nodes": [{"id", "kind", "name"}], "edges": [{"from", "to", "label"}], "order": [id]}`,
    /// pretty-printed; ids are `kind:name`.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct JsonNode<'a> {
            id: String,
            kind: NodeKind,
            name: &'a str,
        }
        #[derive(Serialize)]
        struct JsonEdge {
            from: String,
            to: String,
            label: &'static str,
        }
        #[derive(Serialize)]
        struct JsonGraph<'a> {
            nodes: Vec<JsonNode<'a>>,
            edges: Vec<JsonEdge>,
            order: Vec<String>,
        }
        let graph = JsonGraph {
            nodes: self
                .nodes()
                .map(|n| JsonNode { id: n.id(), kind: n.kind, name: &n.name })
                .collect(),
            edges: self
                .edges()
                .map(|(from, to, edge)| JsonEdge {
                    from: from.id(),
                    to: to.id(),
                    label: edge.kind.label(),
                })
                .collect(),
            order: self.topological_order().iter().map(|n| n.id()).collect(),
        };
        // Serializing plain structs of strings cannot fail; an empty object keeps the output
        // valid JSON should it ever do so.
        let mut out = serde_json::to_string_pretty(&graph).unwrap_or_else(|_| "{}".to_string());
        out.push('\n');
        out
    }
}

fn dot_shape(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::RetentionRule => "octagon",
        NodeKind::Source => "folder",
        NodeKind::StagingTable | NodeKind::CurrentTable | NodeKind::ArchiveTable => "cylinder",
        NodeKind::Dimension | NodeKind::Calendar => "box3d",
        NodeKind::Metric => "ellipse",
        NodeKind::Mart => "tab",
        NodeKind::Report => "note",
        NodeKind::Role => "house",
    }
}

/// A DOT quoted string: only `"` and `\` need escaping.
fn dot_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn mermaid_shape(kind: NodeKind) -> (&'static str, &'static str) {
    match kind {
        NodeKind::RetentionRule => ("{", "}"),
        NodeKind::Source => ("[/", "/]"),
        NodeKind::StagingTable | NodeKind::CurrentTable | NodeKind::ArchiveTable => ("[(", ")]"),
        NodeKind::Dimension | NodeKind::Calendar => ("{{", "}}"),
        NodeKind::Metric => ("([", "])"),
        NodeKind::Mart => ("[[", "]]"),
        NodeKind::Report => (">", "]"),
        NodeKind::Role => ("((", "))"),
    }
}

/// `kind_name` with anything but ASCII letters, digits and `_` replaced by `_`. DSL names are
/// already made of those, and no kind's word is another's followed by `_`, so ids are unique;
/// the kind prefix also keeps them clear of Mermaid's keywords (`end`) and of its `o`/`x` edge
/// endings.
fn mermaid_id(node: &Node) -> String {
    format!("{}_{}", node.kind, node.name)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect()
}

/// A quoted Mermaid label; a `"` inside is written as its HTML entity, the escape Mermaid
/// understands.
fn mermaid_string(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "#quot;"))
}
