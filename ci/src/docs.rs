//! The documentation check (`cargo run -p ci -- docs`, and a stage of `test`): every relative
//! link and anchor in `README.md` and `docs/**/*.md` must resolve in the source tree, as GitHub
//! shows it; then the user guide is built as a book with mdBook when `mdbook` is installed
//! (`cargo install mdbook --locked` compiles for minutes, more than CI's budget allows, so CI
//! checks the links and builds the book only where mdbook already is).
//!
//! Anchors are GitHub's (and mdBook's) heading ids: the heading's text, lower-cased, without
//! punctuation, spaces as `-`, a repeated id suffixed `-1`, `-2`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

/// The Markdown files checked: README.md and every `.md` under docs/, sorted.
pub fn files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = vec![root.join("README.md")];
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Markdown text without fenced code blocks and inline code spans (both replaced by nothing,
/// line breaks kept so that line numbers hold).
fn prose(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fence: Option<&str> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(f) = fence {
            if trimmed.starts_with(f) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
            continue;
        }
        // Inline code spans: drop what is between backtick runs.
        let mut kept = String::new();
        let mut in_code = false;
        for part in line.split('`') {
            if !in_code {
                kept.push_str(part);
            }
            in_code = !in_code;
        }
        out.push((i + 1, kept));
    }
    out
}

/// The link targets of a Markdown text with their line numbers: inline links and images
/// `[text](target "title")` and reference definitions `[label]: target`.
pub fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in prose(text) {
        let t = line.trim_start();
        if let Some(inner) = t.strip_prefix('[') {
            if let Some((label, rest)) = inner.split_once("]:") {
                if !label.contains(']') {
                    if let Some(target) = rest.split_whitespace().next() {
                        out.push((n, target.to_string()));
                    }
                    continue;
                }
            }
        }
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            let target = after[..end].split_whitespace().next().unwrap_or("");
            let target = target.trim_start_matches('<').trim_end_matches('>');
            if !target.is_empty() {
                out.push((n, target.to_string()));
            }
            rest = &after[end.min(after.len())..];
        }
    }
    out
}

/// The heading ids of a Markdown text, as GitHub and mdBook make them, plus explicit
/// `<a id="…">` / `<a name="…">` anchors.
pub fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut out = BTreeSet::new();
    let mut fence = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            fence = !fence;
            continue;
        }
        if fence {
            continue;
        }
        for key in ["<a id=\"", "<a name=\""] {
            let mut rest = line;
            while let Some(at) = rest.find(key) {
                let after = &rest[at + key.len()..];
                if let Some(end) = after.find('"') {
                    out.insert(after[..end].to_string());
                }
                rest = &after[after.len().min(1)..];
            }
        }
        let hashes = t.chars().take_while(|c| *c == '#').count();
        if hashes == 0 || hashes > 6 || !t[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(t[hashes..].trim());
        let mut id = base.clone();
        let mut n = 0;
        while !seen.insert(id.clone()) {
            n += 1;
            id = format!("{base}-{n}");
        }
        out.insert(id);
    }
    out
}

/// GitHub's id of a heading: link targets dropped (their text kept), lower case, every
/// character that is not a letter, digit, `_`, `-` or space dropped, spaces as `-`.
pub fn slug(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading;
    while let Some(at) = rest.find("](") {
        text.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        rest = after.find(')').map_or("", |e| &after[e + 1..]);
    }
    text.push_str(rest);
    text.to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every broken relative link or anchor of `files`, as `FILE:LINE: message`, paths relative
/// to `root`.
pub fn check(root: &Path, files: &[PathBuf]) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
    for file in files {
        let text = std::fs::read_to_string(file).with_context(|| rel(file))?;
        for (line, target) in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let resolved = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap_or(root).join(path)
            };
            if !resolved.exists() {
                problems.push(format!(
                    "{}:{line}: broken link {target}: {} does not exist",
                    rel(file),
                    rel(&normalize(&resolved))
                ));
                continue;
            }
            if let Some(anchor) = anchor {
                if resolved.extension().is_some_and(|e| e == "md") {
                    let target_text = std::fs::read_to_string(&resolved)?;
                    if !anchors(&target_text).contains(anchor) {
                        problems.push(format!(
                            "{}:{line}: broken link {target}: {} has no heading with the id #{anchor}",
                            rel(file),
                            rel(&normalize(&resolved))
                        ));
                    }
                }
            }
        }
    }
    Ok(problems)
}

/// `a/b/../c` as `a/c`, for messages.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// The `docs` task and CI stage: the link check, then `mdbook build docs` into
/// `target/book` when mdbook is on PATH. False, with every problem printed, when a link is
/// broken or the book does not build.
pub fn stage(sh: &Shell) -> Result<bool> {
    let root = sh.current_dir().canonicalize()?;
    let files = files(&root)?;
    let problems = check(&root, &files)?;
    for p in &problems {
        println!("docs: {p}");
    }
    println!(
        "docs: {} Markdown files, {} broken link(s)",
        files.len(),
        problems.len()
    );
    let mut ok = problems.is_empty();
    if cmd!(sh, "mdbook --version")
        .quiet()
        .ignore_stderr()
        .read()
        .is_ok()
    {
        let out = root.join("target/book");
        if cmd!(sh, "mdbook build docs --dest-dir {out}")
            .run()
            .is_err()
        {
            println!("docs: mdbook build docs failed");
            ok = false;
        } else {
            println!("docs: the book is in {}", out.display());
        }
    } else {
        println!("docs: mdbook is not installed, so the book was not built (cargo install mdbook --locked)");
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_githubs() {
        assert_eq!(
            slug("Judging a responder that does not read users.json (profiles)"),
            "judging-a-responder-that-does-not-read-usersjson-profiles"
        );
        assert_eq!(
            slug("This repository: `.github/workflows/ci.yml`"),
            "this-repository-githubworkflowsciyml"
        );
        assert_eq!(slug("See [the guide](docs/x.md) now"), "see-the-guide-now");
        let a = anchors("# A\n## A\n```\n# not a heading\n```\n<a id=\"x-y\"></a>\n#nospace\n");
        assert_eq!(a, BTreeSet::from(["a".into(), "a-1".into(), "x-y".into()]));
    }

    #[test]
    fn links_skip_code_and_find_references() {
        let text = "see [a](b.md#c) and `[no](code.md)`\n```\n[no](fenced.md)\n```\n[ref]: d/e.md\n![img](f.svg \"title\")\n";
        let found: Vec<String> = links(text).into_iter().map(|(_, t)| t).collect();
        assert_eq!(found, vec!["b.md#c", "d/e.md", "f.svg"]);
    }

    #[test]
    fn check_reports_missing_files_and_anchors() {
        let dir = std::env::temp_dir().join(format!("ci-docs-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("docs")).unwrap();
        std::fs::write(dir.join("docs/t.md"), "# Title\n## Sub part\n").unwrap();
        std::fs::write(
            dir.join("README.md"),
            "[ok](docs/t.md#sub-part) [self](#top) [gone](docs/none.md) [bad](docs/t.md#nope)\n# Top\n",
        )
        .unwrap();
        let files = files(&dir).unwrap();
        let problems = check(&dir, &files).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with("README.md:1: broken link docs/none.md"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("has no heading with the id #nope"),
            "{problems:?}"
        );
    }
}
