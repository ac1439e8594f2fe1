//! The harness as a user runs it, under the conditions of issue 13: signals, wrapper
//! templates, hostile stderr, secrets on disk, a server that fails to start, and set-up errors
//! that must be found before the first case. Every test runs the real `callout-conformance`
//! binary (or a real child process) against real nats-server processes, with `TMPDIR` pointed
//! at a directory of its own and a marker in the environment, so that leftover files and
//! processes of that run (and only of that run) can be found.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use callout_conformance::sut::{find_sibling_binary, RunningResponder, SEED_FLAGS};

const HARNESS: &str = env!("CARGO_BIN_EXE_callout-conformance");

fn responder() -> PathBuf {
    find_sibling_binary("callout-responder", "CALLOUT_RESPONDER_BIN")
}

fn here() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty directory for one test.
fn fresh_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("h13-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Live (non-zombie) processes whose environment holds `mark`, as `(pid, cmdline)`.
fn marked_processes(mark: &str) -> Vec<(u32, String)> {
    let needle = format!("H13_MARK={mark}");
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if !env.split(|b| *b == 0).any(|v| v == needle.as_bytes()) {
            continue;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next().map(String::from))
            .unwrap_or_default();
        if state == "Z" || state == "X" || state.is_empty() {
            continue;
        }
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        out.push((pid, cmd));
    }
    out
}

/// Waits up to 3 s for every marked process to go; returns those left.
fn leftovers(mark: &str) -> Vec<(u32, String)> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left = marked_processes(mark);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills leftovers by PID so that a failing test does not leave them behind either.
fn kill_all(left: &[(u32, String)]) {
    for (pid, _) in left {
        // SAFETY: kill(2) on a PID this test found with its own marker.
        unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
    }
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn harness(tmp: &Path, mark: &str, args: &[&str]) -> Command {
    let mut c = Command::new(HARNESS);
    c.args(args)
        .env("TMPDIR", tmp)
        .env("H13_MARK", mark)
        .env_remove("NATS_SERVER_BIN")
        .current_dir(here().join(".."))
        .stdin(Stdio::null());
    c
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn output_with_timeout(mut cmd: Command, limit: Duration) -> Output {
    let out_dir = fresh_dir(&format!("out-{}", rand_suffix()));
    let (o, e) = (out_dir.join("stdout"), out_dir.join("stderr"));
    cmd.stdout(std::fs::File::create(&o).unwrap())
        .stderr(std::fs::File::create(&e).unwrap());
    let mut child = cmd.spawn().unwrap();
    let status = wait_with_timeout(&mut child, limit)
        .unwrap_or_else(|| panic!("the harness did not finish within {limit:?}"));
    let out = Output {
        status,
        stdout: std::fs::read(&o).unwrap_or_default(),
        stderr: std::fs::read(&e).unwrap_or_default(),
    };
    let _ = std::fs::remove_dir_all(&out_dir);
    out
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{}", N.fetch_add(1, Ordering::Relaxed))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Item 7 and 11: while a run is under way its files are private (0600 in 0700 directories);
/// SIGINT or SIGTERM stops every process it started, removes its files and exits 130 / 143.
#[test]
fn a_signal_stops_everything_and_removes_the_secrets() {
    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let tmp = fresh_dir(&format!("signal-{sig}"));
        let mark = format!("signal-{sig}-{}", std::process::id());
        let mut cmd = harness(&tmp, &mark, &["run", "e2e.seed", "e2e.perm", "--no-color"]);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        // Wait for the responder process of this run.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !marked_processes(&mark)
            .iter()
            .any(|(_, c)| c.contains("callout-responder"))
        {
            assert!(Instant::now() < deadline, "the responder never started");
            assert!(
                child.try_wait().unwrap().is_none(),
                "the harness ended early"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // The fixture on disk: private.
        let mut seen = 0;
        for d in entries(&tmp) {
            let p = tmp.join(&d);
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{} is {mode:o}", p.display());
            for f in entries(&p) {
                let fp = p.join(&f);
                let mode = std::fs::metadata(&fp).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{} is {mode:o}", fp.display());
                seen += 1;
            }
        }
        assert!(
            seen >= 3,
            "users.json, issuer.nk, server.conf: {seen} files"
        );
        // SAFETY: kill(2) on the PID of the child this test started.
        unsafe { libc::kill(child.id() as i32, sig) };
        let status = wait_with_timeout(&mut child, Duration::from_secs(20))
            .expect("the harness exits after the signal");
        let left = leftovers(&mark);
        kill_all(&left);
        assert_eq!(
            status.code(),
            Some(code),
            "exit status after signal {sig}: {status}"
        );
        assert!(
            left.is_empty(),
            "processes left after signal {sig}: {left:?}"
        );
        assert_eq!(
            entries(&tmp),
            Vec::<String>::new(),
            "files left after signal {sig}"
        );
        let _ = std::fs::remove_dir_all(&tmp);
    }
}

/// Item 7 for `bench`: SIGTERM in the middle of the connect benchmark stops its server and
/// responder, removes its files and exits 143.
#[test]
fn a_signal_stops_bench_too() {
    let tmp = fresh_dir("signal-bench");
    let mark = format!("signal-bench-{}", std::process::id());
    let mut cmd = harness(&tmp, &mark, &["bench", "--connects", "100000", "--plain"]);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !marked_processes(&mark)
        .iter()
        .any(|(_, c)| c.contains("callout-responder"))
    {
        assert!(Instant::now() < deadline, "the responder never started");
        assert!(child.try_wait().unwrap().is_none(), "bench ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill(2) on the PID of the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_with_timeout(&mut child, Duration::from_secs(20)).expect("bench exits");
    let left = leftovers(&mark);
    kill_all(&left);
    assert_eq!(status.code(), Some(143), "{status}");
    assert!(left.is_empty(), "processes left: {left:?}");
    assert_eq!(entries(&tmp), Vec::<String>::new(), "files left");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Item 8 and 16: wrapper templates (a shell that does not exec, one that ignores SIGTERM and
/// outlives its responder) pass, and leave nothing running; each column carries its name.
#[test]
fn wrapper_templates_leave_no_process_behind() {
    let tmp = fresh_dir("wrappers");
    let mark = format!("wrappers-{}", std::process::id());
    let r = responder().display().to_string();
    let no_exec = format!("no-exec=sh -c '\"$0\" \"$@\"; echo done >&2' {r} {SEED_FLAGS}");
    let ignores_term = format!("sh -c 'trap \"\" TERM; \"$0\" \"$@\"; sleep 60' {r} {SEED_FLAGS}");
    let report = tmp.join("report.json");
    let report_arg = report.display().to_string();
    let out = output_with_timeout(
        harness(
            &tmp,
            &mark,
            &[
                "run",
                "e2e.seed.1",
                "--responder-cmd",
                &no_exec,
                "--name",
                "ignores-term",
                "--responder-cmd",
                &ignores_term,
                "--report-json",
                &report_arg,
            ],
        ),
        Duration::from_secs(120),
    );
    let left = leftovers(&mark);
    kill_all(&left);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(left.is_empty(), "left running: {left:?}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let names: Vec<&str> = json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["responder"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["no-exec", "ignores-term"]);
    std::fs::remove_file(&report).unwrap();
    assert_eq!(entries(&tmp), Vec::<String>::new(), "files left");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A responder template whose wrapper starts `sleep 300` with `setsid` (a new session, out of
/// the responder's process group, as a daemon does), its shell marked with `argv_mark` in
/// argv and its PID written to `pid_file`, then execs the reference.
fn setsid_wrapper(argv_mark: &str, pid_file: &Path) -> String {
    let r = responder().display().to_string();
    format!(
        "sh -c '(setsid sh -c \"sleep 300; : {argv_mark}\" & echo $! > {}); exec \"$0\" \"$@\"' {r} {SEED_FLAGS}",
        pid_file.display()
    )
}

/// Live processes with `argv_mark` in their command line.
fn by_argv(argv_mark: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(argv_mark))
        .collect()
}

/// Issue 23, item 11: a wrapper that starts a child with `setsid` leaves nothing running,
/// neither after `run` ends nor after SIGTERM stops it: the harness is a subreaper and stops
/// every process carrying its responder's tag.
#[test]
fn a_process_that_leaves_the_responder_group_is_stopped_too() {
    let tmp = fresh_dir("setsid");
    let mark = format!("setsid-{}", std::process::id());
    let argv_mark = format!("escaped-by-setsid-{}", std::process::id());
    let pid_file = std::env::temp_dir().join(format!("{argv_mark}.pid"));
    let wrapper = setsid_wrapper(&argv_mark, &pid_file);
    let out = output_with_timeout(
        harness(
            &tmp,
            &mark,
            &["run", "e2e.acct.1", "--responder-cmd", &wrapper],
        ),
        Duration::from_secs(120),
    );
    let started = std::fs::read_to_string(&pid_file).is_ok();
    let _ = std::fs::remove_file(&pid_file);
    let left = leftovers(&mark);
    kill_all(&left);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(started, "the wrapper never started its setsid child");
    assert!(left.is_empty(), "left running after run: {left:?}");
    assert!(by_argv(&argv_mark).is_empty(), "{:?}", by_argv(&argv_mark));

    // SIGTERM while the escaped process runs.
    let mut cmd = harness(
        &tmp,
        &mark,
        &["run", "e2e.seed", "e2e.perm", "--responder-cmd", &wrapper],
    );
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while by_argv(&argv_mark)
        .iter()
        .all(|c| !c.starts_with("sh -c sleep"))
    {
        assert!(Instant::now() < deadline, "the setsid child never started");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the harness ended early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on the PID of the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_with_timeout(&mut child, Duration::from_secs(20))
        .expect("the harness exits after the signal");
    let _ = std::fs::remove_file(&pid_file);
    let left = leftovers(&mark);
    kill_all(&left);
    assert_eq!(status.code(), Some(143), "{status}");
    assert!(left.is_empty(), "left running after SIGTERM: {left:?}");
    assert_eq!(entries(&tmp), Vec::<String>::new(), "files left");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Item 9: a non-UTF-8 byte on stderr neither stops the capture nor closes the pipe (the
/// writer would die of SIGPIPE), and more than the kept 64 KiB is drained.
#[test]
fn invalid_utf8_and_a_flood_on_stderr_do_not_kill_the_responder() {
    let script = "printf 'before\\377\\376after\\n' >&2; sleep 0.3; \
                  i=0; while [ $i -lt 8000 ]; do echo \"flood line $i\" >&2; i=$((i+1)); done; \
                  echo 'last line' >&2; exec sleep 30";
    let argv: Vec<String> = ["sh", "-c", script].iter().map(|s| s.to_string()).collect();
    let mut p = RunningResponder::start(&argv, vec![]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !p.stderr_tail(1).contains("last line") {
        assert!(
            p.exited().is_none(),
            "the writer died ({:?}); stderr: {}",
            p.exited(),
            p.stderr_tail(3)
        );
        assert!(Instant::now() < deadline, "stderr: {}", p.stderr_tail(3));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(p.exited().is_none(), "the writer must still run");
    p.stop(Duration::from_secs(2));
    let tail = p.stderr_tail(2);
    assert!(tail.ends_with("flood line 7999\nlast line"), "{tail}");
    let mut q = RunningResponder::start(&argv, vec![]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        q.stderr_tail(5).contains("before\u{FFFD}\u{FFFD}after"),
        "{}",
        q.stderr_tail(5)
    );
    q.stop(Duration::from_secs(2));
}

/// Item 10: secrets written after a large write, split across writes, across a line break and
/// across read chunks never reach the JSON report, not even as an 8-byte piece.
#[test]
fn split_secrets_never_reach_the_report() {
    let tmp = fresh_dir("redact");
    let mark = format!("redact-{}", std::process::id());
    let record = fresh_dir("redact-record").join("secrets");
    let template = format!(
        "{} {} {{pass}} {{issuer_seed}} {} {SEED_FLAGS}",
        here().join("tests/fixtures/leaky-wrapper.sh").display(),
        record.display(),
        responder().display()
    );
    let report = record.with_file_name("report.json");
    let report_arg = report.display().to_string();
    let out = output_with_timeout(
        harness(
            &tmp,
            &mark,
            &[
                "run",
                "e2e.seed.1",
                "--responder-cmd",
                &template,
                "--report-json",
                &report_arg,
            ],
        ),
        Duration::from_secs(90),
    );
    kill_all(&leftovers(&mark));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let secrets = std::fs::read_to_string(&record).unwrap();
    let json = std::fs::read_to_string(&report).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let stderr = v["runs"][0]["responder_stderr"].as_str().unwrap();
    assert!(stderr.contains("half=[REDACTED]"), "{stderr}");
    assert!(stderr.contains("pass=[REDACTED] end"), "{stderr}");
    for s in secrets.lines() {
        assert!(s.len() >= 24, "{s:?}");
        for w in s.as_bytes().windows(8) {
            let w = std::str::from_utf8(w).unwrap();
            assert!(
                !json.contains(w),
                "a piece {w:?} of a secret is in the report:\n{stderr}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(record.parent().unwrap());
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Item 11: a server that fails to start leaves no file behind (its config holds the
/// callout user's password), and the run is a set-up error.
#[test]
fn a_server_that_fails_to_start_leaves_no_files() {
    let tmp = fresh_dir("badserver");
    let bin_dir = fresh_dir("badserver-bin");
    let fake = bin_dir.join("nats-server");
    std::fs::write(
        &fake,
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'nats-server: v2.15.1'; exit 0; fi\necho 'cannot start' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mark = format!("badserver-{}", std::process::id());
    let fake_arg = fake.display().to_string();
    let out = output_with_timeout(
        harness(
            &tmp,
            &mark,
            &["run", "e2e.seed.1", "--nats-server", &fake_arg],
        ),
        Duration::from_secs(60),
    );
    kill_all(&leftovers(&mark));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(entries(&tmp), Vec::<String>::new(), "files left");
    let _ = std::fs::remove_dir_all(&tmp);
    let _ = std::fs::remove_dir_all(&bin_dir);
}

fn quick(args: &[&str]) -> Output {
    let tmp = fresh_dir(&format!("quick-{}", rand_suffix()));
    let out = output_with_timeout(harness(&tmp, "quick", args), Duration::from_secs(30));
    let _ = std::fs::remove_dir_all(&tmp);
    out
}

/// Item 14: set-up errors are found before the first case, with the flag and the fix.
#[test]
fn set_up_errors_come_before_the_first_case() {
    let t0 = Instant::now();
    let out = quick(&["run", "e2e.seed.1", "--junit", "/nonexistent-dir/r.xml"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--junit /nonexistent-dir/r.xml") && !err.contains("=="),
        "{err}"
    );
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());

    let cwd = fresh_dir("no-color");
    let mut cmd = harness(
        &cwd,
        "quick",
        &["run", "e2e.seed.1", "--junit", "--no-color"],
    );
    cmd.current_dir(&cwd);
    let out = output_with_timeout(cmd, Duration::from_secs(30));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("a value is required for '--junit <FILE>'"),
        "{err}"
    );
    assert!(!cwd.join("--no-color").exists());
    let _ = std::fs::remove_dir_all(&cwd);

    let out = quick(&["run", "e2e.seed.1", "--nats-server", "/bin/echo"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("nats-server: v2.") && err.contains("/bin/echo"),
        "{err}"
    );

    let dir = fresh_dir("hang");
    let hang = dir.join("hangs");
    std::fs::write(&hang, "#!/bin/sh\nsleep 600\n").unwrap();
    std::fs::set_permissions(&hang, std::fs::Permissions::from_mode(0o755)).unwrap();
    let t0 = Instant::now();
    let out = quick(&[
        "run",
        "e2e.seed.1",
        "--nats-server",
        &hang.display().to_string(),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("did not finish"), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Item 15: a filter that matches nothing is a usage error, for run and for list.
#[test]
fn a_filter_that_matches_nothing_is_an_error() {
    for cmd in ["run", "list"] {
        let out = quick(&[cmd, "e2e.seed", "wire.resp.[1-3]"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.contains("filter \"wire.resp.[1-3]\" matches no case"),
            "{err}"
        );
    }
}

/// Item 12 and 13: a bad number or a typo in a scenario file is an error when it loads,
/// naming the file, the line and the field (the old harness panicked, or ran and blamed the
/// responder).
#[test]
fn scenario_mistakes_are_found_when_the_files_load() {
    let head = "[server]\naccounts = [\"APP\"]\n\n[users.a]\npass = \"a\"\naccount = \"APP\"\n";
    let case = |steps: &str| {
        format!("{head}\n[[case]]\nid = \"e2e.x.1\"\ntitle = \"t\"\nrequirement = \"r\"\ncite = \"c\"\nsteps = [\n  {{ connect = \"a\", pass = \"a\" }},\n  {steps},\n]\n")
    };
    let bad = [
        (case("{ sleep = -1.0 }"), 15, "sleep = -1"),
        (case("{ sleep = nan }"), 15, "sleep = NaN"),
        (
            head.replace("accounts", "timeout = -5.0\naccounts") + "",
            2,
            "timeout = -5",
        ),
        (
            head.replace("accounts", "timeout = inf\naccounts") + "",
            2,
            "timeout = inf",
        ),
        (
            case("{ subscribe = \"x\", conn = \"listner\" }"),
            15,
            "conn = \"listner\"",
        ),
        (
            case("{ close = \"a\" }").replace("e2e.x.1", "wire.hostile.1"),
            8,
            "wire.hostile.1",
        ),
        (
            head.replace("account = \"APP\"", "account = \"APP\"\npermisions = {}"),
            7,
            "unknown key \"permisions\"",
        ),
    ];
    for (i, (file, line, what)) in bad.iter().enumerate() {
        let dir = fresh_dir(&format!("scn-{i}"));
        std::fs::write(dir.join("x.toml"), file).unwrap();
        let out = quick(&["list", "--scenarios", &dir.display().to_string()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(
            err.contains(&format!("x.toml:{line}:")) && err.contains(what),
            "want x.toml:{line} and {what:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Items 17 and 18: a responder without xkey support gets UNIMPLEMENTED on the sealed seed
/// scenario within --ready-timeout; with --fail-on-unimplemented that is exit 1 and a JUnit
/// <failure>, without it exit 0 and <skipped>.
#[test]
fn fail_on_unimplemented_and_ready_timeout() {
    let no_xkey = format!(
        "{} -nats.url {{url}} -nats.user {{user}} -nats.pass {{pass}} -issuer.seed {{issuer_seed}} -users {{users}}",
        responder().display()
    );
    for (flag, code, element) in [
        (Some("--fail-on-unimplemented"), 1, "<failure"),
        (None, 0, "<skipped"),
    ] {
        let dir = fresh_dir(&format!("unimpl-{code}"));
        let junit = dir.join("r.xml").display().to_string();
        let mut args = vec![
            "run",
            "e2e.seed.1",
            "--responder-cmd",
            &no_xkey,
            "--ready-timeout",
            "2",
            "--junit",
            &junit,
        ];
        args.extend(flag);
        let t0 = Instant::now();
        let mark = format!("unimpl-{code}-{}", std::process::id());
        let out = output_with_timeout(harness(&dir, &mark, &args), Duration::from_secs(60));
        kill_all(&leftovers(&mark));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{flag:?}: {err}");
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "--ready-timeout 2 took {:?}",
            t0.elapsed()
        );
        let xml = std::fs::read_to_string(&junit).unwrap();
        assert!(xml.contains(element), "{flag:?}: {xml}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
