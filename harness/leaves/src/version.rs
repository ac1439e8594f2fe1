//! nats-server versions: parsing `2.15.1` and comparing it, the one rule every `min_server`,
//! `before_server` and matrix column goes through.

/// Parses `2.15.1` (or `v2.15`, read as `2.15.0`) into a comparable triple.
pub fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut it = v
        .trim()
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse::<u32>().ok());
    Some((it.next()??, it.next()??, it.next().unwrap_or(Some(0))?))
}

/// True when `server` is at least `min` (true when either does not parse: a version the
/// harness cannot read never hides a case).
pub fn version_at_least(server: &str, min: &str) -> bool {
    match (parse_version(server), parse_version(min)) {
        (Some(s), Some(m)) => s >= m,
        _ => true,
    }
}

/// `Ok` when `v` reads as a version, else the message a file error carries.
pub fn check_version(v: &str) -> Result<(), String> {
    parse_version(v)
        .map(|_| ())
        .ok_or_else(|| format!("{v:?} is not a version like 2.11.0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_numbers() {
        assert_eq!(parse_version("v2.15"), Some((2, 15, 0)));
        assert!(version_at_least("2.10.26", "2.10.3"));
        assert!(!version_at_least("2.9.9", "2.10.0"));
        assert!(check_version("two").is_err());
    }
}
