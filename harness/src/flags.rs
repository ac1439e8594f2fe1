//! The flags `run` and `bench` share: which responders to start (`--responder`,
//! `--responder-cmd`, `--name`) on which servers (`--server-version`, `--nats-server`), as a
//! clap argument group both commands flatten, and the value parsers every command uses. It
//! lives apart from `cli` so that `cli` calls `bench` and `bench` never needs `cli`.

use std::path::PathBuf;

use crate::sut::ResponderSpec;

/// A value that starts with `--` is taken for a forgotten value followed by the next option
/// (`--junit=--no-color`); clap already refuses `--junit --no-color`.
pub fn not_an_option(v: &str) -> Result<String, String> {
    if v.starts_with("--") {
        return Err(format!(
            "{v:?} looks like an option; give the value first (a file named like an option: ./{v})"
        ));
    }
    Ok(v.to_string())
}

/// A file or directory argument, checked by [`not_an_option`].
pub fn path(v: &str) -> Result<PathBuf, String> {
    not_an_option(v).map(PathBuf::from)
}

fn reference(v: &str) -> Result<String, String> {
    if v != "reference" {
        return Err(format!(
            "the only built-in responder is \"reference\"; use --responder-cmd for others ({v:?})"
        ));
    }
    Ok(v.to_string())
}

/// One `--server-version` value: a comma-separated list of versions like 2.15.1.
#[derive(Clone, Debug, PartialEq)]
pub struct VersionList(pub Vec<String>);

fn versions(v: &str) -> Result<VersionList, String> {
    let v = not_an_option(v)?;
    let mut out = Vec::new();
    for v in v.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        if callout_leaves::version::parse_version(v).is_none() {
            return Err(format!("{v:?} is not a version like 2.15.1"));
        }
        out.push(v.to_string());
    }
    Ok(VersionList(out))
}

fn column_name(v: &str) -> Result<String, String> {
    if !valid_name(v) {
        return Err(format!("{v:?}: use letters, digits, '.', '_' and '-'"));
    }
    Ok(v.to_string())
}

/// The shared flags as clap parses them. `--name` applies to the `--responder-cmd` after it,
/// an order clap's fields do not keep: [`TargetArgs::targets`] reads it from the matches.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct TargetArgs {
    /// The reference responder, callout-responder (the default when no --responder-cmd is given)
    #[arg(long, value_name = "reference", value_parser = reference)]
    pub responder: Vec<String>,
    /// Another responder, started from TEMPLATE without a shell; repeatable, one column each,
    /// named NAME (letters, digits, . _ -) or after the program. Placeholders: {url} {user}
    /// {pass} {issuer_seed} {issuer_seed_file} {issuer_pub} {xkey_seed} {xkey_seed_file}
    /// {xkey_pub} {users} {ca_file}; e.g. './service -nats.url {url} -nats.user {user} -nats.pass {pass}
    /// -issuer.seed {issuer_seed} -xkey.seed {xkey_seed} -users {users}'
    #[arg(long, value_name = "[NAME=]TEMPLATE", value_parser = not_an_option)]
    pub responder_cmd: Vec<String>,
    /// Name the column of the next --responder-cmd
    #[arg(long, value_name = "NAME", value_parser = column_name)]
    pub name: Vec<String>,
    /// nats-server versions, comma-separated or repeated (default 2.15.1; matrix: its five)
    #[arg(long, value_name = "V[,V...]", value_parser = versions)]
    pub server_version: Vec<VersionList>,
    /// Use this nats-server binary (also NATS_SERVER_BIN) instead of downloading one
    #[arg(long, value_name = "PATH", value_parser = path)]
    pub nats_server: Option<PathBuf>,
}

impl TargetArgs {
    /// The targets these flags ask for. `m` holds the matches of the (sub)command that
    /// flattened them, for the order of `--name` and `--responder-cmd`.
    pub fn targets(&self, m: &clap::ArgMatches) -> Result<Targets, String> {
        let mut ordered: Vec<(usize, &str, &String)> = Vec::new();
        for (id, flag, values) in [
            ("responder_cmd", "--responder-cmd", &self.responder_cmd),
            ("name", "--name", &self.name),
        ] {
            if let Some(indices) = m.indices_of(id) {
                ordered.extend(indices.zip(values).map(|(i, v)| (i, flag, v)));
            }
        }
        ordered.sort_by_key(|(i, _, _)| *i);
        let mut flags = TargetFlags {
            reference: !self.responder.is_empty(),
            ..TargetFlags::default()
        };
        for (_, flag, v) in ordered {
            flags.take(flag, v)?;
        }
        flags.targets.versions = self
            .server_version
            .iter()
            .flat_map(|l| l.0.iter().cloned())
            .collect();
        flags.targets.nats_server = self.nats_server.clone();
        flags.finish()
    }
}

/// `NAME=TEMPLATE` names a column: NAME is letters, digits, `.`, `_` and `-`, directly followed
/// by `=` and a non-blank template. A template's first word cannot be an environment
/// assignment anyway (templates run without a shell; use `env FOO=bar prog`).
pub fn split_named_template(v: &str) -> (Option<&str>, &str) {
    if let Some((name, rest)) = v.split_once('=') {
        if valid_name(name) && rest.starts_with(|c: char| !c.is_whitespace()) {
            return (Some(name), rest);
        }
    }
    (None, v)
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// The responders and servers a command line asks for, once parsed.
#[derive(Debug, Default)]
pub struct Targets {
    /// One column each, with distinct names; the reference first when asked for (or when no
    /// `--responder-cmd` is given).
    pub responders: Vec<ResponderSpec>,
    /// `--server-version`, in order; empty when not given (each command has its default).
    pub versions: Vec<String>,
    /// `--nats-server`: a binary to use instead of downloading one.
    pub nats_server: Option<PathBuf>,
}

/// Builds [`Targets`] from the shared flags in command-line order.
#[derive(Debug, Default)]
struct TargetFlags {
    targets: Targets,
    reference: bool,
    next_name: Option<String>,
    explicit_names: Vec<String>,
    /// Parallel to `targets.responders`: named by the user (never renamed by `finish`).
    named: Vec<bool>,
}

impl TargetFlags {
    /// Takes one `--responder-cmd` or `--name` value, in command-line order.
    fn take(&mut self, flag: &str, v: &str) -> Result<(), String> {
        match flag {
            "--responder-cmd" => {
                let (inline_name, template) = split_named_template(v);
                crate::sut::split_words(template)?;
                let name = match (self.next_name.take(), inline_name) {
                    (Some(_), Some(n)) => {
                        return Err(format!(
                            "--responder-cmd {v:?} is named twice, by --name and by {n}=; keep one"
                        ));
                    }
                    (Some(n), None) => Some(n),
                    (None, n) => n.map(String::from),
                };
                match name {
                    Some(n) => {
                        if self.explicit_names.contains(&n) || n == "reference" {
                            return Err(format!("--responder-cmd: the column name {n:?} is used twice; give each responder its own name"));
                        }
                        self.explicit_names.push(n.clone());
                        self.named.push(true);
                        self.targets.responders.push(ResponderSpec {
                            name: n,
                            template: template.to_string(),
                            identities: None,
                            profile_dir: None,
                        });
                    }
                    None => {
                        self.named.push(false);
                        self.targets
                            .responders
                            .push(ResponderSpec::command(template));
                    }
                }
            }
            _ => {
                if self.next_name.replace(v.to_string()).is_some() {
                    return Err(format!("--name {v:?}: the previous --name names no --responder-cmd; put --name NAME right before the --responder-cmd it names"));
                }
            }
        }
        Ok(())
    }

    /// The targets: the reference added when asked for or when no command was given, and
    /// unnamed columns that share a program's name numbered (`svc`, `svc#2`).
    fn finish(self) -> Result<Targets, String> {
        let TargetFlags {
            mut targets,
            reference,
            next_name,
            explicit_names,
            mut named,
        } = self;
        if let Some(n) = next_name {
            return Err(format!(
                "--name {n:?} names no --responder-cmd; put --name NAME right before the --responder-cmd it names"
            ));
        }
        if reference || targets.responders.is_empty() {
            targets.responders.insert(0, ResponderSpec::reference());
            named.insert(0, false);
        }
        // Distinct column names.
        let mut seen = std::collections::HashMap::new();
        for n in &explicit_names {
            seen.insert(n.clone(), 1);
        }
        for (r, named) in targets.responders.iter_mut().zip(named) {
            if named {
                continue;
            }
            let n = seen.entry(r.name.clone()).or_insert(0);
            *n += 1;
            if *n > 1 {
                r.name = format!("{}#{}", r.name, n);
            }
        }
        Ok(targets)
    }
}
