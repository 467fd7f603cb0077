//! The import structure of the hub and the daemon, checked from their
//! sources: no import circle between a crate's top-level modules, the
//! hub's transports (REST, `/ui`, `/daemon`) depend on its use cases and
//! never the reverse, and event names are written only in `protocol`.
//!
//! A module's imports are the `crate::name` paths in its files (comments
//! and its `tests.rs` files left out); `lib.rs` and `main.rs`, the roots
//! that wire everything, are not modules here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use flotilla_integration::process::repo_root;

/// Module name to the modules it imports.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// The hub's transports: they call use cases; nothing calls them.
const HUB_TRANSPORTS: [&str; 3] = ["api", "ui", "daemons"];

fn rust_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable source dir") {
            let path = entry.expect("readable dir entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The source without comments and without a trailing test module.
fn code_of(text: &str) -> String {
    let text = text
        .split("#[cfg(test)]\nmod tests {")
        .next()
        .unwrap_or_default();
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level module names `code` refers to: `crate::x` and the names
/// in `crate::{x, y::z}` groups.
fn referenced(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Only the first segment of each comma-separated item counts;
            // the group ends at the brace that closes it.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_ascii_alphanumeric() || c == '_') => {
                        names.insert(ident(&group[i..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            names.insert(ident(rest));
        }
    }
    names
}

/// The module graph of the crate whose sources are in `src`.
fn graph(src: &Path) -> Graph {
    let modules: BTreeSet<String> = std::fs::read_dir(src)
        .expect("readable src")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let module = name.strip_suffix(".rs")?;
            (module != "lib" && module != "main").then(|| module.to_owned())
        })
        .collect();
    let mut graph = Graph::new();
    for module in &modules {
        let mut files = vec![src.join(format!("{module}.rs"))];
        let dir = src.join(module);
        if dir.is_dir() {
            files.extend(rust_files_under(&dir));
        }
        let mut imports = BTreeSet::new();
        for file in files {
            if file.file_name().is_some_and(|name| name == "tests.rs")
                || file.components().any(|c| c.as_os_str() == "tests")
            {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("readable source");
            imports.extend(
                referenced(&code_of(&text))
                    .into_iter()
                    .filter(|name| name != module && modules.contains(name)),
            );
        }
        graph.insert(module.clone(), imports);
    }
    graph
}

/// A circle of imports, if there is one.
fn find_circle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        graph: &Graph,
        module: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            let mut circle = path[at..].to_vec();
            circle.push(module.to_owned());
            return Some(circle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(circle) = visit(graph, next, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(graph, module, &mut Vec::new(), &mut done))
}

fn render(graph: &Graph) -> String {
    graph
        .iter()
        .map(|(module, imports)| {
            let imports: Vec<&str> = imports.iter().map(String::as_str).collect();
            format!("  {module} -> {}", imports.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_reference_finder_reads_paths_and_groups() {
    let code = "use crate::{App, hosts, lock};\nuse crate::error::ApiError;\n\
                let x = crate::store::now_ms();\nuse crate::{auth::{self, Secret}, relay};";
    let found: Vec<String> = referenced(code).into_iter().collect();
    assert_eq!(
        found,
        ["App", "auth", "error", "hosts", "lock", "relay", "store"]
    );
    assert_eq!(code_of("a // crate::x\nb"), "a \nb");
    let circle = Graph::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    assert_eq!(
        find_circle(&circle),
        Some(vec!["a".to_owned(), "b".to_owned(), "a".to_owned()])
    );
}

#[test]
fn no_import_circle_in_the_hub_or_the_daemon() {
    for krate in ["hub", "daemon"] {
        let graph = graph(&repo_root().join(krate).join("src"));
        assert!(graph.len() > 5, "{krate}: too few modules found: {graph:?}");
        if let Some(circle) = find_circle(&graph) {
            panic!(
                "{krate} has an import circle: {}\nits imports:\n{}",
                circle.join(" -> "),
                render(&graph)
            );
        }
    }
}

#[test]
fn hub_transports_depend_on_use_cases_never_the_reverse() {
    let graph = graph(&repo_root().join("hub").join("src"));
    let offenders: Vec<String> = graph
        .iter()
        .filter(|(module, _)| !HUB_TRANSPORTS.contains(&module.as_str()))
        .flat_map(|(module, imports)| {
            imports
                .iter()
                .filter(|import| HUB_TRANSPORTS.contains(&import.as_str()))
                .map(move |import| format!("{module} -> {import}"))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "modules that import a transport: {offenders:?}\nthe hub's imports:\n{}",
        render(&graph)
    );
    // The transports reach the use-case layer, not each other.
    for transport in HUB_TRANSPORTS {
        let imports = &graph[transport];
        let other: Vec<&String> = imports
            .iter()
            .filter(|import| HUB_TRANSPORTS.contains(&import.as_str()))
            .collect();
        assert!(other.is_empty(), "{transport} imports {other:?}");
    }
}

#[test]
fn event_names_are_written_only_in_protocol() {
    let protocol = repo_root().join("protocol").join("src");
    let mut names = BTreeSet::new();
    for file in rust_files_under(&protocol) {
        let text = std::fs::read_to_string(&file).expect("readable source");
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("const NAME: &'static str = \"") {
                names.insert(rest.trim_end_matches("\";").to_owned());
            }
        }
    }
    assert!(names.len() > 10, "too few event names found: {names:?}");
    let mut found = Vec::new();
    for krate in ["hub", "daemon"] {
        for file in rust_files_under(&repo_root().join(krate).join("src")) {
            // Tests may spell the wire out: that is what they check.
            if file.file_name().is_some_and(|name| name == "tests.rs")
                || file.components().any(|c| c.as_os_str() == "tests")
            {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("readable source");
            for (number, line) in code_of(&text).lines().enumerate() {
                for name in &names {
                    if line.contains(&format!("\"{name}\"")) {
                        found.push(format!("{}:{}: {name}", file.display(), number + 1));
                    }
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "event names written outside protocol (use the event's `Event::NAME`): {found:?}"
    );
}
