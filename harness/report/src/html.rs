//! The HTML report: one self-contained page for a CI artifact or a browser, in the style of
//! Autobahn's: the runs, the verdict matrix (cases × columns, colored by verdict, with levels
//! and per-column totals), every case that did not pass in a `<details>` block, and each run's
//! set-up error and responder stderr. No network, no external resources; the page reads in
//! full without JavaScript, and a small inline script only adds filters. A Content-Security-
//! Policy allows nothing but the page's own style and script, by hash, so even markup that
//! slipped past the escaping could not run or load anything.

use sha2::{Digest, Sha256};

use super::*;

/// At most this many lines of one transcript or one stderr capture are shown; the rest is
/// counted in a note (the JSON report has them all).
const BLOCK_LINES: usize = 200;
/// Lines longer than this many characters are cut, with a note.
const LINE_CHARS: usize = 2000;

const STYLE: &str = r#"
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg-alt: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--fg); background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 8px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
.meta { color: var(--muted); margin: 0 0 16px; }
.meta b { color: var(--fg); font-weight: 600; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
thead th { background: var(--bg-alt); font-weight: 600; }
.runs td code { white-space: pre-wrap; overflow-wrap: anywhere; }
.matrix td { vertical-align: middle; }
.matrix thead th { position: sticky; top: 0; z-index: 1; }
.matrix th.col { width: 150px; min-width: 130px; text-align: center; font-weight: 600; vertical-align: bottom; }
.matrix th.col small { display: block; font-weight: 400; color: var(--muted); }
.matrix td.id { white-space: nowrap; }
.matrix td.title { min-width: 280px; max-width: 520px; }
.matrix tbody tr:nth-child(even) td.id, .matrix tbody tr:nth-child(even) td.title, .matrix tbody tr:nth-child(even) td.level { background: #fbfcfd; }
.matrix tfoot td { background: var(--bg-alt); font-weight: 600; vertical-align: top; }
.matrix tfoot td .badge { display: block; margin: 3px 0; text-align: center; }
td.level { white-space: nowrap; font-size: 12px; color: var(--muted); }
td.v { text-align: center; font-weight: 600; font-size: 12px; white-space: nowrap; }
td.v a { color: inherit; text-decoration: none; display: block; }
td.v a:hover { text-decoration: underline; }
.v-pass { background: #dafbe1; color: #116329; }
.v-fail { background: #ffd8d3; color: #a40e26; }
.v-non-strict { background: #fff1c2; color: #7d4e00; }
.v-info { background: #ddf4ff; color: #0a3069; }
.v-unimplemented { background: #fbefff; color: #6e40c9; }
.v-skipped { background: #eff2f5; color: #59636e; }
.v-known { background: #e7ecff; color: #1f3f99; }
.v-none { color: var(--muted); }
.badge { display: inline-block; padding: 1px 7px; margin: 1px 2px; border-radius: 10px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.setup { background: #ffd8d3; color: #a40e26; }
.filters { display: flex; gap: 16px; align-items: center; margin: 0 0 10px; padding: 8px 12px; background: var(--bg-alt); border: 1px solid var(--line); border-radius: 6px; }
.filters[hidden] { display: none; }
.filters select { font: inherit; }
#shown { color: var(--muted); margin-left: auto; }
details.case { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; }
details.case > summary { cursor: pointer; padding: 6px 10px; background: var(--bg-alt); border-radius: 6px; }
details.case[open] > summary { border-bottom: 1px solid var(--line); border-radius: 6px 6px 0 0; }
details.case > .body { padding: 8px 12px; }
details.case:target { outline: 2px solid #0969da; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0 0 8px; }
dt { color: var(--muted); }
dd { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
pre { background: var(--bg-alt); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0 8px; }
pre.error { background: #fff5f5; border-color: #ffc1ba; }
.note { color: var(--muted); font-style: italic; }
.none { color: var(--muted); }
"#;

/// Filters the matrix by what failed, by level and by group, and keeps the choice in the
/// fragment (`#show=fail&level=must`) so that a link opens the page filtered. It marks the root
/// element `data-filters="ready"` when it has run, which the browser test checks.
const SCRIPT: &str = r#"
(function () {
  var form = document.getElementById('filters');
  var rows = Array.prototype.slice.call(document.querySelectorAll('#matrix tbody tr'));
  var keys = ['show', 'level', 'group'];
  function field(k) { return form.elements.namedItem(k); }
  function apply() {
    var show = field('show').value, level = field('level').value, group = field('group').value;
    var n = 0;
    rows.forEach(function (r) {
      var v = r.getAttribute('data-verdicts').split(' ');
      var keep = (show === 'all' || (show === 'fail'
          ? v.indexOf('fail') >= 0
          : v.some(function (x) { return x !== 'pass'; })))
        && (!level || r.getAttribute('data-level') === level)
        && (!group || r.getAttribute('data-group') === group);
      r.hidden = !keep;
      if (keep) { n++; }
    });
    document.getElementById('shown').textContent = n + ' of ' + rows.length + ' cases shown';
  }
  function save() {
    var q = [];
    keys.forEach(function (k) {
      var v = field(k).value;
      if (v && v !== 'all') { q.push(k + '=' + encodeURIComponent(v)); }
    });
    try { history.replaceState(null, '', q.length ? '#' + q.join('&') : location.pathname); } catch (e) { }
  }
  location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
    var i = kv.indexOf('=');
    var k = kv.slice(0, i), v = decodeURIComponent(kv.slice(i + 1));
    if (i > 0 && keys.indexOf(k) >= 0) {
      var f = field(k);
      for (var j = 0; j < f.options.length; j++) {
        if (f.options[j].value === v) { f.value = v; }
      }
    }
  });
  form.addEventListener('change', function () { apply(); save(); });
  form.hidden = false;
  apply();
  document.documentElement.setAttribute('data-filters', 'ready');
})();
"#;

/// Text for HTML content or a quoted attribute: the five markup characters become entities;
/// control characters (other than newline and tab) and bidirectional overrides are shown
/// escaped (`\u{1b}`), so a responder cannot hide or reorder text; `\r` is dropped.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            '\r' => {}
            c if c.is_control()
                || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') =>
            {
                out.extend(c.escape_default())
            }
            c => out.push(c),
        }
    }
    out
}

/// The CSS class of a verdict's cell or badge.
fn class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "v-pass",
        Verdict::Fail => "v-fail",
        Verdict::NonStrict => "v-non-strict",
        Verdict::Informational => "v-info",
        Verdict::Unimplemented => "v-unimplemented",
        Verdict::Skipped => "v-skipped",
        Verdict::Known => "v-known",
    }
}

/// The lowercase token of a verdict in `data-verdicts`, which the filter script reads.
fn token(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::NonStrict => "non-strict",
        Verdict::Informational => "info",
        Verdict::Unimplemented => "unimplemented",
        Verdict::Skipped => "skipped",
        Verdict::Known => "known",
    }
}

/// Which end of an over-long block to keep: a transcript's start, a stderr capture's end.
#[derive(Clone, Copy)]
enum Keep {
    Head,
    Tail,
}

/// A `<pre>` block of `lines`, at most [`BLOCK_LINES`] of them and each at most
/// [`LINE_CHARS`] long, with a note saying what was left out.
fn pre(out: &mut String, lines: &[&str], keep: Keep, css: &str) {
    let cut = lines.len().saturating_sub(BLOCK_LINES);
    let shown = match keep {
        Keep::Head => &lines[..lines.len() - cut],
        Keep::Tail => &lines[cut..],
    };
    let note = format!(
        "<p class=\"note\">{cut} line(s) not shown; the report keeps {BLOCK_LINES} per block (the JSON report has them all).</p>\n"
    );
    if cut > 0 && matches!(keep, Keep::Tail) {
        out.push_str(&note);
    }
    out.push_str(&format!("<pre class=\"{css}\">"));
    for (i, line) in shown.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let chars = line.chars().count();
        if chars > LINE_CHARS {
            let head: String = line.chars().take(LINE_CHARS).collect();
            out.push_str(&esc(&head));
            out.push_str(&format!(
                "<span class=\"note\">… {} more character(s)</span>",
                chars - LINE_CHARS
            ));
        } else {
            out.push_str(&esc(line));
        }
    }
    out.push_str("</pre>\n");
    if cut > 0 && matches!(keep, Keep::Head) {
        out.push_str(&note);
    }
}

/// `'sha256-…'`, the CSP source that allows exactly this inline style or script.
fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!("'sha256-{}'", data_encoding::BASE64.encode(&digest))
}

/// The anchor of the details block of row `row` in column `col`.
fn anchor(col: usize, row: usize) -> String {
    format!("c{col}-r{row}")
}

fn badge(v: Verdict, n: usize) -> String {
    format!(
        "<span class=\"badge {}\">{n} {}</span>",
        class(v),
        v.label()
    )
}

/// A column's totals as badges, never added up across columns.
fn totals(run: &ResponderRun) -> String {
    let mut parts = Vec::new();
    if run.setup_error.is_some() {
        parts.push("<span class=\"badge setup\">SETUP ERROR</span>".to_string());
    }
    for &v in &VERDICT_ORDER {
        let n = run.count(v);
        if n > 0 {
            parts.push(badge(v, n));
        }
    }
    if parts.is_empty() {
        "<span class=\"none\">no cases</span>".to_string()
    } else {
        parts.join(" ")
    }
}

/// The report as one self-contained HTML page: a header with the tool version, strict mode and
/// a table of the runs (responder, command, server version, backend, restarts, totals); the
/// verdict matrix, one row per case id in catalog order and one column per run, each cell
/// linking to its details, with a totals row; a details block for every case of every column
/// that did not pass (requirement, level, rationale, citation, expected, actual, transcript);
/// and each run's set-up error and stderr per source. Transcripts and stderr are cut to
/// [`BLOCK_LINES`] lines each, with a note.
pub fn html(report: &Report) -> String {
    let columns = columns(report);
    let rows = case_rows(report);
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src {}; script-src {}\">\n",
        csp_hash(STYLE),
        csp_hash(SCRIPT)
    ));
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<title>Auth-callout conformance report</title>\n");
    out.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n"));

    // Header.
    out.push_str("<h1>Auth-callout conformance report</h1>\n");
    out.push_str(&format!(
        "<p class=\"meta\">callout-conformance <b>{}</b> · strict mode <b>{}</b> · {} column(s) · {} case(s)</p>\n",
        esc(&report.tool_version),
        if report.strict { "on" } else { "off" },
        report.runs.len(),
        rows.len()
    ));
    out.push_str("<table class=\"runs\">\n<thead><tr><th>Column</th><th>Responder</th><th>Command</th><th>Server</th><th>Backend</th><th>Restarts</th><th>Totals</th></tr></thead>\n<tbody>\n");
    for (column, run) in columns.iter().zip(&report.runs) {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(column),
            esc(&run.responder),
            esc(&run.command),
            esc(&run.server_version),
            esc(&run.backend),
            run.restarts,
            totals(run)
        ));
    }
    out.push_str("</tbody>\n</table>\n");
    if let Some(b) = &report.baseline {
        out.push_str(&format!(
            "<p class=\"meta\">Baseline <b class=\"mono\">{}</b>: {} known failure(s) accepted (KNOWN).</p>\n",
            esc(&b.file),
            b.known
        ));
        if !b.passes_now.is_empty() {
            out.push_str("<ul class=\"passes-now\">\n");
            for p in &b.passes_now {
                out.push_str(&format!("<li>{}</li>\n", esc(&passes_now_line(&b.file, p))));
            }
            out.push_str("</ul>\n");
        }
    }

    // The matrix.
    out.push_str("<h2>Verdicts</h2>\n");
    let mut groups: Vec<&str> = rows.iter().map(|(id, _)| group(id)).collect();
    groups.sort_unstable();
    groups.dedup();
    out.push_str("<form id=\"filters\" class=\"filters\" hidden>\n<label>Show <select name=\"show\"><option value=\"all\">all cases</option><option value=\"fail\">failures</option><option value=\"not-pass\">not passing everywhere</option></select></label>\n<label>Level <select name=\"level\"><option value=\"\">any</option><option value=\"must\">MUST</option><option value=\"should\">SHOULD</option><option value=\"may\">MAY</option></select></label>\n<label>Group <select name=\"group\"><option value=\"\">any</option>");
    for g in &groups {
        out.push_str(&format!("<option value=\"{0}\">{0}</option>", esc(g)));
    }
    out.push_str("</select></label>\n<span id=\"shown\"></span>\n</form>\n");
    out.push_str("<table id=\"matrix\" class=\"matrix\">\n<thead><tr><th>Case</th><th>Title</th><th>Level</th>");
    for (column, run) in columns.iter().zip(&report.runs) {
        let suffix = column.strip_prefix(&run.column()).unwrap_or("").to_string();
        out.push_str(&format!(
            "<th class=\"col\" title=\"{}\">{}{}<small>{} · {}</small></th>",
            esc(column),
            esc(&run.responder),
            esc(&suffix),
            esc(&run.server_version),
            esc(&run.backend)
        ));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (r, (id, title)) in rows.iter().enumerate() {
        let level = level_of(report, id);
        let verdicts: Vec<Option<Verdict>> =
            report.runs.iter().map(|run| verdict_of(run, id)).collect();
        let mut tokens: Vec<&str> = verdicts.iter().flatten().map(|&v| token(v)).collect();
        tokens.sort_unstable();
        tokens.dedup();
        out.push_str(&format!(
            "<tr data-group=\"{}\" data-level=\"{}\" data-verdicts=\"{}\"><td class=\"id mono\">{}</td><td class=\"title\">{}</td><td class=\"level\">{}</td>",
            esc(group(id)),
            level.label().to_lowercase(),
            tokens.join(" "),
            esc(id),
            esc(title),
            level.label()
        ));
        for (c, verdict) in verdicts.iter().enumerate() {
            match verdict {
                None => out.push_str("<td class=\"v v-none\">—</td>"),
                Some(Verdict::Pass) => out.push_str("<td class=\"v v-pass\">PASS</td>"),
                Some(v) => out.push_str(&format!(
                    "<td class=\"v {}\"><a href=\"#{}\">{}</a></td>",
                    class(*v),
                    anchor(c, r),
                    v.label()
                )),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n<tfoot><tr><td colspan=\"3\">Totals (per column)</td>");
    for run in &report.runs {
        out.push_str(&format!("<td>{}</td>", totals(run)));
    }
    out.push_str("</tr></tfoot>\n</table>\n");

    // Every case that did not pass, per column.
    out.push_str("<h2>Cases that did not pass</h2>\n");
    let mut any = false;
    for (c, (column, run)) in columns.iter().zip(&report.runs).enumerate() {
        let cases: Vec<(usize, &CaseResult)> = rows
            .iter()
            .enumerate()
            .filter_map(|(r, (id, _))| {
                run.results
                    .iter()
                    .find(|case| case.id == *id && case.verdict != Verdict::Pass)
                    .map(|case| (r, case))
            })
            .collect();
        if cases.is_empty() {
            continue;
        }
        any = true;
        out.push_str(&format!("<h3>{}</h3>\n", esc(column)));
        for (r, case) in cases {
            details(&mut out, &anchor(c, r), case);
        }
    }
    if !any {
        out.push_str("<p class=\"none\">None: every case passed in every column.</p>\n");
    }

    // Set-up errors and stderr, per column.
    out.push_str("<h2>Set-up errors and responder stderr</h2>\n");
    for (column, run) in columns.iter().zip(&report.runs) {
        out.push_str(&format!("<h3>{}</h3>\n", esc(column)));
        if let Some(error) = &run.setup_error {
            out.push_str("<p><span class=\"badge setup\">SETUP ERROR</span> the run stopped before its cases:</p>\n");
            let lines: Vec<&str> = error.lines().collect();
            pre(&mut out, &lines, Keep::Head, "error");
        }
        if run.restarts > 0 {
            out.push_str(&format!(
                "<p>The responder exited or stopped answering, and was restarted {} time(s).</p>\n",
                run.restarts
            ));
        }
        let captures: Vec<(&str, &str)> = if run.stderr.is_empty() {
            vec![("", run.responder_stderr.as_str())]
        } else {
            run.stderr
                .iter()
                .map(|t| (t.source.as_str(), t.text.as_str()))
                .collect()
        };
        let captures: Vec<_> = captures
            .into_iter()
            .filter(|(_, text)| !text.trim().is_empty())
            .collect();
        if captures.is_empty() {
            out.push_str("<p class=\"none\">The responder wrote nothing to stderr.</p>\n");
        }
        for (source, text) in captures {
            let lines: Vec<&str> = text.trim_end_matches('\n').lines().collect();
            let source = if source.is_empty() { "stderr" } else { source };
            out.push_str(&format!(
                "<details class=\"case\"><summary><b class=\"mono\">{}</b> <span class=\"note\">{} line(s)</span></summary>\n<div class=\"body\">\n",
                esc(source),
                lines.len()
            ));
            pre(&mut out, &lines, Keep::Tail, "stderr");
            out.push_str("</div>\n</details>\n");
        }
    }

    out.push_str(&format!("<script>{SCRIPT}</script>\n</body>\n</html>\n"));
    out
}

/// One case's details block: open for a failure, closed otherwise.
fn details(out: &mut String, id: &str, case: &CaseResult) {
    out.push_str(&format!(
        "<details class=\"case\" id=\"{id}\"{}><summary><span class=\"badge {}\">{}</span> <b class=\"mono\">{}</b> {}</summary>\n<div class=\"body\">\n<dl>\n",
        if case.verdict == Verdict::Fail { " open" } else { "" },
        class(case.verdict),
        case.verdict.label(),
        esc(&case.id),
        esc(&case.title)
    ));
    let mut field = |name: &str, value: &str| {
        if !value.is_empty() {
            out.push_str(&format!("<dt>{name}</dt><dd>{}</dd>\n", esc(value)));
        }
    };
    if let Some(reason) = &case.baseline {
        field("Baseline", reason);
    }
    if let Some(cause) = &case.cause {
        field("What happened", cause);
    }
    field("Requirement", &case.requirement);
    field("Level", case.level.label());
    field("Why it matters", &case.rationale);
    field("Cite", &case.cite);
    field("Expected", &case.expected);
    field("Actual", &case.actual);
    field("Time", &format!("{} ms", case.duration_ms));
    if let Some(line) = super::figures_line(case) {
        field("Figures", &line);
    }
    out.push_str("</dl>\n");
    if !case.transcript.is_empty() {
        let lines: Vec<&str> = case.transcript.iter().map(String::as_str).collect();
        pre(out, &lines, Keep::Head, "transcript");
    }
    out.push_str("</div>\n</details>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::*;
    use callout_leaves::verdict::StderrTail;

    /// The text between `start` and the next `end` after it.
    fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
        let from = s
            .find(start)
            .unwrap_or_else(|| panic!("{start:?} in the page"))
            + start.len();
        let to = s[from..].find(end).expect("the end marker") + from;
        &s[from..to]
    }

    #[test]
    fn matrix_has_one_column_per_run_and_one_row_per_case() {
        let out = html(&report());
        let matrix = between(&out, "<table id=\"matrix\"", "</table>");
        let head = between(matrix, "<thead>", "</thead>");
        assert_eq!(head.matches("<th class=\"col\"").count(), 2, "{head}");
        assert!(head.contains(&format!("title=\"{REF}\"")), "{head}");
        assert!(head.contains(&format!("title=\"{MUTANT}\"")), "{head}");
        let body = between(matrix, "<tbody>", "</tbody>");
        let rows: Vec<&str> = body.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(rows.len(), 7);
        for row in &rows {
            // Id, title, level, then one verdict cell per run.
            assert_eq!(row.matches("<td").count(), 5, "{row}");
        }
        let perm3 = rows.iter().find(|r| r.contains(">e2e.perm.3<")).unwrap();
        assert!(perm3.contains("data-level=\"must\""), "{perm3}");
        assert!(perm3.contains("data-group=\"e2e.perm\""), "{perm3}");
        assert!(perm3.contains("<td class=\"level\">MUST</td>"), "{perm3}");
        assert!(
            perm3.contains("<td class=\"v v-fail\"><a href=\"#c0-r1\">FAIL</a></td>"),
            "{perm3}"
        );
        assert!(perm3.contains("<td class=\"v v-none\">—</td>"), "{perm3}");
        let known = rows.iter().find(|r| r.contains(">wire.resp.8<")).unwrap();
        assert!(known.contains("data-verdicts=\"known\""), "{known}");
        assert!(
            known.contains("<td class=\"v v-known\"><a href=\"#c0-r6\">KNOWN</a></td>"),
            "{known}"
        );
        let perm1 = rows.iter().find(|r| r.contains(">e2e.perm.1<")).unwrap();
        assert!(perm1.contains("data-verdicts=\"pass\""), "{perm1}");
        assert!(
            perm1.contains("<td class=\"v v-pass\">PASS</td>"),
            "{perm1}"
        );
    }

    #[test]
    fn totals_are_per_column_and_never_summed() {
        let out = html(&report());
        let foot = between(&out, "<tfoot>", "</tfoot>");
        let cells: Vec<&str> = foot.split("<td>").skip(1).collect();
        assert_eq!(cells.len(), 2, "one totals cell per column: {foot}");
        for v in VERDICT_ORDER {
            assert!(
                cells[0].contains(&format!("1 {}</span>", v.label())),
                "{v:?}: {}",
                cells[0]
            );
        }
        assert!(cells[1].contains("SETUP ERROR"), "{}", cells[1]);
        assert!(!cells[1].contains("PASS"), "{}", cells[1]);
        assert!(
            !foot.contains("2 "),
            "nothing is added across columns: {foot}"
        );
    }

    #[test]
    fn every_case_that_did_not_pass_has_a_details_block_with_expected_and_actual() {
        let report = report();
        let out = html(&report);
        let section = between(&out, "<h2>Cases that did not pass</h2>", "<h2>");
        assert_eq!(section.matches("<details class=\"case\"").count(), 6);
        assert!(
            section.contains("<dt>Baseline</dt><dd>resp lands in &lt;1.4&gt;</dd>"),
            "a KNOWN case shows the baseline's reason: {section}"
        );
        assert!(out.contains("<b class=\"mono\">ci/baseline.toml</b>: 1 known failure(s)"));
        assert!(out.contains("<li>e2e.perm.1 passes now; remove it from ci/baseline.toml</li>"));
        assert!(out.contains("<li>e2e.perm.4 no longer fails (NON-STRICT); remove it from [responder.mine] in ci/baseline.toml</li>"));
        assert!(!section.contains("e2e.perm.1<"), "a PASS has no block");
        for case in report.runs[0]
            .results
            .iter()
            .filter(|c| c.verdict != Verdict::Pass)
        {
            assert!(
                section.contains(&format!("<b class=\"mono\">{}</b>", case.id)),
                "{}",
                case.id
            );
        }
        let fail = between(
            section,
            "<details class=\"case\" id=\"c0-r1\" open>",
            "</details>",
        );
        assert!(
            fail.contains("<span class=\"badge v-fail\">FAIL</span>"),
            "{fail}"
        );
        assert!(fail.contains("<dt>Expected</dt><dd>-ERR &#39;Permissions Violation&#39; &amp; &lt;close&gt;</dd>"), "{fail}");
        assert!(
            fail.contains("<dt>Actual</dt><dd>message delivered\\u{1b}[31m\\u{0}</dd>"),
            "{fail}"
        );
        assert!(fail.contains("<dt>Level</dt><dd>MUST</dd>"), "{fail}");
        assert!(
            fail.contains("<dt>Why it matters</dt><dd>rationale of e2e.perm.3</dd>"),
            "{fail}"
        );
        assert!(
            fail.contains("<dt>Cite</dt><dd>protocol.md §1.7</dd>"),
            "{fail}"
        );
        assert!(
            fail.contains("<pre class=\"transcript\">CONNECT bob\nPUB test &quot;hi&quot; &lt;&amp;&gt;\n```</pre>"),
            "{fail}"
        );
        // Only failures start open.
        let nonstrict = between(section, "id=\"c0-r2\"", "</summary>");
        assert!(!nonstrict.starts_with(" open"), "{nonstrict}");
    }

    #[test]
    fn responder_output_is_escaped_everywhere() {
        let mut report = report();
        report.runs[1].stderr = vec![StderrTail {
            source: "seed.toml <b>".into(),
            text: "<script>document.title='pwned'</script>\n\"q\" & 'a'\n".into(),
        }];
        report.runs[1].command = "svc \"<img src=x onerror=alert(1)>\"".into();
        let out = html(&report);
        assert_eq!(
            out.matches("<script>").count(),
            1,
            "only the page's own script"
        );
        assert!(out.contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;\n&quot;q&quot; &amp; &#39;a&#39;"));
        assert!(out.contains("seed.toml &lt;b&gt;"));
        assert!(out.contains("<code>svc &quot;&lt;img src=x onerror=alert(1)&gt;&quot;</code>"));
        assert!(!out.contains("<img"));
        assert!(out.contains("nats-server did not start: &lt;timeout&gt; &amp; more"));
        // The requirement's quotes, escaped.
        assert!(out
            .contains("publish to &lt;test&gt; &amp; &quot;quote&quot; &#39;apos&#39; is denied"));
    }

    #[test]
    fn long_blocks_are_capped_with_a_note() {
        let mut report = report();
        let long: String = (1..=450).map(|i| format!("line {i}\n")).collect();
        report.runs[1].stderr = vec![StderrTail {
            source: "wire (plain)".into(),
            text: long,
        }];
        report.runs[0].results[1].transcript = (1..=300).map(|i| format!("step {i}")).collect();
        report.runs[0].results[1].transcript[0] = "x".repeat(LINE_CHARS + 5);
        let out = html(&report);
        let stderr = between(&out, "<pre class=\"stderr\">", "</pre>");
        assert_eq!(stderr.lines().count(), BLOCK_LINES);
        assert!(
            stderr.starts_with("line 251\n") && stderr.ends_with("line 450"),
            "the tail is kept"
        );
        assert!(out.contains("250 line(s) not shown"));
        let transcript = between(&out, "<pre class=\"transcript\">", "</pre>");
        assert_eq!(transcript.lines().count(), BLOCK_LINES);
        assert!(transcript.ends_with("step 200"), "the head is kept");
        assert!(transcript.contains("… 5 more character(s)"));
        assert!(out.contains("100 line(s) not shown"));
    }

    #[test]
    fn the_csp_allows_exactly_the_page_style_and_script() {
        let out = html(&report());
        let csp = between(&out, "Content-Security-Policy\" content=\"", "\"");
        assert!(csp.starts_with("default-src 'none';"), "{csp}");
        assert!(
            csp.contains(&csp_hash(STYLE)) && csp.contains(&csp_hash(SCRIPT)),
            "{csp}"
        );
        assert!(out.contains(&format!("<style>{STYLE}</style>")));
        assert!(out.contains(&format!("<script>{SCRIPT}</script>")));
        assert!(
            !out.contains("http://") && !out.contains("https://"),
            "no external resource"
        );
    }
}
