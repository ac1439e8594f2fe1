//! The flags `run` and `bench` share: which responders to start (`--responder`,
//! `--responder-cmd`, `--name`) on which servers (`--server-version`, `--nats-server`), and the
//! `--flag value` / `--flag=value` splitting both parsers use. It lives apart from `cli` so that
//! `cli` calls `bench` and `bench` never needs `cli`.

use std::path::PathBuf;

use crate::scenario;
use crate::sut::ResponderSpec;

/// Splits `--flag=value` into the flag and its inline value; any other argument has none.
pub fn split_flag(arg: &str) -> (String, Option<String>) {
    match arg.split_once('=') {
        Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
        _ => (arg.to_string(), None),
    }
}

/// The value of flag `name`: its inline `=value`, else the next argument. A value that starts
/// with `--` is taken for a forgotten value followed by the next option.
pub fn flag_value<'a>(
    inline: &Option<String>,
    rest: &mut impl Iterator<Item = &'a String>,
    name: &str,
) -> Result<String, String> {
    let v = match inline {
        Some(v) => v.clone(),
        None => rest
            .next()
            .cloned()
            .ok_or_else(|| format!("{name} needs a value"))?,
    };
    if v.starts_with("--") {
        return Err(format!(
            "{name} needs a value, and {v:?} looks like an option; give the value first (a file named like an option: ./{v})"
        ));
    }
    Ok(v)
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

/// Collects the shared flags while a command's parser walks its arguments: offer each flag to
/// [`TargetFlags::take`], then call [`TargetFlags::finish`].
#[derive(Debug, Default)]
pub struct TargetFlags {
    targets: Targets,
    reference: bool,
    next_name: Option<String>,
    explicit_names: Vec<String>,
    /// Parallel to `targets.responders`: named by the user (never renamed by `finish`).
    named: Vec<bool>,
}

impl TargetFlags {
    /// Takes `flag` if it is a shared one (reading its value with `value`) and returns true;
    /// returns false for any other flag, without reading a value.
    pub fn take(
        &mut self,
        flag: &str,
        value: &mut dyn FnMut(&str) -> Result<String, String>,
    ) -> Result<bool, String> {
        match flag {
            "--responder" => {
                let v = value("--responder")?;
                if v != "reference" {
                    return Err(format!("--responder {v:?}: the only built-in responder is \"reference\"; use --responder-cmd for others"));
                }
                self.reference = true;
            }
            "--responder-cmd" => {
                let v = value("--responder-cmd")?;
                let (inline_name, template) = split_named_template(&v);
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
            "--name" => {
                let v = value("--name")?;
                if !valid_name(&v) {
                    return Err(format!(
                        "--name {v:?}: use letters, digits, '.', '_' and '-'"
                    ));
                }
                if self.next_name.replace(v.clone()).is_some() {
                    return Err(format!("--name {v:?}: the previous --name names no --responder-cmd; put --name NAME right before the --responder-cmd it names"));
                }
            }
            "--server-version" => {
                for v in value("--server-version")?
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                {
                    if scenario::parse_version(v).is_none() {
                        return Err(format!(
                            "--server-version: {v:?} is not a version like 2.15.1"
                        ));
                    }
                    self.targets.versions.push(v.to_string());
                }
            }
            "--nats-server" => self.targets.nats_server = Some(value("--nats-server")?.into()),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The targets: the reference added when asked for or when no command was given, and
    /// unnamed columns that share a program's name numbered (`svc`, `svc#2`).
    pub fn finish(self) -> Result<Targets, String> {
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
