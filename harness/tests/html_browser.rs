//! The HTML report in a real browser: headless Chromium (Debian's `chromium` package) opens the
//! page from a `file://` URL, with no server and no network. The rendered DOM must hold the
//! verdict matrix, one cell per case × column; a `<script>` the responder wrote to stderr must
//! not have run; the page's own filter script must have run with no console message, and with
//! `#show=fail` hide the rows that failed nowhere. A screenshot is kept at
//! `target/reports/html-report.png` for the CI artifacts.
//!
//! Chromium is required, not optional: without `/usr/bin/chromium` the test fails and says how
//! to install it (`cargo run -p ci -- test` installs it with `ci/install-chromium.sh`).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use callout_conformance::report;
use callout_conformance::verdict::{CaseResult, Level, Report, ResponderRun, StderrTail, Verdict};

const CHROMIUM: &str = "/usr/bin/chromium";
/// How long one Chromium invocation may take before its process group is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);
const PWNED: &str = "<script>document.title='pwned'</script>";

fn case(id: &str, title: &str, level: Level, verdict: Verdict) -> CaseResult {
    let failed = verdict != Verdict::Pass;
    CaseResult {
        id: id.into(),
        title: title.into(),
        requirement: format!("the responder handles “{title}” as protocol.md says"),
        cite: "protocol.md §2".into(),
        level,
        rationale: if failed {
            "a client could be admitted with permissions it was never granted".into()
        } else {
            String::new()
        },
        verdict,
        baseline: None,
        expected: if failed {
            "-ERR 'Authorization Violation' & the connection closed".into()
        } else {
            String::new()
        },
        actual: if failed {
            "CONNECT accepted; +OK <then PING/PONG>".into()
        } else {
            String::new()
        },
        transcript: if failed {
            vec![
                "server: nats-server with auth_callout (issuer, xkey)".into(),
                "responder: ready after 1 probe".into(),
                format!("client: CONNECT {{\"user\":\"bob\"}} for {id}"),
                "client: <- +OK".into(),
            ]
        } else {
            Vec::new()
        },
        duration_ms: 120,
        figures: vec![],
        cause: None,
    }
}

/// A report with two columns and every verdict: the reference passes everything; a mutant
/// fails some cases, and its stderr carries markup that must stay text.
fn sample() -> Report {
    let catalog: &[(&str, &str, Level)] = &[
        (
            "e2e.seed.1",
            "alice connects with her password",
            Level::Must,
        ),
        ("e2e.seed.2", "a wrong password is refused", Level::Must),
        (
            "e2e.perm.1",
            "alice can publish to allowed subjects",
            Level::Must,
        ),
        (
            "e2e.perm.2",
            "bob cannot publish to a denied subject",
            Level::Must,
        ),
        ("e2e.resp.1", "resp max limits replies", Level::Should),
        (
            "wire.response.1",
            "the response is signed by the issuer",
            Level::Must,
        ),
        (
            "wire.response.2",
            "the response names the server as audience",
            Level::Must,
        ),
        (
            "wire.seal.1",
            "sealed requests get sealed answers",
            Level::Must,
        ),
        (
            "wire.hostile.1",
            "a forged request gets no user JWT",
            Level::Must,
        ),
        ("wire.robust.1", "a stale request is refused", Level::May),
    ];
    let mutant_verdict = |id: &str| match id {
        "e2e.seed.2" | "wire.response.2" => Verdict::Fail,
        "e2e.resp.1" => Verdict::NonStrict,
        "wire.seal.1" => Verdict::Unimplemented,
        "wire.robust.1" => Verdict::Informational,
        "wire.hostile.1" => Verdict::Skipped,
        _ => Verdict::Pass,
    };
    let run = |responder: &str, version: &str, verdict: &dyn Fn(&str) -> Verdict| {
        ResponderRun {
        responder: responder.into(),
        command: format!(
            "{responder} -nats.url {{url}} -nats.user {{user}} -nats.pass {{pass}} -issuer.seed {{issuer_seed}} -users {{users}}"
        ),
        server_version: version.into(),
        backend: "process".into(),
        results: catalog
            .iter()
            .map(|(id, title, level)| case(id, title, *level, verdict(id)))
            .collect(),
        responder_stderr: String::new(),
        stderr: Vec::new(),
        restarts: 0,
        setup_error: None,
    }
    };
    let reference = run("reference", "2.15.1", &|_| Verdict::Pass);
    let mut mutant = run("mutant", "2.15.1", &mutant_verdict);
    mutant.restarts = 1;
    mutant.stderr = vec![
        StderrTail {
            source: "seed.toml".into(),
            text: format!(
                "listening\n{PWNED}\n<img src=x onerror=\"document.title='img'\"> & done\n"
            ),
        },
        StderrTail {
            source: "wire (plain)".into(),
            text: "panic: index out of range\n".into(),
        },
    ];
    let mut old = run("reference", "2.10.26", &|_| Verdict::Pass);
    old.backend = "container".into();
    old.results.truncate(0);
    old.setup_error = Some("nats-server 2.10.26 did not start: <timeout> after 10 s".into());
    Report {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        strict: true,
        runs: vec![reference, mutant, old],
        baseline: None,
    }
}

/// `target/reports` of the workspace, where CI collects its artifacts.
fn reports_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/reports");
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

/// Runs Chromium headless on `url` with `extra` flags, in a process group of its own that is
/// killed afterwards (and after [`BROWSER_TIMEOUT`] if it hangs), with a fresh profile.
fn chromium(extra: &[String], url: &str) -> Output {
    let profile = std::env::temp_dir().join(format!(
        "html-browser-profile-{}-{}",
        std::process::id(),
        extra.len()
    ));
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile).unwrap();
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,900",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {CHROMIUM}: {e}"));
    let pgid = child.id() as i32;
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stderr.read_to_end(&mut b);
        b
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // The browser's helpers share its group: stop them all, whether it exited or hung.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    let status = status.unwrap_or_else(|| {
        let _ = child.wait();
        panic!(
            "chromium did not finish within {BROWSER_TIMEOUT:?} (killed): {}",
            extra.join(" ")
        )
    });
    let out = Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    };
    let _ = std::fs::remove_dir_all(&profile);
    out
}

/// The `<tr>…</tr>` elements of the matrix body in a dumped DOM.
fn matrix_rows(dom: &str) -> Vec<&str> {
    let start = dom
        .find("<table id=\"matrix\"")
        .expect("the verdict matrix is in the DOM");
    let table = &dom[start..start + dom[start..].find("</table>").unwrap()];
    let body = &table[table.find("<tbody>").unwrap()..table.find("</tbody>").unwrap()];
    body.split("<tr").skip(1).collect()
}

#[test]
fn the_html_report_renders_in_chromium_and_runs_no_injected_script() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: this test needs a real headless browser. Install it with \
         `apt-get update && apt-get install -y chromium` (as root; CI runs ci/install-chromium.sh)"
    );
    let report = sample();
    let dir = reports_dir();
    let page = dir.join("html-report.html");
    let png = dir.join("html-report.png");
    std::fs::write(&page, report::html(&report)).unwrap();
    let _ = std::fs::remove_file(&png);
    let url = format!("file://{}", page.display());

    let started = Instant::now();
    let shot = chromium(&[format!("--screenshot={}", png.display())], &url);
    assert!(
        shot.status.success(),
        "screenshot: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "a screenshot at {} ({size} bytes)",
        png.display()
    );

    // Filtered to failures through the fragment, as a shared link would open it.
    let dump = chromium(&["--dump-dom".to_string()], &format!("{url}#show=fail"));
    let log = String::from_utf8_lossy(&dump.stderr).to_string();
    assert!(dump.status.success(), "dump-dom: {log}");
    eprintln!("chromium: two runs in {:?}", started.elapsed());
    let dom = String::from_utf8(dump.stdout).expect("the DOM is UTF-8");

    assert!(
        dom.contains("<title>Auth-callout conformance report</title>"),
        "the injected script must not have renamed the page: {}",
        &dom[..dom.len().min(600)]
    );
    assert!(!dom.contains("pwned</title>") && !dom.contains("<title>img"));
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "the stderr's markup is shown as text"
    );
    assert!(!dom.contains("<img"), "no element came from the stderr");
    // With --enable-logging, every console message (an uncaught error, a CSP refusal) is a
    // `:CONSOLE` line on stderr; the page logs nothing.
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(
        dom.contains("<html lang=\"en\" data-filters=\"ready\">"),
        "the filter script ran to its end: {}",
        &dom[..dom.len().min(300)]
    );

    // One row per case, one cell per case × column.
    let rows = matrix_rows(&dom);
    assert_eq!(rows.len(), 10);
    for row in &rows {
        assert_eq!(row.matches("<td class=\"v ").count(), 3, "{row}");
    }
    // `#show=fail` leaves the two rows that failed somewhere visible.
    let shown: Vec<&str> = rows
        .iter()
        .filter(|r| !r.contains(" hidden"))
        .copied()
        .collect();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(shown.iter().all(|r| r.contains("v-fail")), "{shown:?}");
    assert!(dom.contains("<span id=\"shown\">2 of 10 cases shown</span>"));
    // The details of the failures are there, open.
    assert_eq!(
        dom.matches("<span class=\"badge v-fail\">FAIL</span>")
            .count(),
        2
    );
    assert!(dom.contains("-ERR 'Authorization Violation' &amp; the connection closed"));
}
