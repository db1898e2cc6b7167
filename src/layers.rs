//! The crate's layering, checked: each top-level module has a rank, and a
//! module may name (`crate::…`) only modules of a lower rank. Modules of
//! the same rank do not know each other. ARCHITECTURE.md draws the same
//! table.

/// Top-level modules from the bottom up.
const LAYERS: &[&[&str]] = &[
    // Leaf helpers with no knowledge of HTTP or databases.
    &["calendar", "hex", "sync"],
    // The wire: requests, responses, parsing, framing.
    &["http"],
    // What sits directly on the wire types, or on nothing.
    &["cors", "metrics", "middleware", "model", "router"],
    &["config"],
    &["log"],
    &["ratelimit"],
    &["auth", "backend"],
    &["crud"],
    &["error"],
    &["endpoint"],
    &["dispatch", "resource"],
    &["openapi"],
    &["server"],
    &["app"],
    // The `lightapi` command, built on the application.
    &["cli"],
    &["__private", "prelude"],
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The module that defines each item the crate root re-exports
/// (`pub use module::{A, B};` in lib.rs), so that `crate::A` counts as a
/// use of `module`.
fn root_items(lib: &str) -> Vec<(String, String)> {
    let mut items = Vec::new();
    for stmt in lib.split(';') {
        let Some(rest) = stmt.trim().strip_prefix("pub use ") else {
            continue;
        };
        let (module, list) = rest.split_once("::").unwrap_or((rest, ""));
        let list = list.trim_start_matches('{').trim_end_matches('}');
        for item in list.split(',') {
            let item = item.trim();
            if !item.is_empty() {
                items.push((item.to_owned(), module.to_owned()));
            }
        }
    }
    items
}

/// The first path segment of every `crate::` path in `code` (a list in
/// braces gives one per entry), with its line number.
fn named_modules(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let line = code[..i].matches('\n').count() + 1;
        let rest = &code[i + 7..];
        let segment = |s: &str| -> String {
            s.trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        };
        if let Some(list) = rest.strip_prefix('{') {
            let list = list.split('}').next().unwrap_or_default();
            out.extend(
                list.split(',')
                    .map(segment)
                    .filter(|s| !s.is_empty())
                    .map(|s| (line, s)),
            );
        } else {
            out.push((line, segment(rest)));
        }
    }
    out
}

/// `text` without `//` comments (a comment marker inside a string literal
/// is rare enough here not to matter).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn no_module_names_a_module_above_it_or_beside_it() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let items = root_items(&without_comments(&lib));
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for path in files {
        let rel = path.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        // `src/bin/` holds the binaries: crates of their own, on the public API.
        if top == "lib" || top == "layers" || top == "bin" {
            continue;
        }
        let Some(own) = rank(&top) else {
            unknown.push(top);
            continue;
        };
        let text = without_comments(&std::fs::read_to_string(&path).unwrap());
        for (line, name) in named_modules(&text) {
            let module = items
                .iter()
                .find(|(item, _)| *item == name)
                .map_or(name.as_str(), |(_, m)| m.as_str())
                .to_owned();
            if module == top {
                continue;
            }
            match rank(&module) {
                Some(r) if r < own => {}
                Some(_) => wrong.push(format!("{}:{line}: {top} names {module}", rel.display())),
                None => unknown.push(module),
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules missing from LAYERS: {unknown:?}"
    );
    assert!(
        wrong.is_empty(),
        "upward or sideways names:\n{}",
        wrong.join("\n")
    );
}
