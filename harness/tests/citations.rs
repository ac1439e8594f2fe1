//! Every case cites `docs/protocol.md`, the project's own protocol reference, and every
//! citation resolves: the section is a heading there, a cited row is a row of that section's
//! table, and each named term appears in that section. A citation of anything else (a file the
//! clone does not contain) fails.

use std::collections::BTreeMap;
use std::path::Path;

use callout_conformance::{scenario, wire};

/// The sections of protocol.md by number (`1.5`, `2`), each with its text.
fn sections(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(h) = line
            .strip_prefix("## ")
            .or_else(|| line.strip_prefix("### "))
        {
            let num = h
                .split_whitespace()
                .next()
                .unwrap_or("")
                .trim_end_matches('.');
            if num.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                current = Some(num.to_string());
                out.insert(num.to_string(), format!("{line}\n"));
                continue;
            }
        }
        if line.starts_with("## ") {
            current = None;
        }
        if let Some(c) = &current {
            let t: &mut String = out.get_mut(c).unwrap();
            t.push_str(line);
            t.push('\n');
        }
    }
    out
}

/// Why `cite` does not resolve, if it does not.
fn check(cite: &str, secs: &BTreeMap<String, String>) -> Result<(), String> {
    if !cite.starts_with("protocol.md §") {
        return Err("does not start with \"protocol.md §\"".into());
    }
    for part in cite.split(';') {
        let part = part.trim().trim_start_matches("protocol.md").trim();
        let rest = part
            .strip_prefix('§')
            .ok_or_else(|| format!("part {part:?} names no section of protocol.md"))?;
        let num: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let num = num.trim_end_matches('.').to_string();
        let body = secs
            .get(&num)
            .ok_or_else(|| format!("§{num} is not a heading of docs/protocol.md"))?;
        let lower = body.to_lowercase();
        let mut tail = rest[num.len()..].trim().to_string();
        if let Some(open) = tail.find('(') {
            let close = tail.rfind(')').ok_or("unclosed parenthesis")?;
            for term in tail[open + 1..close].split(',') {
                let term = term.trim();
                if !term.is_empty() && !lower.contains(&term.to_lowercase()) {
                    return Err(format!("term {term:?} does not appear in §{num}"));
                }
            }
            tail = format!("{}{}", &tail[..open], &tail[close + 1..]);
        }
        let tail = tail.trim();
        if let Some(rows) = tail
            .strip_prefix("rows ")
            .or_else(|| tail.strip_prefix("row "))
        {
            for row in rows.split(',') {
                let row = row.trim();
                let in_table = body
                    .lines()
                    .any(|l| l.trim_start().starts_with(&format!("| {row} |")));
                if !in_table {
                    return Err(format!("row {row} is not a row of §{num}'s table"));
                }
            }
        } else if !tail.is_empty() && !lower.contains(&tail.to_lowercase()) {
            return Err(format!("{tail:?} does not appear in §{num}"));
        }
    }
    Ok(())
}

#[test]
fn every_case_citation_resolves_to_docs_protocol_md() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("docs/protocol.md")).expect("docs/protocol.md");
    let secs = sections(&text);
    assert!(secs.len() > 20, "protocol.md has its numbered sections");
    let mut cites: Vec<(String, String)> = wire::catalog()
        .map(|c| (c.id.to_string(), c.cite.to_string()))
        .collect();
    for s in scenario::load_dir(&root.join("scenarios")).expect("scenarios") {
        cites.extend(s.cases.iter().map(|c| (c.id.clone(), c.cite.clone())));
    }
    let bad: Vec<String> = cites
        .iter()
        .filter_map(|(id, cite)| {
            check(cite, &secs)
                .err()
                .map(|e| format!("{id}: {cite:?}: {e}"))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "citations that do not resolve:\n{}",
        bad.join("\n")
    );
}

#[test]
fn a_citation_that_does_not_resolve_is_caught() {
    let secs = sections("## 1. Wire\n### 1.5 Request\n**exp** is set.\n## 2. Checks\n| # | check |\n|---|---|\n| 5 | sub |\n");
    assert!(check("protocol.md §1.5 (exp)", &secs).is_ok());
    assert!(check("protocol.md §2 row 5", &secs).is_ok());
    assert!(check("protocol.md §1.5 (nbf)", &secs).is_err());
    assert!(check("protocol.md §2 row 6", &secs).is_err());
    assert!(check("protocol.md §3.1", &secs).is_err());
    assert!(check("landscape.md §0", &secs).is_err());
    assert!(check("protocol.md §1.5; landscape.md §2", &secs).is_err());
}

/// `docs/levels.md` is the review copy of every case's level, rationale and citation: it must
/// list every case exactly as the case files and `harness/src/wire/` define it.
#[test]
fn docs_levels_md_lists_every_case_as_the_catalog_defines_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("docs/levels.md")).expect("docs/levels.md");
    let doc: BTreeMap<String, (String, String, String)> = text
        .lines()
        .filter(|l| l.starts_with("| wire.") || l.starts_with("| e2e."))
        .map(|l| {
            let cells: Vec<&str> = l
                .trim()
                .trim_matches('|')
                .split(" | ")
                .map(str::trim)
                .collect();
            assert_eq!(cells.len(), 4, "four cells: {l}");
            (
                cells[0].into(),
                (cells[1].into(), cells[2].into(), cells[3].into()),
            )
        })
        .collect();
    let mut code: BTreeMap<String, (String, String, String)> = wire::catalog()
        .map(|c| {
            (
                c.id.into(),
                (c.level.label().into(), c.rationale.into(), c.cite.into()),
            )
        })
        .collect();
    for s in scenario::load_dir(&root.join("scenarios")).expect("scenarios") {
        for c in &s.cases {
            code.insert(
                c.id.clone(),
                (c.level.label().into(), c.rationale.clone(), c.cite.clone()),
            );
        }
    }
    let mut problems = Vec::new();
    for (id, want) in &code {
        match doc.get(id) {
            None => problems.push(format!("{id} is missing from docs/levels.md")),
            Some(got) if got != want => problems.push(format!(
                "{id}: docs/levels.md says {got:?}, the catalog {want:?}"
            )),
            _ => {}
        }
    }
    for id in doc.keys().filter(|id| !code.contains_key(*id)) {
        problems.push(format!("{id} is in docs/levels.md but not in the catalog"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
