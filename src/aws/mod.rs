//! AWS credentials for the app container: resolving the developer's identity on the host
//! ([`identity`]), spotting a dead SSO session before anything calls AWS ([`sso`]), serving
//! short-lived credentials over the ECS container-credentials protocol ([`server`]), and the
//! environment variables that point the app container at them ([`container_env`]).
//!
//! Everything here reads the process environment through [`crate::env::Environment`], never
//! `std::env`: file locations, profile selection, region and endpoint all come from the
//! snapshot (see [`config`] for how that is fed into `aws-config`).
//!
//! Secrets never leave this module in a printable form: access key ids are shown masked
//! ([`mask_key_id`]), and no `Debug` or `Display` here includes a secret key, session token or
//! endpoint token.

pub mod app;
pub mod chain;
pub mod config;
pub mod container_env;
pub mod endpoint_process;
pub mod error;
pub mod identity;
pub mod route;
pub mod server;
pub mod sso;

#[cfg(test)]
mod moto_tests;
#[cfg(test)]
pub(crate) mod testing;

use std::net::Ipv4Addr;
use std::time::{SystemTime, UNIX_EPOCH};

pub use app::{AppAws, Intent};
pub use chain::{ChainLink, HostCredentials};
pub use config::{AwsFiles, ProfileOrigin};
pub use container_env::{ContainerEnv, Wiring, container_env};
pub use error::AwsError;
pub use identity::{CredentialSource, HostAws, HostOptions, Identity};
pub use server::{EndpointSecrets, ServerHandle, ServerOptions, ServerStatus};
pub use sso::SsoState;

/// The link-local network of the credential endpoint, as on ECS: the SDKs' container
/// provider calls `http://169.254.170.2<relative URI>`; the host holds `.1`.
pub const CREDENTIAL_SUBNET: &str = "169.254.170.0/24";
/// The host's address on the credential network, where the endpoint listens.
pub const ENDPOINT_HOST_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 1);
/// The relay container's address: the one every AWS SDK's container provider calls.
pub const RELAY_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 2);

/// The region the app container gets: the host's resolution, or `us-east-1` for an emulator.
pub fn app_region(host: &HostAws, mode: crate::model::AwsMode) -> Result<String, AwsError> {
    host.region
        .clone()
        .or_else(|| (mode == crate::model::AwsMode::Emulator).then(|| "us-east-1".to_owned()))
        .ok_or_else(|| AwsError::NoRegion {
            profile: host.profile.clone(),
        })
}

/// An access key id with all but its last four characters hidden, as `aws configure list`
/// shows it: `****************WXYZ`.
pub fn mask_key_id(key_id: &str) -> String {
    let chars: Vec<char> = key_id.chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let keep = chars.len() - 4;
    let mut masked = "*".repeat(keep);
    masked.extend(&chars[keep..]);
    masked
}

/// `count` random bytes from the operating system, as lowercase hex.
pub fn random_hex(count: usize) -> Result<String, AwsError> {
    let mut bytes = vec![0_u8; count];
    getrandom::fill(&mut bytes).map_err(|e| AwsError::Random(e.to_string()))?;
    Ok(hex(&bytes))
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// `time` as RFC 3339 in UTC, to the second: `2026-11-22T10:00:00Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    aws_smithy_types::DateTime::from_secs(secs)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// Parses an RFC 3339 timestamp as the AWS CLI and SDKs write them (`...Z`, or the older
/// `...UTC` suffix of early CLI v2 releases).
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let normalised = text
        .strip_suffix("UTC")
        .map_or_else(|| text.to_owned(), |t| format!("{t}Z"));
    let parsed = aws_smithy_types::DateTime::from_str(
        &normalised,
        aws_smithy_types::date_time::Format::DateTime,
    )
    .ok()?;
    SystemTime::try_from(parsed).ok()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn key_ids_keep_only_the_last_four_characters() {
        assert_eq!(mask_key_id("AKIAIOSFODNN7EXAMPLE"), "****************MPLE");
        assert_eq!(mask_key_id("ABCDE"), "*BCDE");
        assert_eq!(mask_key_id("ABCD"), "****");
        assert_eq!(mask_key_id(""), "");
    }

    #[test]
    fn random_hex_is_fresh_and_of_the_asked_length() {
        let a = random_hex(32).unwrap();
        let b = random_hex(32).unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn timestamps_round_trip_and_accept_the_old_utc_suffix() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let text = rfc3339(t);
        assert_eq!(text, "2026-11-18T11:06:40Z");
        assert_eq!(parse_rfc3339(&text), Some(t));
        assert_eq!(parse_rfc3339("2026-11-18T11:06:40UTC"), Some(t));
        assert_eq!(
            parse_rfc3339("2026-11-18T11:06:40.250Z").map(|p| p > t),
            Some(true)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
