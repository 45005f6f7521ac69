//! The rules of SPEC.md, read from the document itself at run time.
//!
//! SPEC.md is embedded with `include_str!`, so a failure report can quote the
//! exact sentence of the rule that was broken, and a test can check that the
//! catalogue covers every rule ID the document defines (contract with SPEC.md
//! section 15: every MUST has an ID and a level).

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The whole of SPEC.md, as compiled into this binary.
pub const SPEC_MD: &str = include_str!("../../SPEC.md");

/// One rule of SPEC.md, such as `FRAME-3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The rule ID, such as `FRAME-3`.
    pub id: String,
    /// The level it belongs to (1 to 6).
    pub level: u8,
    /// The rule's sentence(s), without the ID and level markers.
    pub text: String,
}

/// Every rule defined in SPEC.md, by ID.
pub fn rules() -> &'static BTreeMap<String, Rule> {
    static RULES: OnceLock<BTreeMap<String, Rule>> = OnceLock::new();
    RULES.get_or_init(|| parse_rules(SPEC_MD))
}

/// The rule with this ID, if SPEC.md defines it.
pub fn rule(id: &str) -> Option<&'static Rule> {
    rules().get(id)
}

/// Extracts rules from lines shaped `- **FRAME-3** [L2] text`.
pub fn parse_rules(spec: &str) -> BTreeMap<String, Rule> {
    let mut out = BTreeMap::new();
    for line in spec.lines() {
        let Some(rest) = line.strip_prefix("- **") else {
            continue;
        };
        let Some((id, rest)) = rest.split_once("** [L") else {
            continue;
        };
        if !is_rule_id(id) {
            continue;
        }
        let Some((level, text)) = rest.split_once("] ") else {
            continue;
        };
        let Ok(level) = level.parse::<u8>() else {
            continue;
        };
        out.insert(
            id.to_owned(),
            Rule {
                id: id.to_owned(),
                level,
                text: text.trim().to_owned(),
            },
        );
    }
    out
}

/// `[A-Z]+-[0-9]+`, the shape of a rule ID.
pub fn is_rule_id(id: &str) -> bool {
    match id.split_once('-') {
        Some((family, number)) => {
            !family.is_empty()
                && family.bytes().all(|b| b.is_ascii_uppercase())
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}
