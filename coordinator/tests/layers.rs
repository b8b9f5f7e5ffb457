//! The coordinator's layering, checked on its source: no import cycles between its files, and
//! the "must not import" rules of `src/lib.rs`.
//!
//! The compiler allows modules of one crate to import each other in circles; a cycle is how
//! layers dissolve (found before this test: the context, the cluster client and the QUIC
//! endpoint all importing each other). Imports are read from `use crate::...`, `crate::...`
//! paths and `super::...` paths, comments ignored: a doc link is not a dependency.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`edge::session`, `""` for the crate root) to its source file.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path
                .strip_prefix(src)
                .expect("under src")
                .with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
                parts.pop();
            }
            out.insert(parts.join("::"), path);
        }
    }
    out
}

/// The source without comments and without the `#[cfg(test)] mod tests` at the end (tests
/// may reach anywhere).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read");
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Paths a file names: `crate::a::b` and `super::a` (resolved), including those inside
/// `use crate::{a, b::c}` groups.
fn named_paths(module: &str, code: &str) -> Vec<String> {
    // `super` in `a/b.rs` and in `a/b/mod.rs` (module `a::b`) both name `a`.
    let parent: Vec<&str> = if module.is_empty() {
        vec![]
    } else {
        let parts: Vec<&str> = module.split("::").collect();
        parts[..parts.len() - 1].to_vec()
    };
    let mut out = Vec::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect::<String>()
            .trim_end_matches(':')
            .to_owned()
    };
    for (marker, base) in [("crate::", Vec::new()), ("super::", parent)] {
        let mut rest = code;
        while let Some(i) = rest.find(marker) {
            let after = &rest[i + marker.len()..];
            let prefix = base.join("::");
            let join = |p: String| {
                if prefix.is_empty() {
                    p
                } else {
                    format!("{prefix}::{p}")
                }
            };
            if let Some(group) = after.strip_prefix('{') {
                let end = group.find("};").unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let p = ident(item.trim());
                    if !p.is_empty() {
                        out.push(join(p));
                    }
                }
            } else {
                let p = ident(after);
                if !p.is_empty() {
                    out.push(join(p));
                }
            }
            rest = after;
        }
    }
    out
}

/// The longest known module that `path` names.
fn resolve<'a>(mods: &'a BTreeMap<String, PathBuf>, path: &str) -> Option<&'a str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|m| mods.get_key_value(&m).map(|(k, _)| k.as_str()))
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, path) in &mods {
        let edges = g.entry(m.clone()).or_default();
        for p in named_paths(m, &code(path)) {
            if let Some(target) = resolve(&mods, &p) {
                if !target.is_empty() && target != m {
                    edges.insert(target.to_owned());
                }
            }
        }
    }
    g
}

/// Strongly connected components with more than one module.
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Kosaraju: order by finish time, then walk the reversed graph.
    fn visit(
        g: &BTreeMap<String, BTreeSet<String>>,
        v: &str,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<String>,
    ) {
        if !seen.insert(v.to_owned()) {
            return;
        }
        for w in g.get(v).into_iter().flatten() {
            visit(g, w, seen, out);
        }
        out.push(v.to_owned());
    }
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    for v in g.keys() {
        visit(g, v, &mut seen, &mut order);
    }
    let mut rev: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (v, ws) in g {
        for w in ws {
            rev.entry(w.clone()).or_default().insert(v.clone());
        }
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for v in order.iter().rev() {
        let mut comp = Vec::new();
        visit(&rev, v, &mut seen, &mut comp);
        if comp.len() > 1 {
            comp.sort();
            out.push(comp);
        }
    }
    out
}

fn top(m: &str) -> &str {
    m.split("::").next().unwrap_or(m)
}

#[test]
fn no_import_cycles() {
    let g = graph();
    assert!(
        g.contains_key("store") && g.contains_key("edge::session"),
        "modules found"
    );
    assert_eq!(cycles(&g), Vec::<Vec<String>>::new(), "import cycles");
}

#[test]
fn must_not_import_rules_hold() {
    let g = graph();
    let mut broken = Vec::new();
    for (m, targets) in &g {
        for t in targets {
            let (from, to) = (top(m), top(t));
            let rule = match to {
                // quic::config holds transport settings the cluster client shares.
                "quic" | "http" | "node" if from != to && from != "node" && t != "quic::config" => {
                    Some("only node starts the entry points")
                }
                "web" if from == "api" => Some("the API does not know the UI"),
                "drivers" if from == "drivers" && m != "drivers" && t != "drivers" => {
                    Some("no driver imports another")
                }
                _ if from == "store" && !["store"].contains(&to) => {
                    Some("the store imports nothing of the coordinator")
                }
                _ => None,
            };
            if let Some(rule) = rule {
                broken.push(format!("{m} -> {t}: {rule}"));
            }
        }
    }
    assert_eq!(broken, Vec::<String>::new());
}

/// The checker sees a cycle when there is one (so a green run means something).
#[test]
fn the_checker_finds_a_planted_cycle() {
    let mut g = graph();
    g.entry("store".into()).or_default().insert("node".into());
    assert!(!cycles(&g).is_empty());
}
