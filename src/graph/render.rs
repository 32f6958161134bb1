//! Drawing the step graph: Graphviz dot, Mermaid, JSON. Stale steps are marked.

use serde_json::json;

use super::StepGraph;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

/// `stale[i]` marks node i; `keep[i]` filters nodes (e.g. to one source).
pub fn render(sg: &StepGraph, stale: &[bool], keep: &[bool], format: GraphFormat) -> String {
    let nodes: Vec<_> = sg.g.node_indices().filter(|n| keep[n.index()]).collect();
    let edges: Vec<_> =
        sg.g.edge_indices()
            .filter_map(|e| sg.g.edge_endpoints(e))
            .filter(|(a, b)| keep[a.index()] && keep[b.index()])
            .collect();
    match format {
        GraphFormat::Json => {
            let nodes: Vec<_> = nodes
                .iter()
                .map(|n| {
                    let s = &sg.g[*n];
                    json!({"id": s.id, "kind": s.kind.as_str(), "source": s.source, "stale": stale[n.index()]})
                })
                .collect();
            let edges: Vec<_> = edges.iter().map(|(a, b)| json!({"from": sg.g[*a].id, "to": sg.g[*b].id})).collect();
            serde_json::to_string_pretty(&json!({"nodes": nodes, "edges": edges})).expect("json")
        }
        GraphFormat::Dot => {
            let mut s = String::from("digraph vodbuild {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n");
            for n in &nodes {
                let step = &sg.g[*n];
                let style = if stale[n.index()] { ", color=red, fontcolor=red, penwidth=2" } else { "" };
                s += &format!("  n{} [label=\"{}\"{}];\n", n.index(), escape(&step.id), style);
            }
            for (a, b) in &edges {
                s += &format!("  n{} -> n{};\n", a.index(), b.index());
            }
            s + "}\n"
        }
        GraphFormat::Mermaid => {
            let mut s = String::from("flowchart LR\n  classDef stale stroke:#d00,stroke-width:2px,color:#d00;\n");
            for n in &nodes {
                let step = &sg.g[*n];
                let class = if stale[n.index()] { ":::stale" } else { "" };
                s += &format!("  n{}[\"{}\"]{}\n", n.index(), step.id.replace('"', "'"), class);
            }
            for (a, b) in &edges {
                s += &format!("  n{} --> n{}\n", a.index(), b.index());
            }
            s
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
