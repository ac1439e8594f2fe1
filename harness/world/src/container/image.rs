//! The image: `localhost/nats-server:<version>`, built from the provisioned static binary as a
//! one-file tar (`podman import` / `docker import`), since no registry is reachable.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::engine::image_cli;
use super::{container_err, once_across_processes, Cli, IMAGE_REPO};
use crate::provision::ServerBinary;
use crate::server::{scratch_dir, ServerError};

/// The image name for a server version: `localhost/nats-server:<version>` (characters a tag
/// cannot hold become `_`).
pub fn image_name(version: &str) -> String {
    let tag: String = version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{IMAGE_REPO}:{tag}")
}

/// Makes sure the image `localhost/nats-server:<bin.version>` exists in the engine and returns
/// its name. No registry is reachable, so when missing it is built from `bin.path`: a tar
/// holding only `nats-server` (mode 755), then
/// `podman import --change 'ENTRYPOINT ["/nats-server"]' nats.tar <name>` (or `docker import`
/// with a Docker engine). The CLI is the one matching the engine [`ensure_engine`](super::ensure_engine) chose; before
/// that, podman when installed, else docker.
pub fn ensure_image(bin: &ServerBinary) -> Result<String, ServerError> {
    let name = image_name(&bin.version);
    let cli = image_cli()?;
    if image_exists(cli, &name) {
        return Ok(name);
    }
    // One import per image even when test processes race (a lost race would leave a dangling
    // image behind).
    let tag = name.rsplit(':').next().unwrap_or("latest");
    let lock = std::env::temp_dir().join(format!("callout-conformance-image-{tag}.lock"));
    once_across_processes(
        &lock,
        Duration::from_secs(120),
        || image_exists(cli, &name),
        || {
            let dir = scratch_dir("image")
                .map_err(|e| container_err(format!("cannot create a scratch directory: {e}")))?;
            let result = import_image(cli, bin, &name, &dir);
            let _ = std::fs::remove_dir_all(&dir);
            result
        },
    )?;
    Ok(name)
}

fn image_exists(cli: Cli, name: &str) -> bool {
    let mut cmd = Command::new(cli.program());
    match cli {
        Cli::Podman => cmd.args(["image", "exists", name]),
        Cli::Docker => cmd.args(["image", "inspect", name]),
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn import_image(cli: Cli, bin: &ServerBinary, name: &str, dir: &Path) -> Result<(), ServerError> {
    let tar = dir.join("nats.tar");
    write_single_file_tar(&bin.path, "nats-server", &tar).map_err(|e| {
        container_err(format!(
            "cannot write {} from {}: {e}",
            tar.display(),
            bin.path.display()
        ))
    })?;
    let out = Command::new(cli.program())
        .args(["import", "--change", r#"ENTRYPOINT ["/nats-server"]"#])
        .arg(&tar)
        .arg(name)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| container_err(format!("cannot run {} import: {e}", cli.program())))?;
    if !out.status.success() {
        return Err(container_err(format!(
            "`{} import` of {} as {name} failed ({}): {}",
            cli.program(),
            bin.path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    tracing::info!(image = name, binary = %bin.path.display(), "built the nats-server image");
    Ok(())
}

/// Writes a POSIX ustar archive holding the single regular file `name` (mode 755, owner 0,
/// mtime 0) with the contents of `src`.
fn write_single_file_tar(src: &Path, name: &str, out: &Path) -> std::io::Result<()> {
    let mut input = std::fs::File::open(src)?;
    let size = input.metadata()?.len();
    if name.len() >= 100 || size >= 0o77777777777 {
        return Err(std::io::Error::other(
            "name or size does not fit a ustar header",
        ));
    }
    let mut header = [0u8; 512];
    let mut put = |at: usize, bytes: &[u8]| header[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, name.as_bytes());
    put(100, b"0000755\0");
    put(108, b"0000000\0");
    put(116, b"0000000\0");
    put(124, format!("{size:011o}\0").as_bytes());
    put(136, b"00000000000\0");
    put(148, b"        ");
    put(156, b"0");
    put(257, b"ustar\0");
    put(263, b"00");
    put(265, b"root");
    put(297, b"root");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
    w.write_all(&header)?;
    let copied = std::io::copy(&mut input, &mut w)?;
    if copied != size {
        return Err(std::io::Error::other(format!(
            "{} changed while being archived",
            src.display()
        )));
    }
    let pad = (512 - (size % 512) as usize) % 512;
    w.write_all(&vec![0u8; pad + 1024])?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_use_the_version_as_tag() {
        assert_eq!(image_name("2.15.1"), "localhost/nats-server:2.15.1");
        assert_eq!(
            image_name("2.15.1+build/x"),
            "localhost/nats-server:2.15.1_build_x"
        );
    }

    #[test]
    fn the_tar_holds_exactly_one_executable_file() {
        let dir = scratch_dir("tar-test").unwrap();
        let src = dir.join("some-binary");
        let body: Vec<u8> = (0..1300u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src, &body).unwrap();
        let tar = dir.join("x.tar");
        write_single_file_tar(&src, "nats-server", &tar).unwrap();
        let bytes = std::fs::read(&tar).unwrap();
        assert_eq!(bytes.len() % 512, 0);
        assert_eq!(&bytes[512..512 + body.len()], &body[..]);
        if let Ok(out) = Command::new("tar").arg("-tvf").arg(&tar).output() {
            let listing = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let lines: Vec<&str> = listing.lines().collect();
            assert_eq!(lines.len(), 1, "{listing}");
            assert!(
                lines[0].starts_with("-rwxr-xr-x")
                    && lines[0].ends_with(" nats-server")
                    && lines[0].contains("1300"),
                "{listing}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
