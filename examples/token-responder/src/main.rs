//! An example auth-callout responder that does not read a users.json: it admits the holder of
//! an HMAC-signed token into the token's account, with the token's permissions, until the
//! token expires. It exists to show how `callout-conformance run --profile` judges a responder
//! with a backend of its own (`profile.toml` beside this crate), and it is small enough to copy.
//!
//! ```text
//! token-responder -nats.url URL [-nats.user U -nats.pass P] -issuer.seed SEED [-xkey.seed SEED] -hmac.key FILE
//! token-responder mint -hmac.key FILE -name NAME -account ACCOUNT -ttl SECS [-pub SUBJECT]... [-sub SUBJECT]...
//! ```
//!
//! `-fault ignore-expiry` is a deliberate defect (expired tokens admitted, user JWTs without
//! `exp`): it exists only so the suite can show that it catches it.

mod decide;
mod token;

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{bail, Context};
use callout_codec::{CurveSecret, KeyKind, Signer};
use futures_util::StreamExt;

use decide::Decider;
use token::{TokenClaims, TokenKey};

/// Flags in Go's style, as the NATS by Example services take them: `-name value` or
/// `-name=value`; `repeated` names may appear more than once.
fn parse_flags(
    args: &[String],
    known: &[&str],
    repeated: &[&str],
) -> anyhow::Result<HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let Some(flag) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')) else {
            bail!("unexpected argument {a:?}: flags are -name value");
        };
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => {
                let v = it
                    .next()
                    .with_context(|| format!("-{flag} needs a value"))?;
                (flag.to_string(), v.clone())
            }
        };
        if !known.contains(&name.as_str()) {
            bail!(
                "unknown flag -{name}; the flags are {}",
                known
                    .iter()
                    .map(|k| format!("-{k}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        let values = out.entry(name.clone()).or_default();
        if !values.is_empty() && !repeated.contains(&name.as_str()) {
            bail!("-{name} is given twice");
        }
        values.push(value);
    }
    Ok(out)
}

fn one<'a>(flags: &'a HashMap<String, Vec<String>>, name: &str) -> Option<&'a str> {
    flags.get(name).and_then(|v| v.first()).map(String::as_str)
}

fn required<'a>(flags: &'a HashMap<String, Vec<String>>, name: &str) -> anyhow::Result<&'a str> {
    one(flags, name)
        .filter(|v| !v.is_empty())
        .with_context(|| format!("-{name} is required"))
}

fn read_key(flags: &HashMap<String, Vec<String>>) -> anyhow::Result<TokenKey> {
    let path = required(flags, "hmac.key")?;
    let bytes = std::fs::read(path).with_context(|| format!("-hmac.key {path}: cannot read it"))?;
    TokenKey::from_file_bytes(&bytes).map_err(|e| anyhow::anyhow!("-hmac.key {path}: {e}"))
}

fn mint(args: &[String]) -> anyhow::Result<()> {
    let flags = parse_flags(
        args,
        &["hmac.key", "name", "account", "ttl", "pub", "sub"],
        &["pub", "sub"],
    )?;
    let key = read_key(&flags)?;
    let ttl: i64 = required(&flags, "ttl")?
        .parse()
        .context("-ttl: give whole seconds, e.g. -ttl 600 (negative: already expired)")?;
    let claims = TokenClaims {
        name: required(&flags, "name")?.into(),
        account: required(&flags, "account")?.into(),
        exp: callout_codec::unix_now() + ttl,
        publish: flags.get("pub").cloned(),
        subscribe: flags.get("sub").cloned(),
    };
    println!("{}", key.mint(&claims));
    Ok(())
}

async fn serve(args: &[String]) -> anyhow::Result<()> {
    let flags = parse_flags(
        args,
        &[
            "nats.url",
            "nats.user",
            "nats.pass",
            "issuer.seed",
            "xkey.seed",
            "hmac.key",
            "fault",
        ],
        &[],
    )?;
    let url = required(&flags, "nats.url")?;
    let issuer = Signer::from_seed(required(&flags, "issuer.seed")?, KeyKind::Account)
        .map_err(|e| anyhow::anyhow!("-issuer.seed: {e}; give an account seed (SA…)"))?;
    let xkey = match one(&flags, "xkey.seed").filter(|s| !s.is_empty()) {
        Some(s) => Some(
            CurveSecret::from_seed(s)
                .map_err(|e| anyhow::anyhow!("-xkey.seed: {e}; give a curve seed (SX…)"))?,
        ),
        None => None,
    };
    let ignore_expiry = match one(&flags, "fault") {
        None => false,
        Some("ignore-expiry") => true,
        Some(f) => bail!("-fault {f}: the only fault is ignore-expiry"),
    };
    let tokens = read_key(&flags)?;
    let mut opts = async_nats::ConnectOptions::new()
        .name("token-responder")
        .retry_on_initial_connect()
        .max_reconnects(None);
    match (one(&flags, "nats.user"), one(&flags, "nats.pass")) {
        (Some(u), Some(p)) => opts = opts.user_and_password(u.into(), p.into()),
        (None, None) => {}
        _ => bail!("-nats.user and -nats.pass go together"),
    }
    let decider = Arc::new(Decider::new(issuer, xkey, tokens, ignore_expiry));
    let client = opts
        .connect(url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let mut sub = client
        .queue_subscribe(callout_codec::AUTH_CALLOUT_SUBJECT, "q".to_string())
        .await?;
    client.flush().await?;
    eprintln!("token-responder: ready");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        let msg = tokio::select! {
            m = sub.next() => m,
            _ = term.recv() => return Ok(()),
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let Some(msg) = msg else {
            eprintln!("token-responder: the subscription ended (the connection broke); exiting with an error so a supervisor restarts it");
            std::process::exit(1);
        };
        let Some(reply) = msg.reply.clone() else {
            continue;
        };
        let header = msg
            .headers
            .as_ref()
            .and_then(|h| h.get(callout_codec::SERVER_XKEY_HEADER))
            .map(|v| v.as_str().to_string());
        let d = decider.handle(&msg.payload, header.as_deref(), callout_codec::unix_now());
        eprintln!("token-responder: {}", d.summary);
        if let Some(bytes) = d.reply {
            client.publish(reply, bytes.into()).await?;
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("mint") => mint(&args[1..]),
        _ => serve(&args).await,
    };
    if let Err(e) = result {
        eprintln!("token-responder: {e:#}");
        std::process::exit(2);
    }
}
