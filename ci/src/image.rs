//! The container image of the harness (`Containerfile`), built `FROM scratch` because no base
//! image can be pulled here: this module assembles its root file system from the host's own
//! files (the two binaries, the shared libraries `ldd` lists for them, the dynamic loader and
//! the cached nats-server binaries), runs `podman build`, and smoke-tests the result.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

/// The image's name; the tag is the workspace version.
pub const NAME: &str = "localhost/callout-conformance";

/// Where the harness looks for its servers inside the image (`CALLOUT_CACHE_DIR`, read by
/// `harness/src/provision.rs cache_dir`); the `Containerfile` sets the same path.
const IMAGE_CACHE: &str = "opt/callout-conformance/cache";

/// `NAME:version`.
pub fn tag() -> String {
    format!("{NAME}:{}", env!("CARGO_PKG_VERSION"))
}

/// The harness's server cache on this machine, resolved as `provision::cache_dir` does
/// (this crate does not link the harness, to keep its build small).
fn host_cache() -> PathBuf {
    if let Some(d) = std::env::var_os("CALLOUT_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("callout-conformance")
}

/// Assembles `CONTEXT/rootfs` from the binaries in `bin_dir` (a cargo profile directory) and
/// the servers of `versions`, then runs `podman build` unless `rootfs_only`. Returns the build
/// context directory. A version missing from the cache is provisioned by running the seed
/// case on it with the harness, which downloads it as every run does.
pub fn build(sh: &Shell, bin_dir: &Path, versions: &[&str], rootfs_only: bool) -> Result<PathBuf> {
    let harness = bin_dir.join("callout-conformance");
    let responder = bin_dir.join("callout-responder");
    for b in [&harness, &responder] {
        if !b.is_file() {
            bail!(
                "{} is missing: build it first (cargo build -p callout-conformance -p callout-responder --bins)",
                b.display()
            );
        }
    }
    let cache = host_cache();
    for v in versions {
        if !cache
            .join("nats-server")
            .join(v)
            .join("nats-server")
            .is_file()
        {
            println!(
                "image: nats-server {v} is not in {}; provisioning it",
                cache.display()
            );
            let ok = Command::new(&harness)
                .args(["run", "--no-color", "--server-version", v, "e2e.seed"])
                .status()?
                .success();
            if !ok {
                bail!(
                    "could not provision nats-server {v} into {}",
                    cache.display()
                );
            }
        }
    }

    let context = bin_dir
        .parent()
        .context("the profile directory has no parent")?
        .join("image");
    let rootfs = context.join("rootfs");
    if rootfs.exists() {
        std::fs::remove_dir_all(&rootfs)
            .with_context(|| format!("removing {}", rootfs.display()))?;
    }
    let bin = rootfs.join("usr/local/bin");
    std::fs::create_dir_all(&bin)?;
    // Debug info is most of a binary's size; symbols stay for backtraces.
    for b in [&harness, &responder] {
        let out = bin.join(b.file_name().context("binary name")?);
        cmd!(sh, "strip --strip-debug -o {out} {b}").run()?;
    }
    for lib in shared_libraries(sh, &[&harness, &responder])? {
        let to = rootfs.join(lib.strip_prefix("/")?);
        std::fs::create_dir_all(to.parent().context("library path")?)?;
        // The real file under the name the loader asks for, not the host's symlink.
        std::fs::copy(&lib, &to).with_context(|| format!("copying {}", lib.display()))?;
    }
    for v in versions {
        let from = cache.join("nats-server").join(v).join("nats-server");
        let dir = rootfs.join(IMAGE_CACHE).join("nats-server").join(v);
        std::fs::create_dir_all(&dir)?;
        let to = dir.join("nats-server");
        if std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
        }
    }
    for (dir, mode) in [("tmp", 0o1777), ("work", 0o1777), ("etc", 0o755)] {
        let d = rootfs.join(dir);
        std::fs::create_dir_all(&d)?;
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode))?;
    }
    std::fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/nonexistent\nnobody:x:65534:65534:nobody:/nonexistent:/nonexistent\n",
    )?;
    std::fs::write(rootfs.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")?;

    let containerfile = sh.current_dir().join("Containerfile");
    if rootfs_only {
        println!(
            "image: root file system in {}; build it with\n  podman build -f {} -t {} {}\n  (or docker build with the same arguments)",
            rootfs.display(),
            containerfile.display(),
            tag(),
            context.display()
        );
        return Ok(context);
    }
    let tag = tag();
    let version = env!("CARGO_PKG_VERSION");
    // No intermediate images (`--layers=false`), and no old image left dangling behind the tag.
    remove(sh);
    cmd!(
        sh,
        "podman build --quiet --layers=false --build-arg VERSION={version} -f {containerfile} -t {tag} {context}"
    )
    .run()
    .context("podman build")?;
    // The image holds it now; the servers are hard links, the binaries are not.
    std::fs::remove_dir_all(&rootfs)?;
    let format = "{{.Size}}";
    let size = cmd!(sh, "podman image inspect --format {format} {tag}")
        .quiet()
        .read()
        .unwrap_or_default();
    println!(
        "image: built {tag}, {} MB",
        size.parse::<u64>().unwrap_or(0) / 1_000_000
    );
    Ok(context)
}

/// Every shared object `ldd` lists for `bins`, the dynamic loader included, as absolute paths
/// (the vDSO, which the kernel provides, has none).
fn shared_libraries(sh: &Shell, bins: &[&Path]) -> Result<Vec<PathBuf>> {
    let mut libs = Vec::new();
    for b in bins {
        let out = cmd!(sh, "ldd {b}").quiet().read()?;
        for line in out.lines() {
            let path = match line.split_once("=>") {
                Some((_, rest)) => rest.split_whitespace().next(),
                None => line.split_whitespace().next(),
            };
            if let Some(p) = path.filter(|p| p.starts_with('/')) {
                let p = PathBuf::from(p);
                if !libs.contains(&p) {
                    libs.push(p);
                }
            }
        }
    }
    if libs.is_empty() {
        bail!("ldd listed no libraries: are the binaries static? then this step is not needed");
    }
    Ok(libs)
}

/// The image's smoke test: `--version` names the same tool and catalog as `host_harness`, and
/// `run --strict e2e.seed` passes inside the container (reference responder and nats-server
/// as processes there), as does the same case with the host's responder binary mounted and
/// named by `--responder-cmd`.
pub fn smoke(sh: &Shell, host_harness: &Path, host_responder: &Path) -> Result<bool> {
    let tag = tag();
    let inside = cmd!(sh, "podman run --rm {tag} --version").read()?;
    let host = cmd!(sh, "{host_harness} --version").quiet().read()?;
    println!("{inside}");
    if inside != host {
        println!("image: --version in the image is `{inside}`, the host binary says `{host}`");
        return Ok(false);
    }
    let seed = cmd!(
        sh,
        "podman run --rm --network host {tag} run --strict --no-color e2e.seed"
    )
    .run();
    if seed.is_err() {
        println!("image: run --strict e2e.seed failed in the container");
        return Ok(false);
    }
    let mount = format!("{}:/mnt/responder:ro", host_responder.display());
    let template = "mounted=/mnt/responder -nats.url {url} -nats.user {user} -nats.pass {pass} \
                    -issuer.seed {issuer_seed} -xkey.seed {xkey_seed} -users {users}";
    let mounted = cmd!(
        sh,
        "podman run --rm --network host -v {mount} {tag} run --strict --no-color --responder-cmd {template} e2e.seed"
    )
    .run();
    if mounted.is_err() {
        println!("image: run --responder-cmd with a mounted responder failed in the container");
        return Ok(false);
    }
    Ok(true)
}

/// The `container image` stage of `cargo run -p ci -- test`: [`build`] from the binaries in
/// `bin_dir` with the servers of `versions`, [`smoke`], then the image is removed. False, with
/// the reason printed, when any step fails.
pub fn ci_stage(sh: &Shell, bin_dir: &Path, versions: &[&str]) -> bool {
    let checked = build(sh, bin_dir, versions, false).and_then(|_| {
        smoke(
            sh,
            &bin_dir.join("callout-conformance"),
            &bin_dir.join("callout-responder"),
        )
    });
    remove(sh);
    checked.unwrap_or_else(|e| {
        println!("ci: container image: {e:#}");
        false
    })
}

/// Removes the image `build` tagged.
pub fn remove(sh: &Shell) {
    let tag = tag();
    let _ = cmd!(sh, "podman rmi {tag}").quiet().ignore_status().run();
}
