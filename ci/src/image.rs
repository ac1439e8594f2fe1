//! The container images of the harness (`Containerfile`), built `FROM scratch` because no base
//! image can be pulled here: this module assembles their root file system from the host's own
//! files (the two binaries, the shared libraries `ldd` lists for them, the dynamic loader and
//! the cached nats-server binaries), runs `podman build`, and smoke-tests the result. The
//! second image ([`Flavor::Runtimes`]) adds Debian's Python, Node.js and a shell, unpacked from
//! Debian packages into the same root file system, so that an interpreted responder runs in it.

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

/// Which image: the harness alone, or the harness with language runtimes for responders.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Flavor {
    /// The harness, the reference responder, their libraries and the servers; no shell.
    Scratch,
    /// The same plus `/bin/sh` (dash), `python3` (with pip, and PyNaCl, which nkeys.py needs)
    /// and `node` from Debian 12's packages ([`RUNTIME_PACKAGES`]), tagged `VERSION-runtimes`.
    Runtimes,
}

/// The Debian packages of the runtimes image, with their dependencies. `ca-certificates`
/// gives Node and Python a CA bundle (Debian's Node warns at every start without one).
pub const RUNTIME_PACKAGES: &[&str] = &[
    "dash",
    "python3",
    "python3-pip",
    "python3-nacl",
    "nodejs",
    "ca-certificates",
];

/// `NAME:version`, or `NAME:version-runtimes`.
pub fn tag(flavor: Flavor) -> String {
    match flavor {
        Flavor::Scratch => format!("{NAME}:{}", env!("CARGO_PKG_VERSION")),
        Flavor::Runtimes => format!("{NAME}:{}-runtimes", env!("CARGO_PKG_VERSION")),
    }
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
/// the servers of `versions` (and, for [`Flavor::Runtimes`], Debian's runtimes), then runs
/// `podman build` unless `rootfs_only`. Returns the build context directory (`target/image`,
/// or `target/image-runtimes`). A version missing from the cache is provisioned by running the
/// seed case on it with the harness, which downloads it as every run does.
pub fn build(
    sh: &Shell,
    bin_dir: &Path,
    versions: &[&str],
    rootfs_only: bool,
    flavor: Flavor,
) -> Result<PathBuf> {
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
        .join(match flavor {
            Flavor::Scratch => "image",
            Flavor::Runtimes => "image-runtimes",
        });
    let rootfs = context.join("rootfs");
    if rootfs.exists() {
        std::fs::remove_dir_all(&rootfs)
            .with_context(|| format!("removing {}", rootfs.display()))?;
    }
    std::fs::create_dir_all(&rootfs)?;
    if flavor == Flavor::Runtimes {
        debian_runtimes(sh, &context, &rootfs)?;
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
        if flavor == Flavor::Runtimes && to.exists() {
            // Debian 12's own copy, from its packages (the host is Debian 12 too).
            continue;
        }
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
            tag(flavor),
            context.display()
        );
        return Ok(context);
    }
    let tag = tag(flavor);
    let version = env!("CARGO_PKG_VERSION");
    // No intermediate images (`--layers=false`), and no old image left dangling behind the tag.
    remove(sh, flavor);
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

/// Unpacks [`RUNTIME_PACKAGES`] and their dependencies into `rootfs` as Debian 12 lays them out
/// (merged `/usr`). apt resolves the packages against an empty package status, so it downloads
/// the whole closure (into `CONTEXT/debs`, kept between builds); each one is unpacked
/// without running maintainer scripts, so what those would make is made here: the CA bundle.
/// Documentation, manuals and translations are left out.
fn debian_runtimes(sh: &Shell, context: &Path, rootfs: &Path) -> Result<()> {
    let debs = context.join("debs");
    std::fs::create_dir_all(debs.join("partial"))?;
    let status = context.join("dpkg-status-empty");
    std::fs::write(&status, "")?;
    let status_opt = format!("Dir::State::status={}", status.display());
    let cache_opt = format!("Dir::Cache::archives={}", debs.display());
    let packages = RUNTIME_PACKAGES;
    let download = || {
        cmd!(
            sh,
            "apt-get -q -o {status_opt} -o {cache_opt} -o Debug::NoLocking=1 --download-only --no-install-recommends -y install {packages...}"
        )
        .quiet()
        .ignore_stdout()
        .run()
    };
    if download().is_err() {
        // The package lists are missing or stale: refresh them once.
        cmd!(sh, "apt-get update -qq")
            .run()
            .context("apt-get update (the runtimes image needs Debian's package lists)")?;
        download().context("downloading the runtimes' Debian packages with apt-get")?;
    }
    for dir in ["bin", "sbin", "lib", "lib64"] {
        std::fs::create_dir_all(rootfs.join("usr").join(dir))?;
        std::os::unix::fs::symlink(format!("usr/{dir}"), rootfs.join(dir))?;
    }
    let mut count = 0;
    for entry in std::fs::read_dir(&debs)? {
        let deb = entry?.path();
        if deb.extension().is_some_and(|e| e == "deb") {
            // Not `dpkg -x`: its tar replaces the merged-/usr links with directories.
            let script =
                r#"dpkg-deb --fsys-tarfile "$1" | tar -x --keep-directory-symlink -C "$2""#;
            cmd!(sh, "sh -c {script} unpack {deb} {rootfs}")
                .quiet()
                .run()?;
            count += 1;
        }
    }
    for dir in [
        "usr/share/doc",
        "usr/share/man",
        "usr/share/info",
        "usr/share/locale",
        "usr/share/lintian",
    ] {
        let _ = std::fs::remove_dir_all(rootfs.join(dir));
    }
    // What update-ca-certificates would write.
    let mut bundle = String::new();
    let mozilla = rootfs.join("usr/share/ca-certificates/mozilla");
    let mut certs: Vec<PathBuf> = std::fs::read_dir(&mozilla)
        .with_context(|| format!("{}: ca-certificates unpacked nothing", mozilla.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    certs.sort();
    for c in certs {
        bundle.push_str(&std::fs::read_to_string(&c)?);
    }
    std::fs::create_dir_all(rootfs.join("etc/ssl/certs"))?;
    std::fs::write(rootfs.join("etc/ssl/certs/ca-certificates.crt"), bundle)?;
    for (cmd, want) in [
        ("usr/bin/sh", "dash"),
        ("usr/bin/python3", "python3"),
        ("usr/bin/node", "node"),
    ] {
        if std::fs::symlink_metadata(rootfs.join(cmd)).is_err() {
            bail!("the runtimes image has no /{cmd} ({want}) after unpacking {count} packages");
        }
    }
    println!(
        "image: unpacked {count} Debian packages ({})",
        packages.join(", ")
    );
    Ok(())
}

/// A Node program that starts the command it is given and waits for it: the smoke test runs
/// the reference responder under it, so that the harness starts, probes and stops a responder
/// whose process is Node's, as it would a Node responder.
const RELAY_JS: &str = "const { spawnSync } = require('child_process');\n\
const [cmd, ...args] = process.argv.slice(2);\n\
process.exit(spawnSync(cmd, args, { stdio: 'inherit' }).status ?? 1);\n";

/// The image's smoke test: `--version` names the same tool and catalog as `host_harness`, and
/// `run --strict e2e.seed` passes inside the container (reference responder and nats-server
/// as processes there), as does the same case with the host's responder binary mounted and
/// named by `--responder-cmd`. For [`Flavor::Runtimes`], `sh`, `python3` and `node` run, the
/// seed passes with the example Python responder (`examples/python-responder`, mounted) and
/// with the reference responder started by a Node program.
pub fn smoke(
    sh: &Shell,
    host_harness: &Path,
    host_responder: &Path,
    flavor: Flavor,
) -> Result<bool> {
    let tag = tag(flavor);
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
    let flags = "-nats.url {url} -nats.user {user} -nats.pass {pass} \
                 -issuer.seed {issuer_seed} -xkey.seed {xkey_seed} -users {users}";
    let mount = format!("{}:/mnt/responder:ro", host_responder.display());
    let template = format!("mounted=/mnt/responder {flags}");
    let mounted = cmd!(
        sh,
        "podman run --rm --network host -v {mount} {tag} run --strict --no-color --responder-cmd {template} e2e.seed"
    )
    .run();
    if mounted.is_err() {
        println!("image: run --responder-cmd with a mounted responder failed in the container");
        return Ok(false);
    }
    if flavor == Flavor::Scratch {
        return Ok(true);
    }
    let script =
        "python3 --version && node --version && python3 -c 'import nacl.signing, ssl, json'";
    let versions = cmd!(sh, "podman run --rm --entrypoint sh {tag} -c {script}").read();
    match versions {
        Ok(v) => println!("image: {}", v.replace('\n', ", ")),
        Err(e) => {
            println!("image: sh, python3 or node does not run in {tag}: {e}");
            return Ok(false);
        }
    }
    let relays = std::env::temp_dir().join(format!("callout-relays-{}", std::process::id()));
    std::fs::create_dir_all(&relays)?;
    std::fs::write(relays.join("relay.js"), RELAY_JS)?;
    let python = sh.current_dir().join("examples/python-responder");
    let runs = [
        (
            format!("{}:/mnt/python-responder:ro", python.display()),
            format!("py=python3 /mnt/python-responder/service.py {flags}"),
            "the example Python responder",
        ),
        (
            format!("{}:/mnt/relays:ro", relays.display()),
            format!("js=node /mnt/relays/relay.js /usr/local/bin/callout-responder {flags}"),
            "the reference responder started by node",
        ),
    ];
    let mut ok = true;
    for (mount, template, what) in runs {
        if cmd!(
            sh,
            "podman run --rm --network host -v {mount} {tag} run --strict --no-color --responder-cmd {template} e2e.seed"
        )
        .run()
        .is_err()
        {
            println!("image: {what} failed the seed in {tag}");
            ok = false;
        }
    }
    let _ = std::fs::remove_dir_all(&relays);
    Ok(ok)
}

/// The `container image` stage of `cargo run -p ci -- test`: [`build`] from the binaries in
/// `bin_dir` with the servers of `versions`, [`smoke`], then the image is removed. False, with
/// the reason printed, when any step fails.
pub fn ci_stage(sh: &Shell, bin_dir: &Path, versions: &[&str], flavor: Flavor) -> bool {
    let checked = build(sh, bin_dir, versions, false, flavor).and_then(|_| {
        smoke(
            sh,
            &bin_dir.join("callout-conformance"),
            &bin_dir.join("callout-responder"),
            flavor,
        )
    });
    remove(sh, flavor);
    checked.unwrap_or_else(|e| {
        println!("ci: container image: {e:#}");
        false
    })
}

/// Removes the image `build` tagged.
pub fn remove(sh: &Shell, flavor: Flavor) {
    let tag = tag(flavor);
    let _ = cmd!(sh, "podman rmi {tag}").quiet().ignore_status().run();
}
