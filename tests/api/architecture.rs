//! The map in docs/architecture.md is the code's: every top-level module's
//! "may call" row names exactly the modules it imports, no two modules of
//! one folder (the crate's top level included) import each other in a
//! circle, and no source file has more than 400 lines before its tests.
//! Reads `src/` as text: `crate::` and `super::` paths (with `use` groups),
//! resolved to the module files they land in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path below the crate root (`["routes", "pages", "forgot"]`).
type ModulePath = Vec<String>;

const MAX_LINES: usize = 400;

fn source_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

fn module_of(src: &Path, file: &Path) -> ModulePath {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: ModulePath = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

/// The text without comments and with string literals blanked (a path or
/// a `//` inside a string is no import and no comment).
fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_string = false;
        let mut escaped = false;
        let chars: Vec<char> = line.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            if in_string {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
                out.push(if in_string { ' ' } else { c });
            } else if c == '"' {
                in_string = true;
                out.push(c);
            } else if c == '/' && chars.get(i + 1) == Some(&'/') {
                break;
            } else {
                out.push(c);
            }
        }
        out.push('\n');
    }
    out
}

/// The items of a `{ ... }` group starting right after its `{`, each by its
/// first segment, up to the matching `}`.
fn group_heads(rest: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut item = String::new();
    for c in rest.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(std::mem::take(&mut item));
                continue;
            }
            _ => {}
        }
        if depth == 0 {
            item.push(c);
        }
    }
    heads.push(item);
    heads
        .into_iter()
        .filter_map(|item| {
            let head: String = item
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            (!head.is_empty() && head != "self").then_some(head)
        })
        .collect()
}

/// Every `crate::a::b` and `super::a` path in `code`, resolved from
/// `module` (the file's own module), as absolute segment lists.
fn referenced_paths(code: &str, module: &ModulePath) -> Vec<ModulePath> {
    let mut paths = Vec::new();
    let bytes = code.as_bytes();
    for keyword in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(keyword) {
            let start = from + at;
            from = start + keyword.len();
            let before = start.checked_sub(1).map(|i| bytes[i]);
            if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':') {
                continue;
            }
            // The base the path starts from.
            let mut base: ModulePath = if keyword == "crate::" {
                Vec::new()
            } else {
                // A folder's mod.rs is the folder's module: `super` is its
                // parent, as for any other file.
                let mut parent = module.clone();
                parent.pop();
                parent
            };
            let mut rest = &code[from..];
            while let Some(more) = rest.strip_prefix("super::") {
                base.pop();
                rest = more;
            }
            let mut segments = base;
            loop {
                if let Some(group) = rest.strip_prefix('{') {
                    for head in group_heads(group) {
                        let mut path = segments.clone();
                        path.push(head);
                        paths.push(path);
                    }
                    break;
                }
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if name.is_empty() {
                    paths.push(segments.clone());
                    break;
                }
                rest = &rest[name.len()..];
                segments.push(name);
                match rest.strip_prefix("::") {
                    Some(more) => rest = more,
                    None => {
                        paths.push(segments.clone());
                        break;
                    }
                }
            }
        }
    }
    paths
}

/// The deepest known module a path lands in.
fn landing(path: &ModulePath, modules: &BTreeSet<ModulePath>) -> ModulePath {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|prefix| modules.contains(prefix))
        .unwrap_or_default()
}

struct Crate {
    modules: BTreeSet<ModulePath>,
    /// Imports between modules, neither an ancestor of the other.
    edges: BTreeSet<(ModulePath, ModulePath)>,
    too_long: Vec<String>,
}

fn read_crate() -> Crate {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let modules: BTreeSet<ModulePath> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut edges = BTreeSet::new();
    let mut too_long = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines = text
            .lines()
            .take_while(|l| !l.starts_with("#[cfg(test)]"))
            .count();
        if lines > MAX_LINES {
            too_long.push(format!("{} ({lines} lines)", file.display()));
        }
        let module = module_of(&src, file);
        if module.is_empty() {
            continue; // lib.rs and main.rs only declare and call.
        }
        let code = without_comments(&text);
        let code = code
            .split("\n#[cfg(test)]")
            .next()
            .unwrap_or_default()
            .to_owned();
        for path in referenced_paths(&code, &module) {
            let target = landing(&path, &modules);
            let ancestor = |a: &ModulePath, b: &ModulePath| b.starts_with(a);
            if !target.is_empty() && !ancestor(&target, &module) && !ancestor(&module, &target) {
                edges.insert((module.clone(), target));
            }
        }
    }
    Crate {
        modules,
        edges,
        too_long,
    }
}

/// Sibling imports per folder: for an import from `a` to `b`, the children
/// of their common folder that contain each.
fn sibling_graphs(
    edges: &BTreeSet<(ModulePath, ModulePath)>,
) -> BTreeMap<ModulePath, BTreeSet<(String, String)>> {
    let mut graphs: BTreeMap<ModulePath, BTreeSet<(String, String)>> = BTreeMap::new();
    for (from, to) in edges {
        let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
        graphs
            .entry(from[..common].to_vec())
            .or_default()
            .insert((from[common].clone(), to[common].clone()));
    }
    graphs
}

/// A cycle in `graph`, if there is one.
fn cycle(graph: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in graph {
        next.entry(a).or_default().push(b);
    }
    fn visit<'a>(
        node: &'a str,
        next: &BTreeMap<&'a str, Vec<&'a str>>,
        trail: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = trail.iter().position(|n| *n == node) {
            return Some(
                trail[at..]
                    .iter()
                    .map(|n| n.to_string())
                    .chain([node.to_string()])
                    .collect(),
            );
        }
        if !done.insert(node) {
            return None;
        }
        trail.push(node);
        for child in next.get(node).into_iter().flatten() {
            if let Some(found) = visit(child, next, trail, done) {
                return Some(found);
            }
        }
        trail.pop();
        None
    }
    let mut done = BTreeSet::new();
    for start in next.keys() {
        let mut trail = Vec::new();
        if let Some(found) = visit(start, &next, &mut trail, &mut done) {
            return Some(found);
        }
    }
    None
}

/// The "may call" column of docs/architecture.md's module table, by module,
/// with each module's row number (the table lists modules top to bottom).
fn documented_layering() -> BTreeMap<String, (usize, BTreeSet<String>)> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md"))
            .unwrap();
    let names = |cell: &str| -> BTreeSet<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(|n| n.trim_end_matches('/').to_owned())
            .collect()
    };
    doc.lines()
        .filter(|l| l.starts_with("| `"))
        .enumerate()
        .map(|(position, row)| {
            let cells: Vec<&str> = row.split('|').collect();
            let module = names(cells[1]).into_iter().next().unwrap();
            (module, (position, names(cells[cells.len() - 2])))
        })
        .collect()
}

#[test]
fn the_documented_map_is_the_code_and_has_no_cycle() {
    let krate = read_crate();
    assert!(
        krate.too_long.is_empty(),
        "files over {MAX_LINES} lines before their tests: {:?}",
        krate.too_long
    );
    for (folder, graph) in sibling_graphs(&krate.edges) {
        assert_eq!(
            cycle(&graph),
            None,
            "modules of `{}` import each other in a circle",
            if folder.is_empty() {
                "crate".to_owned()
            } else {
                folder.join("::")
            }
        );
    }
    let mut actual: BTreeMap<String, BTreeSet<String>> = krate
        .modules
        .iter()
        .filter(|m| m.len() == 1)
        .map(|m| (m[0].clone(), BTreeSet::new()))
        .collect();
    for (from, to) in &krate.edges {
        if from[0] != to[0] {
            actual
                .entry(from[0].clone())
                .or_default()
                .insert(to[0].clone());
        }
    }
    let documented = documented_layering();
    let mut wrong = Vec::new();
    for (module, calls) in &actual {
        match documented.get(module) {
            None => wrong.push(format!("`{module}` is not in the table")),
            Some((_, doc)) if doc != calls => wrong.push(format!(
                "`{module}` may call {doc:?} by the table, and calls {calls:?}"
            )),
            Some((row, _)) => {
                // Imports go down the table, never up.
                for callee in calls {
                    if documented
                        .get(callee)
                        .is_some_and(|(below, _)| below <= row)
                    {
                        wrong.push(format!("`{module}` calls `{callee}`, listed above it"));
                    }
                }
            }
        }
    }
    for module in documented.keys() {
        if !actual.contains_key(module) {
            wrong.push(format!("the table lists `{module}`, which is no module"));
        }
    }
    let rows: Vec<String> = actual
        .iter()
        .map(|(module, calls)| {
            let calls: Vec<String> = calls.iter().map(|c| format!("`{c}`")).collect();
            let calls = if calls.is_empty() {
                "—".to_owned()
            } else {
                calls.join(", ")
            };
            format!("`{module}`: {calls}")
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "docs/architecture.md is out of date:\n{}\n\nwhat the code imports:\n{}",
        wrong.join("\n"),
        rows.join("\n")
    );
}

#[test]
fn the_reader_finds_imports_in_groups_and_through_super() {
    let code = "use super::{a, b::{c, d}};\nuse crate::x::y::{self, Z};\nlet u = super::super::q::R;\nlet s = \"crate::not::a::path\"; // crate::nor::this\n";
    let module: ModulePath = vec!["m".into(), "n".into(), "o".into()];
    let code = without_comments(code);
    let found = referenced_paths(&code, &module);
    let as_text: BTreeSet<String> = found.iter().map(|p| p.join("::")).collect();
    for expected in ["m::n::a", "m::n::b", "x::y::Z", "m::q::R"] {
        assert!(as_text.contains(expected), "{expected} in {as_text:?}");
    }
    assert!(
        !as_text
            .iter()
            .any(|p| p.contains("nor") || p.contains("not")),
        "{as_text:?}"
    );
    let graph = BTreeSet::from([
        ("a".to_owned(), "b".to_owned()),
        ("b".to_owned(), "c".to_owned()),
        ("c".to_owned(), "a".to_owned()),
    ]);
    assert_eq!(cycle(&graph).map(|c| c.len()), Some(4));
    assert_eq!(
        cycle(&BTreeSet::from([("a".to_owned(), "b".to_owned())])),
        None
    );
}
