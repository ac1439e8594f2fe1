//! The reference NATS auth-callout responder, as a library: flags ([`flags`]), the users
//! directory ([`users`]), the per-request decision ([`handler`]) and the NATS service loop
//! ([`service`]). The binary `callout-responder` is a thin shell over [`run_main`]; the test
//! binary `callout-mutant` is the same program with the seams of [`policy`] bent by
//! [`mutant`].
//!
//! Architecture invariant: all cryptography and claim encoding goes through `callout-codec`;
//! the handler never touches a socket and the service never makes a decision.

pub mod cert;
pub mod flags;
pub mod handler;
pub mod log;
pub mod mutant;
pub mod nats_url;
pub mod operator;
pub mod policy;
pub mod quirks;
pub mod replay;
pub mod service;
pub mod token_index;
pub mod users;

use std::sync::Arc;

use callout_codec::{CurveSecret, KeyKind, Signer};

use crate::flags::{seed_from_flag, Flags};
use crate::handler::{Fault, Responder};
use crate::mutant::Mutant;
use crate::nats_url::NatsUrl;
use crate::policy::Policy;
use crate::quirks::Quirks;
use crate::users::UserDirectory;

/// The responder a binary runs: the reference, or (the mutant binary) one with faults and
/// quirks.
pub enum Built {
    /// `callout-responder`.
    Reference(Box<Responder>),
    /// `callout-mutant`, with the faults and quirks of its flags (maybe none).
    Mutant(Box<Responder<Mutant>>),
}

/// Builds the responder from flags and the `-quirk` value (see [`quirks`]), or explains what
/// is wrong with them. `allow_faults` (the mutant binary) accepts `-fault` and `-quirk`.
pub fn build(flags: &Flags, quirk: Option<&str>, allow_faults: bool) -> Result<Built, String> {
    if quirk.is_some() && !allow_faults {
        return Err("-quirk is only accepted by the callout-mutant test binary".into());
    }
    let issuer_flag = flags.issuer_seed.as_deref().ok_or(
        "-issuer.seed is required: pass the issuer account seed (SA…) or a file holding it",
    )?;
    let issuer_seed = seed_from_flag("-issuer.seed", issuer_flag)?;
    let issuer = Signer::from_seed(&issuer_seed, KeyKind::Account)
        .map_err(|e| format!("-issuer.seed: {e}; pass the seed of the account named as auth_callout.issuer (it starts with SA)"))?;
    let xkey = match &flags.xkey_seed {
        None => None,
        Some(v) => {
            let s = seed_from_flag("-xkey.seed", v)?;
            Some(CurveSecret::from_seed(&s).map_err(|e| format!("-xkey.seed: {e}; pass the curve seed (SX…) whose public key is auth_callout.xkey"))?)
        }
    };
    let users_path = flags
        .users
        .as_ref()
        .ok_or("-users is required: pass the path of users.json")?;
    let quirks = Quirks::parse(quirk, flags.fault.as_deref())?;
    let users = UserDirectory::load(users_path).map_err(|e| e.to_string())?;
    if users.is_empty() {
        tracing::warn!(file = %users_path.display(), "the users file has no users: every client will be refused");
    }
    for u in &users.passwordless {
        tracing::warn!(user = %u, "user has no password, nkey or token in the users file and will never be admitted");
    }
    let mut faults = Vec::new();
    if let Some(f) = &flags.fault {
        if !allow_faults {
            return Err("-fault is only accepted by the callout-mutant test binary".into());
        }
        for name in f
            .split(',')
            .filter(|n| !n.is_empty() && !Quirks::is_own_fault(n))
        {
            faults.push(Fault::by_name(name).ok_or_else(|| {
                let mut all: Vec<&str> = Fault::ALL.iter().map(|(n, _)| *n).collect();
                all.extend(["silent-after=N", "crash-after=N", "slow=SECS"]);
                format!("-fault: unknown fault {name:?}; known: {}", all.join(", "))
            })?);
        }
    }
    let signing = match (&flags.signing_keys, &flags.scoped_keys) {
        (None, None) => None,
        (None, Some(_)) => return Err("-scoped.keys is given without -signing.keys: operator mode needs -signing.keys (and -nats.creds); -scoped.keys only adds the accounts whose key is scoped".into()),
        (Some(list), scoped) => {
            let mut keys = operator::SigningKeys::parse(list)?;
            if let Some(scoped) = scoped {
                keys.add_scoped(scoped)?;
            }
            keys.check_users(&users, users_path)?;
            Some(keys)
        }
    };
    // Operator mode: the callout account is the issuer account of the service user's JWT.
    let callout_account = match &flags.nats_creds {
        None => None,
        Some(path) => {
            let (_, creds) = read_creds(path)?;
            let user = callout_codec::jwt::decode::<callout_codec::User>(&creds.jwt).map_err(|e| {
                format!("-nats.creds: {}: the JWT is not a valid user JWT ({e}); pass the creds file of the callout account's service user", path.display())
            })?;
            Some(if user.nats.issuer_account.is_empty() {
                user.iss
            } else {
                user.nats.issuer_account
            })
        }
    };
    let reference = Responder::new(issuer, xkey, users)
        .with_signing_keys(signing)
        .with_callout_account(callout_account);
    Ok(if allow_faults {
        Built::Mutant(Box::new(reference.mutant(faults, quirks)))
    } else {
        Built::Reference(Box::new(reference))
    })
}

/// Reads and parses the `-nats.creds` file: its text and what it holds, or an error naming the
/// file and the fix (the seed is never in it).
fn read_creds(path: &std::path::Path) -> Result<(String, callout_codec::creds::Creds), String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!("-nats.creds: cannot read {}: {e}; pass the creds file of the callout account's service user", path.display())
    })?;
    let creds = callout_codec::creds::parse_creds(&text)
        .map_err(|e| format!("-nats.creds: {}: {e}", path.display()))?;
    Ok((text, creds))
}

/// The connection settings from flags, checked before anything connects: the URL parses
/// (printed only redacted), `-nats.user` and `-nats.pass` come together.
pub fn service_config(flags: &Flags) -> Result<service::ServiceConfig, String> {
    let url = NatsUrl::parse(&flags.nats_url)?;
    match (&flags.nats_user, &flags.nats_pass) {
        (Some(_), None) => return Err("-nats.user is given without -nats.pass: pass both (the callout account's user and its password), or neither".into()),
        (None, Some(_)) => return Err("-nats.pass is given without -nats.user: pass both (the callout account's user and its password), or neither".into()),
        _ => {}
    }
    let creds = match &flags.nats_creds {
        None => None,
        Some(path) => {
            if flags.nats_user.is_some() || url.credentials.is_some() {
                return Err("-nats.creds is given with -nats.user or credentials in -nats.url: the creds file is the responder's login in operator mode; pass one or the other".into());
            }
            Some(read_creds(path)?.0)
        }
    };
    let workers = flags.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            * 4
    });
    Ok(service::ServiceConfig {
        url,
        user: flags.nats_user.clone(),
        pass: flags.nats_pass.clone(),
        creds,
        queue: flags.queue.clone(),
        workers: workers.min(flags::MAX_WORKERS),
        drain_timeout: flags.drain_timeout.unwrap_or(flags::DEFAULT_DRAIN_TIMEOUT),
    })
}

/// The whole program: parse flags, build, run. Returns the process exit code: 0 after a clean
/// drain, 2 for bad flags or files, 1 when the service fails or its drain is cut short (the
/// drain deadline passed, or a second signal).
pub fn run_main(args: Vec<String>, allow_faults: bool) -> i32 {
    let (args, quirk) = Quirks::take_flag(args);
    let flags = match Flags::parse(args) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("callout-responder: {e}");
            return 2;
        }
    };
    if flags.help {
        print!("{}", flags::HELP);
        return 0;
    }
    let filter = match tracing_subscriber::EnvFilter::try_new(&flags.log) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("callout-responder: -log (or $RUST_LOG): {:?} is not a log filter ({e}); pass a level such as info or debug, or directives such as info,callout_responder=debug", flags.log);
            return 2;
        }
    };
    let cfg = match service_config(&flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("callout-responder: {e}");
            return 2;
        }
    };
    let (writer, mut log_flusher) = log::buffered_stderr();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer)
        .with_target(false)
        .init();
    let result = match build(&flags, quirk.as_deref(), allow_faults) {
        Ok(Built::Reference(r)) => serve(cfg, *r),
        Ok(Built::Mutant(r)) => serve(cfg, *r),
        Err(e) => {
            log_flusher.finish();
            eprintln!("callout-responder: {e}");
            return 2;
        }
    };
    log_flusher.finish();
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("callout-responder: {e}");
            1
        }
    }
}

/// Runs the service with `responder` until it stops: the error to print when it failed.
fn serve<P: Policy>(cfg: service::ServiceConfig, responder: Responder<P>) -> Result<(), String> {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Err(format!("cannot start the runtime: {e}")),
    };
    responder.policy().before_connecting();
    let result = rt.block_on(service::run(cfg, Arc::new(responder)));
    // The client's reconnect task may still be trying a server that is gone: do not wait.
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    result.map(|_| ()).map_err(|e| format!("{e:#}"))
}
