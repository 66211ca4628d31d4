//! Socket addresses on command lines and in URLs: `HOST:PORT` or `HOST` and
//! `PORT` apart, where HOST is an IP address (`[::1]` for IPv6) or
//! `localhost`. coos has no name resolution yet, so any other host name is
//! an error that says so.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Why an address could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrError {
    /// Not `HOST:PORT` at all (no port, a bad port).
    Invalid(String),
    /// A host name other than `localhost`.
    Unresolved(String),
}

impl fmt::Display for AddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddrError::Invalid(text) => write!(f, "invalid address '{text}'"),
            AddrError::Unresolved(host) => {
                write!(f, "cannot resolve {host} (only IP addresses and localhost)")
            }
        }
    }
}

/// The IP address `host` names: an IP literal (IPv6 with or without
/// brackets) or `localhost` (127.0.0.1).
pub fn resolve(host: &str) -> Result<IpAddr, AddrError> {
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse()
        .map_err(|_| AddrError::Unresolved(host.to_string()))
}

/// A socket address from a host and a port given apart (`nc HOST PORT`).
pub fn from_parts(host: &str, port: &str) -> Result<SocketAddr, AddrError> {
    let port: u16 = port
        .parse()
        .map_err(|_| AddrError::Invalid(format!("{host}:{port}")))?;
    Ok(SocketAddr::new(resolve(host)?, port))
}

/// A socket address from `HOST:PORT` (`127.0.0.1:80`, `[::1]:80`,
/// `localhost:80`).
pub fn parse(text: &str) -> Result<SocketAddr, AddrError> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.ends_with(':') => from_parts(host, port),
        _ => Err(AddrError::Invalid(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_ip_literals_or_localhost() {
        assert_eq!(parse("127.0.0.1:80").unwrap().to_string(), "127.0.0.1:80");
        assert_eq!(parse("[::1]:8080").unwrap().to_string(), "[::1]:8080");
        assert_eq!(parse("localhost:7").unwrap().to_string(), "127.0.0.1:7");
        assert_eq!(from_parts("::1", "9").unwrap().to_string(), "[::1]:9");
        assert_eq!(from_parts("[::1]", "9").unwrap().to_string(), "[::1]:9");
    }

    #[test]
    fn other_names_and_bad_ports_are_errors() {
        assert_eq!(
            parse("example.com:80"),
            Err(AddrError::Unresolved("example.com".into()))
        );
        assert_eq!(
            AddrError::Unresolved("h".into()).to_string(),
            "cannot resolve h (only IP addresses and localhost)"
        );
        for bad in ["127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", ":80", "x"] {
            assert!(
                matches!(parse(bad), Err(AddrError::Invalid(_))),
                "{bad:?}: {:?}",
                parse(bad)
            );
        }
    }
}
