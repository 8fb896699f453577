//! What every HTTP client of geolens shares: our User-Agent, the TLS provider, bounded waits,
//! and [`RangeClient`], the one place byte ranges are asked for and their answers checked (the
//! weight fetcher and the dataset fetcher both read through it).

use std::io::Read;
use std::time::{Duration, Instant};

/// Why an HTTP call failed; each fetcher names it in its own error.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("could not download {url}: {message}")]
    Network { url: String, message: String },
    #[error("{url}: the server answered HTTP {status}")]
    Status { url: String, status: u16 },
    /// A range was asked for and the whole file (200), or a 206 without a readable
    /// `Content-Range`, came back.
    #[error("{url}: the server does not answer HTTP range requests")]
    NoRanges { url: String },
    /// A 206 answer whose `Content-Range` is not the range asked for.
    #[error(
        "{url}: asked for bytes {first}-{last}, the server answered with other bytes (Content-Range: {answered})"
    )]
    WrongRange {
        url: String,
        first: u64,
        last: u64,
        answered: String,
    },
}

impl HttpError {
    fn network(url: &str, e: &dyn std::fmt::Display) -> Self {
        Self::Network {
            url: url.to_string(),
            message: e.to_string(),
        }
    }
}

/// An answer that passed: 200 for a whole file, or 206 holding the range asked for.
pub struct RangeResponse {
    pub status: u16,
    pub etag: Option<String>,
    /// The file's length from `Content-Range`, when the server says it.
    pub total_bytes: Option<u64>,
    pub body: Body,
}

/// The slowest a body may come in, on average, once its grace time is over: a server that
/// trickles a byte now and then never trips a per-read timeout, so this bounds the whole.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MinRate {
    pub bytes_per_s: u64,
    pub grace: Duration,
}

impl Default for MinRate {
    /// 1 KB/s on average after 30 s: any working connection is far faster.
    fn default() -> Self {
        Self {
            bytes_per_s: 1024,
            grace: Duration::from_secs(30),
        }
    }
}

/// A response body held to a [`MinRate`]: a read that finds the average below it fails.
pub struct Body {
    inner: reqwest::blocking::Response,
    min_rate: MinRate,
    started: Instant,
    bytes: u64,
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        let elapsed = self.started.elapsed();
        if n > 0
            && elapsed > self.min_rate.grace
            && (self.bytes as f64) < self.min_rate.bytes_per_s as f64 * elapsed.as_secs_f64()
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "the server sent {} bytes in {:.0} s, slower than {} bytes/s: given up",
                    self.bytes,
                    elapsed.as_secs_f64(),
                    self.min_rate.bytes_per_s
                ),
            ));
        }
        Ok(n)
    }
}

/// The one HTTP client for whole files and byte ranges.
pub struct RangeClient {
    client: reqwest::blocking::Client,
    min_rate: MinRate,
}

impl RangeClient {
    /// See [`blocking_client`] for what `connect` and `each_wait` bound.
    pub fn new(connect: Duration, each_wait: Duration) -> Result<Self, HttpError> {
        let client = blocking_client(connect, each_wait).map_err(|e| HttpError::network("", &e))?;
        Ok(Self {
            client,
            min_rate: MinRate::default(),
        })
    }

    /// The same client holding bodies to `min_rate` instead of the default.
    pub fn with_min_rate(self, min_rate: MinRate) -> Self {
        Self { min_rate, ..self }
    }

    /// GET `url`, the inclusive byte range `[first, last]` when given (only while the file's
    /// ETag is still `if_range`, when given). Only 200 and 206 pass; a 206 must start at
    /// `first` and end at `last` or before it (at the file's end).
    pub fn get(
        &self,
        url: &str,
        range: Option<(u64, u64)>,
        if_range: Option<&str>,
    ) -> Result<RangeResponse, HttpError> {
        let mut request = self.client.get(url);
        if let Some((first, last)) = range {
            request = request.header(reqwest::header::RANGE, format!("bytes={first}-{last}"));
            if let Some(etag) = if_range {
                request = request.header(reqwest::header::IF_RANGE, etag);
            }
        }
        let response = request.send().map_err(|e| HttpError::network(url, &e))?;
        let status = response.status().as_u16();
        if status != 200 && status != 206 {
            return Err(HttpError::Status {
                url: url.to_string(),
                status,
            });
        }
        let answered = content_range(&response);
        let mut total_bytes = None;
        if let (206, Some((first, last))) = (status, range) {
            match answered {
                Some((a, b, total)) if a == first && b <= last && a <= b => total_bytes = total,
                _ => {
                    let answered = response
                        .headers()
                        .get(reqwest::header::CONTENT_RANGE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("none")
                        .to_string();
                    return Err(HttpError::WrongRange {
                        url: url.to_string(),
                        first,
                        last,
                        answered,
                    });
                }
            }
        }
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok(RangeResponse {
            status,
            etag,
            total_bytes,
            body: Body {
                inner: response,
                min_rate: self.min_rate,
                started: Instant::now(),
                bytes: 0,
            },
        })
    }

    /// Exactly the bytes `[first, last]` (`first <= last`), with the file's ETag and length.
    pub fn range_bytes(
        &self,
        url: &str,
        first: u64,
        last: u64,
    ) -> Result<(Vec<u8>, RangeResponse), HttpError> {
        let mut response = self.get(url, Some((first, last)), None)?;
        if response.status != 206 {
            return Err(HttpError::NoRanges {
                url: url.to_string(),
            });
        }
        let wanted = last - first + 1;
        let mut bytes = Vec::new();
        response
            .body
            .by_ref()
            .take(wanted)
            .read_to_end(&mut bytes)
            .map_err(|e| HttpError::network(url, &e))?;
        if bytes.len() as u64 != wanted {
            return Err(HttpError::network(url, &"the connection closed early"));
        }
        Ok((bytes, response))
    }

    /// A whole file of at most `limit_bytes`.
    pub fn whole(&self, url: &str, limit_bytes: u64) -> Result<Vec<u8>, HttpError> {
        let mut bytes = Vec::new();
        self.get(url, None, None)?
            .body
            .take(limit_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| HttpError::network(url, &e))?;
        if bytes.len() as u64 > limit_bytes {
            return Err(HttpError::network(
                url,
                &format!("larger than {limit_bytes} bytes"),
            ));
        }
        Ok(bytes)
    }
}

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
fn content_range(response: &reqwest::blocking::Response) -> Option<(u64, u64, Option<u64>)> {
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
    use crate::testing::{Faults, LoopbackServer};

    fn serve(faults: Faults) -> (LoopbackServer, String, RangeClient) {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let server = LoopbackServer::start(vec![("f.bin".into(), bytes)], faults).expect("server");
        let url = format!("{}/f.bin", server.base_url);
        let client =
            RangeClient::new(Duration::from_secs(5), Duration::from_secs(5)).expect("client");
        (server, url, client)
    }

    #[test]
    fn ranges_come_back_exactly_or_as_the_error_that_happened() {
        let (server, url, client) = serve(Faults::default());
        let (bytes, answer) = client.range_bytes(&url, 300, 309).expect("a range");
        assert_eq!(
            bytes,
            (300..310).map(|i| (i % 256) as u8).collect::<Vec<_>>()
        );
        assert_eq!((answer.status, answer.total_bytes), (206, Some(1000)));
        assert!(answer.etag.is_some());
        assert_eq!(client.whole(&url, 1000).expect("whole").len(), 1000);
        assert!(matches!(
            client.whole(&url, 999),
            Err(HttpError::Network { message, .. }) if message.contains("larger than 999")
        ));
        let missing = format!("{}/missing.bin", server.base_url);
        assert!(matches!(
            client.range_bytes(&missing, 0, 7),
            Err(HttpError::Status { status: 404, .. })
        ));

        let (_server, url, client) = serve(Faults {
            no_ranges: true,
            ..Faults::default()
        });
        assert!(matches!(
            client.range_bytes(&url, 0, 7),
            Err(HttpError::NoRanges { .. })
        ));

        let (_server, url, client) = serve(Faults {
            range_shifted_by: 4,
            ..Faults::default()
        });
        match client.range_bytes(&url, 10, 19) {
            Err(HttpError::WrongRange {
                first: 10,
                last: 19,
                answered,
                ..
            }) => assert!(answered.starts_with("bytes 14-"), "{answered}"),
            other => panic!("a shifted range passed: {:?}", other.map(|(b, _)| b)),
        }
    }

    #[test]
    fn a_server_trickling_bytes_is_given_up_on_with_a_clear_error() {
        let (_server, url, client) = serve(Faults {
            trickle_every: Some(Duration::from_millis(20)),
            ..Faults::default()
        });
        let client = client.with_min_rate(MinRate {
            bytes_per_s: 200,
            grace: Duration::from_millis(500),
        });
        let started = Instant::now();
        let err = client.whole(&url, 1000).expect_err("too slow");
        assert!(started.elapsed() < Duration::from_secs(5), "{err}");
        assert!(err.to_string().contains("slower than 200 bytes/s"), "{err}");
        // A trickle above the floor still comes through.
        let client = RangeClient::new(Duration::from_secs(5), Duration::from_secs(5))
            .expect("client")
            .with_min_rate(MinRate {
                bytes_per_s: 10,
                grace: Duration::from_millis(100),
            });
        let (bytes, _) = client.range_bytes(&url, 0, 19).expect("slow but steady");
        assert_eq!(bytes.len(), 20);
    }

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
