//! Every rule ID in SPEC.md is checked by at least one test, every rule a test
//! cites exists, and the catalogue's slugs and dependencies are sound.

use std::collections::{BTreeSet, HashMap};

use conformance::catalogue::{cases, entries};
use conformance::spec::{SPEC_MD, rules};

/// Rule IDs as SPEC.md writes them in bold, found without the grader's parser.
fn bold_ids() -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for part in SPEC_MD.split("**").skip(1).step_by(2) {
        if conformance::spec::is_rule_id(part) {
            ids.insert(part.to_owned());
        }
    }
    ids
}

#[test]
fn the_parser_finds_every_rule_of_spec_md() {
    let parsed: BTreeSet<String> = rules().keys().cloned().collect();
    assert_eq!(parsed, bold_ids());
    assert!(parsed.len() >= 70, "only {} rules found", parsed.len());
}

#[test]
fn every_rule_is_checked_by_a_test() {
    let covered: BTreeSet<&str> = cases()
        .iter()
        .flat_map(|c| c.rules.iter().copied())
        .collect();
    let missing: Vec<&String> = rules()
        .keys()
        .filter(|id| !covered.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "rules no catalogue test checks: {missing:?}"
    );
}

#[test]
fn tests_cite_existing_rules_of_their_level_or_below() {
    for case in cases() {
        for id in case.rules {
            let rule = rules()
                .get(*id)
                .unwrap_or_else(|| panic!("{} cites unknown rule {id}", case.slug));
            assert!(
                rule.level <= case.level,
                "{} (L{}) cites {id} of level {}",
                case.slug,
                case.level,
                rule.level
            );
        }
        assert!(!case.hints.is_empty(), "{} has no hint", case.slug);
    }
}

#[test]
fn slugs_are_unique_and_dependencies_come_first() {
    let all = entries();
    let mut position = HashMap::new();
    for (i, e) in all.iter().enumerate() {
        assert!(
            position.insert(e.slug.clone(), i).is_none(),
            "duplicate slug {}",
            e.slug
        );
    }
    for (i, e) in all.iter().enumerate() {
        for dep in &e.deps {
            let at = position
                .get(dep)
                .unwrap_or_else(|| panic!("{} depends on unknown {dep}", e.slug));
            assert!(*at < i, "{} depends on {dep}, which comes after it", e.slug);
        }
    }
}
