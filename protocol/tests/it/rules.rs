//! Keeps SPEC.md's rule IDs honest: every rule has a level that matches the
//! rule index, and every rule is cited by at least one test, vector or
//! conformance check somewhere in the repository, except the rules listed in
//! `rules_pending.txt`, a list that may only shrink.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Rules as `- **ID** [Ln] ...` lines: ID to level.
fn spec_rules(spec: &str) -> BTreeMap<String, u8> {
    let mut rules = BTreeMap::new();
    for line in spec.lines() {
        let Some(rest) = line.strip_prefix("- **") else {
            continue;
        };
        let (id, rest) = rest.split_once("** [L").expect("a rule line has a level");
        let level = rest[..1].parse().expect("levels are 1 to 6");
        assert!(
            rules.insert(id.to_owned(), level).is_none(),
            "{id} is defined twice"
        );
    }
    rules
}

/// The rule index table at the end of SPEC.md: ID to level.
fn index_rules(spec: &str) -> BTreeMap<String, u8> {
    let index = spec
        .split("## 15. Rule index")
        .nth(1)
        .expect("SPEC.md has a rule index");
    let mut rules = BTreeMap::new();
    for line in index
        .lines()
        .filter(|l| l.starts_with("| ") && !l.contains("Level"))
    {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Ok(level) = cells[1].parse::<u8>() else {
            continue;
        };
        for id in cells[2].split(", ") {
            rules.insert(id.to_owned(), level);
        }
    }
    rules
}

/// Rule IDs mentioned in the text of `files`.
fn cited_in(files: &[std::path::PathBuf], ids: &BTreeSet<String>) -> BTreeSet<String> {
    let mut cited = BTreeSet::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for id in ids {
            // "ERR-1" must not match inside "ERR-10".
            let found = text
                .match_indices(id.as_str())
                .any(|(at, _)| !text[at + id.len()..].starts_with(|c: char| c.is_ascii_digit()));
            if found {
                cited.insert(id.clone());
            }
        }
    }
    cited
}

/// Files that hold tests: `tests/` of every crate, the vectors, and the
/// conformance catalogue.
fn test_files(root: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![
        root.join("protocol/tests"),
        root.join("reference-server/tests"),
        root.join("reference-client/tests"),
        root.join("conformance/tests"),
        root.join("conformance/src"),
        root.join("fixtures/vectors"),
    ];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n != "rules_pending.txt") {
                files.push(path);
            }
        }
    }
    files
}

#[test]
fn every_rule_is_in_the_index_with_its_level() {
    let spec = std::fs::read_to_string(crate::repo_root().join("SPEC.md")).unwrap();
    let rules = spec_rules(&spec);
    assert!(rules.len() > 50, "SPEC.md defines its rules");
    assert_eq!(
        index_rules(&spec),
        rules,
        "the rule index matches the rules"
    );
    // Every rule is a MUST: its line says MUST.
    for line in spec.lines().filter(|l| l.starts_with("- **")) {
        assert!(line.contains("MUST"), "a rule without MUST: {line}");
    }
}

#[test]
fn every_rule_is_cited_by_a_test_or_vector() {
    let root = crate::repo_root();
    let spec = std::fs::read_to_string(root.join("SPEC.md")).unwrap();
    let ids: BTreeSet<String> = spec_rules(&spec).into_keys().collect();
    let cited = cited_in(&test_files(&root), &ids);
    let pending_text = include_str!("rules_pending.txt");
    let pending: BTreeSet<String> = pending_text
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();

    let uncited: Vec<_> = ids
        .difference(&cited)
        .filter(|id| !pending.contains(*id))
        .collect();
    assert!(
        uncited.is_empty(),
        "no test, vector or conformance check cites {uncited:?}: add one"
    );
    let stale: Vec<_> = pending.intersection(&cited).collect();
    assert!(
        stale.is_empty(),
        "{stale:?} are cited now: remove them from protocol/tests/it/rules_pending.txt"
    );
    let unknown: Vec<_> = pending.difference(&ids).collect();
    assert!(
        unknown.is_empty(),
        "rules_pending.txt lists unknown rules {unknown:?}"
    );
}
