//! The scenario parser's unit tests: each mistake a file can make, and the file, line and fix
//! its error names.

use super::*;
use callout_world::spec::ResponderOn;

fn p(t: &str) -> Result<Scenario, ScenarioError> {
    parse(t, Path::new("x.toml"))
}

const MIN: &str = "[server]\naccounts = [\"APP\"]\n";

#[test]
fn a_minimal_file_parses() {
    let s = p(&format!("{MIN}[users.a]\npass = \"a\"\naccount = \"APP\"\n[[case]]\nid = \"e2e.x.1\"\ntitle = \"t\"\nrequirement = \"r\"\ncite = \"c\"\nsteps = [ {{ connect = \"a\", pass = \"a\" }} ]\n")).unwrap();
    assert_eq!(s.cases[0].steps.len(), 1);
    assert_eq!(s.world.users_json["a"]["account"], "APP");
    assert!(s.world.responder_present);
}

#[test]
fn min_and_before_server_bound_the_versions_a_case_runs_on() {
    let case = |bounds: &str| {
        p(&format!("{MIN}[users.a]\npass = \"a\"\naccount = \"APP\"\n[[case]]\nid = \"e2e.x.1\"\ntitle = \"t\"\nrequirement = \"r\"\ncite = \"c\"\n{bounds}\nsteps = [ {{ connect = \"a\", pass = \"a\" }} ]\n"))
    };
    let c = case("min_server = \"2.11.0\"\nbefore_server = \"2.14.4\"")
        .unwrap()
        .cases[0]
        .clone();
    assert_eq!(
        c.outside_servers("2.10.26").as_deref(),
        Some("needs nats-server 2.11.0 or later")
    );
    assert_eq!(c.outside_servers("2.11.0"), None);
    assert_eq!(c.outside_servers("2.14.3"), None);
    assert_eq!(
        c.outside_servers("2.14.4").as_deref(),
        Some("needs a nats-server older than 2.14.4")
    );
    assert!(c.outside_servers("2.15.1").is_some());
    let e = case("min_server = \"2.14.4\"\nbefore_server = \"2.14.4\"").unwrap_err();
    assert!(
        e.message.contains("runs on no server") && e.line == 6,
        "{e}"
    );
    let e = case("before_server = \"soon\"").unwrap_err();
    assert!(
        e.message.contains("before_server") && e.message.contains("soon"),
        "{e}"
    );
}

#[test]
fn a_typo_names_file_line_and_field() {
    let e = p(&format!("{MIN}[[case]]\nid = \"e2e.x.1\"\ntitle = \"t\"\nrequirement = \"r\"\ncite = \"c\"\nsteps = [\n  {{ conect = \"a\" }},\n]\n")).unwrap_err();
    assert_eq!(e.file, "x.toml");
    assert_eq!(e.line, 9, "{e}");
    assert!(e.message.contains("conect"), "{e}");
    let e = p("[server]\naccounts = [\"APP\"]\nxkye = true\n").unwrap_err();
    assert_eq!(e.line, 3, "{e}");
    assert!(e.message.contains("xkye"), "{e}");
}

#[test]
fn step_shape_errors_are_explained() {
    let case = |step: &str| {
        format!("{MIN}[[case]]\nid = \"e2e.x.1\"\ntitle = \"t\"\nrequirement = \"r\"\ncite = \"c\"\nsteps = [\n {step},\n]\n")
    };
    let e = p(&case("{ connect = \"a\", publish = \"x\" }")).unwrap_err();
    assert!(
        e.message.contains("exactly one action") && e.line == 9,
        "{e}"
    );
    let e = p(&case("{ publish = \"x\" }")).unwrap_err();
    assert!(e.message.contains("needs conn"), "{e}");
    let e = p(&case("{ connect = \"a\", expect = \"admited\" }")).unwrap_err();
    assert!(
        e.message
            .contains("\"admitted\", \"rejected\", \"refused\""),
        "{e}"
    );
    let e = p(&case("{ connect = \"a\", via = \"ws\" }")).unwrap_err();
    assert!(
        e.message.contains("\"tcp\" (default) or \"websocket\""),
        "{e}"
    );
    let e = p(&case("{ connect = \"a\", cert = \"a\", cert_cn = \"b\" }")).unwrap_err();
    assert!(e.message.contains("not both"), "{e}");
    let e = p(&case("{ connect = \"a\", via = \"websocket\" }")).unwrap_err();
    assert!(e.message.contains("[server] websocket = true"), "{e}");
    let e = p(&case("{ connect = \"a\", cert = \"nobody\" }")).unwrap_err();
    assert!(
        e.message.contains("[server] tls = true") || e.message.contains("cert = true"),
        "{e}"
    );
    let e = p(&case("{ expire = \"a\" }")).unwrap_err();
    assert!(e.message.contains("within"), "{e}");
    let e = p(&case(
        "{ subscribe = \"x\", conn = \"a\", payload = \"p\" }",
    ))
    .unwrap_err();
    assert!(e.message.contains("does not apply"), "{e}");
}

fn one_case(steps: &str) -> String {
    format!("{MIN}[users.a]\npass = \"a\"\naccount = \"APP\"\n[[case]]\nid = \"e2e.x.1\"\ntitle = \"t\"\nrequirement = \"r\"\ncite = \"c\"\nsteps = [\n  {{ connect = \"l\", user = \"a\", pass = \"a\" }},\n  {steps},\n]\n")
}

#[test]
fn numbers_are_checked_when_the_file_loads() {
    for (step, field) in [
        ("{ sleep = -1.0 }", "sleep = -1"),
        ("{ sleep = nan }", "sleep = NaN"),
        ("{ sleep = inf }", "sleep = inf"),
        ("{ sleep = 0.0 }", "sleep = 0"),
        ("{ sleep = 1000.0 }", "sleep = 1000"),
        (
            "{ reply = \"l\", wait = -0.5, to = [\"l\"] }",
            "wait = -0.5",
        ),
        ("{ connect = \"m\", min_secs = nan }", "min_secs = NaN"),
        ("{ burst = 0 }", "burst = 0"),
    ] {
        let e = p(&one_case(step)).unwrap_err();
        assert_eq!(e.line, 13, "{step}: {e}");
        assert!(e.message.contains(field), "{step}: {e}");
    }
    for t in ["-5.0", "0.0", "inf", "nan", "100.0"] {
        let e = p(&format!("[server]\naccounts = [\"APP\"]\ntimeout = {t}\n")).unwrap_err();
        assert_eq!(e.line, 3, "{t}: {e}");
        assert!(e.message.contains("[server] timeout"), "{t}: {e}");
    }
    assert_eq!(
        p(&format!("{MIN}timeout = 2.5\n")).unwrap().world.timeout,
        2.5
    );
}

#[test]
fn connection_names_are_checked_when_the_file_loads() {
    let e = p(&one_case("{ subscribe = \"x\", conn = \"listner\" }")).unwrap_err();
    assert_eq!(e.line, 13, "{e}");
    assert!(
        e.message.contains("conn = \"listner\"") && e.message.contains("open here: l"),
        "{e}"
    );
    for step in [
        "{ publish = \"x\", conn = \"l\", to = [\"lsitener\"] }",
        "{ user_info = \"nobody\" }",
        "{ reply = \"l\", to = [\"gone\"] }",
        "{ close = \"x\" }",
    ] {
        assert!(p(&one_case(step)).is_err(), "{step}");
    }
    // Closed, or rejected, is not open.
    assert!(p(&one_case(
        "{ close = \"l\" },\n  { subscribe = \"x\", conn = \"l\" }"
    ))
    .is_err());
    assert!(p(&one_case(
        "{ connect = \"r\", expect = \"rejected\" },\n  { close = \"r\" }"
    ))
    .is_err());
    assert!(p(&one_case("{ publish = \"x\", conn = \"l\", to = [\"l\"] }")).is_ok());
}

#[test]
fn case_ids_follow_the_scheme() {
    for bad in [
        "wire.hostile.1",
        "perm",
        "e2e.perm",
        "e2e.perm.0",
        "e2e.perm.01",
        "e2e.Perm.1",
        "e2e.perm.1.2",
        "e2e.perm.x",
    ] {
        let e = p(&one_case("{ close = \"l\" }").replace("e2e.x.1", bad)).unwrap_err();
        assert!(
            e.message.contains("e2e.AREA.N") && e.line == 6,
            "{bad}: {e}"
        );
    }
    let two = one_case("{ close = \"l\" }");
    let second = two[two.find("[[case]]").unwrap()..].replace("e2e.x.1", "e2e.y.2");
    let e = p(&format!("{two}{second}")).unwrap_err();
    assert!(e.message.contains("share an area"), "{e}");
}

#[test]
fn the_users_section_is_checked_like_users_json() {
    let users = |u: &str| {
        p(&format!(
            "{MIN}[users.a]\npass = \"a\"\naccount = \"APP\"\n{u}\n"
        ))
    };
    let ok = users("PERMISSIONS = { Pub = { allow = [\"x\"] }, resp = { max = 1, ttl = 1000 } }")
        .unwrap();
    assert_eq!(
        ok.world.users_json["a"]["PERMISSIONS"]["Pub"]["allow"][0],
        "x"
    );
    for (u, want) in [
        ("permisions = {}", "users.a: unknown key \"permisions\""),
        (
            "permissions = { pub = { alow = [\"x\"] } }",
            "users.a.permissions.pub: unknown key \"alow\"",
        ),
        (
            "permissions = { sub = { deny = \"x\" } }",
            "users.a.permissions.sub.deny is a string",
        ),
        (
            "permissions = { resp = { ttl = \"1s\" } }",
            "users.a.permissions.resp.ttl is a string",
        ),
        ("permissions = { resp = { ttl = -1 } }", "nanoseconds"),
        ("Pass = \"b\"", "\"pass\" appears twice"),
    ] {
        let e = users(u).unwrap_err();
        assert_eq!(e.line, 6, "{u}: {e}");
        assert!(e.message.contains(want), "{u}: {e}");
    }
    let e = p(&format!("{MIN}[users.b]\npass = 5\naccount = \"APP\"\n")).unwrap_err();
    assert!(
        e.line == 4 && e.message.contains("users.b.pass is an integer"),
        "{e}"
    );
}

#[test]
fn an_id_in_two_files_names_both_lines() {
    let dir = std::env::temp_dir().join(format!("scn-dup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let f = one_case("{ close = \"l\" }");
    std::fs::write(dir.join("a.toml"), &f).unwrap();
    std::fs::write(dir.join("b.toml"), format!("# another file\n{f}")).unwrap();
    let e = load_dir(&dir).unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(e.file.ends_with("b.toml") && e.line == 7, "{e}");
    assert!(e.message.contains("a.toml:6"), "{e}");
}

#[test]
fn operator_mode_mistakes_name_the_fix() {
    let file = |head: &str, server: &str, step: &str| {
        format!("{head}[server]\nmode = \"operator\"\naccounts = [\"APP1\", \"APP3\"]\n{server}\n[users.a]\npass = \"a\"\naccount = \"APP1\"\n[[case]]\nid = \"e2e.x.1\"\ntitle = \"t\"\nrequirement = \"r\"\ncite = \"c\"\nsteps = [\n {step},\n]\n")
    };
    let ok = p(&file(
        "min_server = \"2.11.2\"\n",
        "issuer = \"signing_key\"\ntarget_keys = \"account\"\ndefault_sentinel = true\n[server.scoped.APP3]\npub = { allow = [\"x.>\"] }",
        "{ connect = \"s\", creds = \"AUTH\" }",
    ))
    .unwrap();
    let shape = &ok.world.operator_shape;
    assert!(shape.issuer_signing_key && shape.target_identity_keys && shape.default_sentinel);
    assert_eq!(shape.scoped.len(), 1);
    assert_eq!(shape.scoped[0].0, "APP3");
    assert_eq!(shape.scoped[0].1.allow, ["x.>"]);
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "",
            "[server.scoped.NOPE]",
            "{ sleep = 1.0 }",
            "[server.scoped.NOPE] names no target account",
        ),
        (
            "",
            "[server.scoped.APP1]\n[server.scoped.APP3]",
            "{ sleep = 1.0 }",
            "leave at least one account with a plain signing key",
        ),
        (
            "",
            "issuer = \"sk\"",
            "{ sleep = 1.0 }",
            "use \"account\" (default",
        ),
        (
            "",
            "target_keys = \"own\"",
            "{ sleep = 1.0 }",
            "use \"signing_key\" (default) or \"account\"",
        ),
        (
            "",
            "default_sentinel = true",
            "{ sleep = 1.0 }",
            "needs min_server = \"2.11.2\"",
        ),
        (
            "min_server = \"2.10.0\"\n",
            "default_sentinel = true",
            "{ sleep = 1.0 }",
            "needs min_server",
        ),
        (
            "",
            "",
            "{ connect = \"s\", creds = \"APP9\" }",
            "creds = \"APP9\" names no account",
        ),
        (
            "",
            "",
            "{ connect = \"s\", creds = \"AUTH\", sentinel = false }",
            "drop sentinel = false",
        ),
        (
            "",
            "",
            "{ connect = \"s\", expect = \"gone\" }",
            "\"closed\" (without -ERR)",
        ),
    ];
    for (head, server, step, needle) in cases {
        let e = p(&file(head, server, step)).unwrap_err().to_string();
        assert!(e.contains(needle), "{server} / {step}: {e}");
        assert!(e.starts_with("x.toml:"), "{e}");
    }
    // Operator-only keys in a config-mode file, and creds without operator mode.
    let config = |server: &str, step: &str| {
        format!("[server]\naccounts = [\"APP\"]\n{server}\n[users.a]\npass = \"a\"\naccount = \"APP\"\n[[case]]\nid = \"e2e.x.1\"\ntitle = \"t\"\nrequirement = \"r\"\ncite = \"c\"\nsteps = [\n {step},\n]\n")
    };
    let e = p(&config("issuer = \"signing_key\"", "{ sleep = 1.0 }"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("issuer applies only to mode = \"operator\""),
        "{e}"
    );
    let e = p(&config("", "{ connect = \"a\", creds = \"APP\" }"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("applies only to [server] mode = \"operator\""),
        "{e}"
    );
}

#[test]
fn topology_mistakes_name_the_line_and_the_fix() {
    let file = |topo: &str, step: &str| {
        format!("{MIN}{topo}\n[users.a]\npass = \"a\"\naccount = \"APP\"\n[generate_users]\nprefix = \"g\"\ncount = 2\naccounts = [\"APP\"]\n[[case]]\nid = \"e2e.x.1\"\ntitle = \"t\"\nrequirement = \"r\"\ncite = \"c\"\nsteps = [\n {step},\n]\n")
    };
    let ok = p(&file(
        "[topology]\nnodes = 3\nresponders = 3\nresponder_on = \"each\"\nslow_link = true\n[[topology.leaf]]\nname = \"edge\"\nuser = \"a\"\npass = \"a\"",
        "{ storm = 10, within = 1.0, nodes = [\"n2\", \"n3\"], kill = 2, at = 0.5 }",
    ))
    .unwrap();
    assert_eq!(ok.world.topology.nodes, 3);
    assert_eq!(ok.world.topology.responder_on, ResponderOn::Each);
    assert_eq!(ok.world.topology.node_names(), ["n1", "n2", "n3", "edge"]);
    assert!(!ok.world.topology.is_plain());
    assert!(p(&file("", "{ connect = \"a\", pass = \"a\" }"))
        .unwrap()
        .world
        .topology
        .is_plain());
    // The line: 0 for the step's own line, else the given one.
    let cases: &[(&str, &str, usize, &str)] = &[
        ("[topology]\nnodes = 9", "{ sleep = 1.0 }", 3, "nodes = 9"),
        (
            "[topology]\nnodes = 2\nresponder_on = \"n3\"",
            "{ sleep = 1.0 }",
            3,
            "n1 to n2",
        ),
        ("[topology]\nnodez = 2", "{ sleep = 1.0 }", 4, "nodez"),
        (
            "[topology]\nnodes = 2",
            "{ connect = \"a\", pass = \"a\", node = \"n3\" }",
            0,
            "node = \"n3\" is not a node",
        ),
        (
            "[topology]\nnodes = 2",
            "{ storm = 10, within = 1.0, kill = 1 }",
            0,
            "responders = 2 or more",
        ),
        (
            "[topology]\nresponders = 2",
            "{ storm = 10, within = 1.0, kill = 3 }",
            0,
            "numbered 1 to 2",
        ),
        ("", "{ storm = 10 }", 0, "within = SECONDS"),
        (
            "",
            "{ storm = 10, within = 1.0, at = 0.5 }",
            0,
            "only with kill",
        ),
        ("", "{ delay_answers = 3.0 }", 0, "slow_link = true"),
        (
            "",
            "{ restart = \"n2\", within = 2.0 }",
            0,
            "restart = \"n2\" is not a node",
        ),
        (
            "[[topology.leaf]]\nname = \"n2\"\nuser = \"a\"\npass = \"a\"",
            "{ sleep = 1.0 }",
            3,
            "not of the form nN",
        ),
        (
            "[[topology.leaf]]\nname = \"e\"\nuser = \"nobody\"\npass = \"a\"",
            "{ sleep = 1.0 }",
            3,
            "neither a [users.nobody] entry",
        ),
        (
            "[[topology.leaf]]\nname = \"e\"\nuser = \"a\"\npass = \"a b\"",
            "{ sleep = 1.0 }",
            3,
            "remote URL",
        ),
    ];
    for (topo, step, line, needle) in cases {
        let text = file(topo, step);
        let line = match line {
            0 => text.lines().position(|l| l.contains(step)).unwrap() + 1,
            n => *n,
        };
        let e = p(&text).unwrap_err();
        assert!(e.message.contains(needle), "{topo} / {step}: {e}");
        assert_eq!(e.line, line, "{topo} / {step}: {e}");
    }
}
