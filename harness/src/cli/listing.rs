//! `list`: the cases `run` judges with the same options, one line each, and, with
//! `--left-out`, the selected cases it does not judge and why (the other mode's cases; for a
//! profile, the cases its identities cannot carry and the sealed ones of a responder without
//! xkey support). A case that a server version skips (`min_server`) is listed: `list` knows
//! no version.

use callout_catalog::mode::Mode;
use callout_catalog::scenario::Scenario;
use callout_catalog::wire::{not_applicable, Config, WireCase};
use callout_judge::session::wire_selected;
use callout_world::credential::Identities;

use crate::runner::RunOptions;

/// One listed case: id, level, title and citation.
fn line(id: &str, level: &str, title: &str, cite: &str) -> String {
    format!("{id:<22} {level:<6} {title}  [{cite}]\n")
}

/// Why `run` in `mode`, with the profile identities `ids` (`None`: the harness's users.json),
/// leaves wire case `c` out, or `None` when it judges it.
fn wire_left_out(c: &WireCase, mode: Mode, ids: Option<&Identities>) -> Option<String> {
    if !mode.has_wire(c) {
        return Some(if mode.is_operator() {
            "config mode only (run without --mode operator)".into()
        } else {
            "operator mode only (run --mode operator)".into()
        });
    }
    let ids = ids?;
    if let Some(why) = not_applicable(c, ids) {
        return Some(format!("skipped: {why}"));
    }
    let sealed = matches!(
        c.phase(mode.is_operator()),
        Some(Config::Sealed | Config::OperatorSealed)
    );
    (sealed && !ids.sealing).then(|| {
        "unimplemented: the profile says the responder has no xkey support (sealing = false)".into()
    })
}

/// The `list` text.
pub fn list(
    scenarios: &[Scenario],
    opts: &RunOptions,
    mode: Mode,
    ids: Option<&Identities>,
    left_out: bool,
) -> String {
    let mut judged = String::new();
    let mut left: Vec<(String, String)> = Vec::new();
    let mut n = 0;
    for s in scenarios {
        for c in s.cases.iter().filter(|c| opts.selects(c)) {
            let text = line(&c.id, c.level.label(), &c.title, &c.cite);
            if mode.has_file(s) {
                n += 1;
                judged.push_str(&text);
            } else if s.world.operator {
                left.push((text, "operator mode only (run --mode operator)".into()));
            } else {
                left.push((
                    text,
                    "config mode only (run without --mode operator)".into(),
                ));
            }
        }
    }
    for c in wire_selected(opts) {
        let text = line(c.id, c.level.label(), c.title, c.cite);
        match wire_left_out(c, mode, ids) {
            None => {
                n += 1;
                judged.push_str(&text);
            }
            Some(why) => left.push((text, why)),
        }
    }
    let mut out = judged;
    out.push_str(&format!("{n} case(s)\n"));
    if left_out {
        out.push_str(&format!("\nleft out ({}):\n", left.len()));
        for (text, why) in &left {
            out.push_str(text);
            out.push_str(&format!("{:<22} -> {why}\n", ""));
        }
    } else if !left.is_empty() {
        out.push_str(&format!(
            "{} more selected case(s) left out of this run; list --left-out says which and why\n",
            left.len()
        ));
    }
    out
}
