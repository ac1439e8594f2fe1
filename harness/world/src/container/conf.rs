//! containers.conf: the settings Podman needs on this host (runtime runc, modest default
//! ulimits), checked and, when missing, written or edited in place with a backup.

use std::path::Path;

use super::container_err;
use crate::server::ServerError;

/// The settings `environment.md` requires (crun fails on this host's hybrid cgroups, and
/// Podman's default rlimits are above what the host permits).
const ULIMITS: [&str; 2] = ["nofile=1024:1024", "nproc=1000:1000"];
const CONTAINERS_CONF_TEXT: &str = "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1000:1000\"]\n\n[engine]\nruntime = \"runc\"\n";

/// Makes sure `path` selects runtime `runc` and has `nofile`/`nproc` default ulimits. Writes the
/// file only when it is missing or lacks those settings; an existing file is then edited in
/// place (only those two keys are set, everything else kept) after a backup to
/// `containers.conf.callout-bak`.
pub(super) fn ensure_containers_conf(path: &Path) -> Result<(), ServerError> {
    let existing = match std::fs::read_to_string(path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(container_err(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    let Some(new_text) = fixed_containers_conf(existing.as_deref())
        .map_err(|e| container_err(format!("{}: {e}", path.display())))?
    else {
        return Ok(());
    };
    let hint = "run ci/install-podman.sh as root, or write it as environment.md says";
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| container_err(format!("cannot create {}: {e}; {hint}", dir.display())))?;
    }
    if existing.is_some() {
        let backup = path.with_extension("conf.callout-bak");
        std::fs::copy(path, &backup).map_err(|e| {
            container_err(format!(
                "cannot back up {} to {}: {e}; {hint}",
                path.display(),
                backup.display()
            ))
        })?;
    }
    let tmp = path.with_extension(format!("conf.tmp-{}", std::process::id()));
    std::fs::write(&tmp, &new_text)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            container_err(format!("cannot write {}: {e}; {hint}", path.display()))
        })?;
    tracing::info!(path = %path.display(), "configured podman: runtime runc, default ulimits");
    Ok(())
}

/// Whether a containers.conf text already has the required settings.
fn containers_conf_ok(text: &str) -> Result<bool, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| format!("not valid TOML: {e}"))?;
    let runtime_ok = table
        .get("engine")
        .and_then(|e| e.get("runtime"))
        .and_then(|r| r.as_str())
        .is_some_and(|r| r == "runc");
    let ulimits: Vec<&str> = table
        .get("containers")
        .and_then(|c| c.get("default_ulimits"))
        .and_then(|u| u.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let ulimits_ok = ["nofile=", "nproc="]
        .iter()
        .all(|k| ulimits.iter().any(|u| u.trim().starts_with(k)));
    Ok(runtime_ok && ulimits_ok)
}

/// The text to write, or `None` when `existing` is fine as it is.
fn fixed_containers_conf(existing: Option<&str>) -> Result<Option<String>, String> {
    let Some(text) = existing else {
        return Ok(Some(CONTAINERS_CONF_TEXT.to_string()));
    };
    if containers_conf_ok(text)? {
        return Ok(None);
    }
    let ulimits: Vec<String> = ULIMITS.iter().map(|u| format!("\"{u}\"")).collect();
    let text = set_toml_key(
        text,
        "containers",
        "default_ulimits",
        &format!("default_ulimits = [{}]", ulimits.join(", ")),
    );
    let text = set_toml_key(&text, "engine", "runtime", "runtime = \"runc\"");
    match containers_conf_ok(&text) {
        Ok(true) => Ok(Some(text)),
        _ => Err("cannot add runtime/default_ulimits to it automatically; fix it by hand as environment.md says".into()),
    }
}

/// The table name of a `[table]` header line (not `[[array]]`), ignoring a trailing comment.
fn table_header(line: &str) -> Option<String> {
    let t = line.split('#').next().unwrap_or("").trim();
    if t.starts_with("[[") || !t.starts_with('[') || !t.ends_with(']') {
        return None;
    }
    Some(t[1..t.len() - 1].trim().trim_matches('"').to_string())
}

/// Replaces `key` in `[section]` (or adds it, or adds the section) with `line`. A multi-line
/// array value of the old key is removed as a whole.
fn set_toml_key(text: &str, section: &str, key: &str, line: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let Some(header) = lines
        .iter()
        .position(|l| table_header(l).as_deref() == Some(section))
    else {
        let mut out = text.trim_end().to_string();
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(&format!("[{section}]\n{line}\n"));
        return out;
    };
    let mut i = header + 1;
    while i < lines.len()
        && table_header(&lines[i]).is_none()
        && !lines[i].trim_start().starts_with("[[")
    {
        let t = lines[i].trim_start();
        let is_key = t
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='));
        if is_key {
            let mut depth: i32 = 0;
            loop {
                let l = lines.remove(i);
                let code = l.split('#').next().unwrap_or("");
                depth += code.matches('[').count() as i32 - code.matches(']').count() as i32;
                if depth <= 0 || i >= lines.len() {
                    break;
                }
            }
            continue;
        }
        i += 1;
    }
    lines.insert(header + 1, line.to_string());
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_containers_conf_gets_the_documented_text() {
        let text = fixed_containers_conf(None).unwrap().unwrap();
        assert!(containers_conf_ok(&text).unwrap());
        assert!(text.contains("runtime = \"runc\""));
    }

    #[test]
    fn a_good_containers_conf_is_left_alone() {
        let good = "# site config\n[containers]\nlog_driver = \"k8s-file\"\ndefault_ulimits = [\n  \"nofile=4096:4096\",\n  \"nproc=2000:2000\",\n]\n[engine]\nruntime = \"runc\"\nevents_logger = \"file\"\n";
        assert_eq!(fixed_containers_conf(Some(good)).unwrap(), None);
    }

    #[test]
    fn a_containers_conf_lacking_the_keys_is_edited_in_place() {
        let old = "# keep me\n[containers]\nlog_driver = \"k8s-file\"\ndefault_ulimits = [\n  \"core=0:0\",\n]\n\n[engine]\nruntime = \"crun\" # fast\nevents_logger = \"file\"\n\n[network]\nnetwork_backend = \"netavark\"\n";
        let new = fixed_containers_conf(Some(old)).unwrap().unwrap();
        assert!(containers_conf_ok(&new).unwrap(), "{new}");
        for kept in [
            "# keep me",
            "log_driver = \"k8s-file\"",
            "events_logger = \"file\"",
            "network_backend = \"netavark\"",
        ] {
            assert!(new.contains(kept), "{kept} lost:\n{new}");
        }
        assert!(!new.contains("crun") && !new.contains("core=0:0"), "{new}");
        let only_engine = "[engine]\nevents_logger = \"file\"\n";
        let new = fixed_containers_conf(Some(only_engine)).unwrap().unwrap();
        assert!(containers_conf_ok(&new).unwrap(), "{new}");
        assert!(new.contains("events_logger"), "{new}");
    }

    #[test]
    fn an_unparseable_containers_conf_is_not_touched() {
        assert!(fixed_containers_conf(Some("[engine\nruntime = ")).is_err());
    }
}
