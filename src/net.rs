//! What every HTTP client of geolens shares: our User-Agent, the TLS provider, bounded waits,
//! and reading a range answer's `Content-Range`.

use std::time::Duration;

/// A blocking client with our User-Agent that waits at most `connect` for a connection and
/// `each_wait` for the headers or each read of a body (not for a whole body).
pub fn blocking_client(
    connect: Duration,
    each_wait: Duration,
) -> reqwest::Result<reqwest::blocking::Client> {
    // reqwest is built without a default TLS provider: install ring's once.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .user_agent(crate::USER_AGENT)
        .connect_timeout(connect)
        .timeout(each_wait)
        .build()
}

/// A response's `Content-Range: bytes FIRST-LAST/TOTAL` as `(first, last, total)` (`total`
/// `None` for `*`); `None` when absent or malformed.
pub fn content_range(response: &reqwest::blocking::Response) -> Option<(u64, u64, Option<u64>)> {
    let value = response
        .headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    parse_content_range(value)
}

fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    let (span, total) = value.strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    Some((
        first.trim().parse().ok()?,
        last.trim().parse().ok()?,
        total.trim().parse().ok(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_are_read_as_servers_write_them() {
        assert_eq!(
            parse_content_range("bytes 0-9/100"),
            Some((0, 9, Some(100)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, 9, None)));
        assert_eq!(parse_content_range("bytes */100"), None);
        assert_eq!(parse_content_range("items 0-9/100"), None);
    }
}
