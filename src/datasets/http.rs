//! The few HTTP calls the dataset fetcher makes: a whole small file, a byte range, a file's
//! tail. Our User-Agent, bounded waits; every range answer is checked to be the bytes asked.

use std::io::Read;
use std::time::Duration;

use super::DatasetError;

pub struct Http {
    client: reqwest::blocking::Client,
}

fn network(url: &str, e: &dyn std::fmt::Display) -> DatasetError {
    DatasetError::Network {
        url: url.to_string(),
        message: e.to_string(),
    }
}

impl Http {
    pub fn new() -> Result<Self, DatasetError> {
        let client = crate::net::blocking_client(Duration::from_secs(20), Duration::from_secs(60))
            .map_err(|e| network("", &e))?;
        Ok(Self { client })
    }

    fn send(
        &self,
        url: &str,
        range: Option<String>,
    ) -> Result<reqwest::blocking::Response, DatasetError> {
        let mut request = self.client.get(url);
        if let Some(range) = range {
            request = request.header(reqwest::header::RANGE, range);
        }
        let response = request.send().map_err(|e| network(url, &e))?;
        match response.status().as_u16() {
            200 | 206 => Ok(response),
            status => Err(DatasetError::Http {
                url: url.to_string(),
                status,
            }),
        }
    }

    /// A whole file of at most `limit` bytes.
    pub fn get(&self, url: &str, limit: u64) -> Result<Vec<u8>, DatasetError> {
        let mut bytes = Vec::new();
        self.send(url, None)?
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| network(url, &e))?;
        if bytes.len() as u64 > limit {
            return Err(network(url, &format!("larger than {limit} bytes")));
        }
        Ok(bytes)
    }

    /// The bytes `[first, last]`, exactly; a connection cut short is tried twice more.
    pub fn range(&self, url: &str, first: u64, last: u64) -> Result<Vec<u8>, DatasetError> {
        let mut tries = 0;
        loop {
            match self.range_once(url, first, last) {
                Err(DatasetError::Network { .. }) if tries < 2 => tries += 1,
                other => return other,
            }
        }
    }

    fn range_once(&self, url: &str, first: u64, last: u64) -> Result<Vec<u8>, DatasetError> {
        let response = self.send(url, Some(format!("bytes={first}-{last}")))?;
        let (start, _) = content_range(url, &response)?;
        if start != first {
            return Err(DatasetError::BadZip {
                url: url.to_string(),
                message: format!("asked for bytes from {first}, the server answered from {start}"),
            });
        }
        let mut bytes = Vec::new();
        response
            .take(last - first + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| network(url, &e))?;
        if bytes.len() as u64 != last - first + 1 {
            return Err(network(url, &"the connection closed early"));
        }
        Ok(bytes)
    }

    /// The last `n` bytes of a file, and the file's length: its first byte tells the length
    /// (servers that do not take suffix ranges, `bytes=-n`, all take this), then the tail.
    pub fn tail(&self, url: &str, n: u64) -> Result<(Vec<u8>, u64), DatasetError> {
        let response = self.send(url, Some("bytes=0-0".into()))?;
        let (_, total) = content_range(url, &response)?;
        drop(response);
        if total == 0 {
            return Ok((Vec::new(), 0));
        }
        let first = total.saturating_sub(n);
        Ok((self.range(url, first, total - 1)?, total))
    }
}

/// `Content-Range: bytes a-b/total` of a 206 answer as (a, total); anything else means the
/// server does not serve ranges.
fn content_range(
    url: &str,
    response: &reqwest::blocking::Response,
) -> Result<(u64, u64), DatasetError> {
    let no_ranges = || DatasetError::NoRanges {
        url: url.to_string(),
    };
    if response.status().as_u16() != 206 {
        return Err(no_ranges());
    }
    match crate::net::content_range(response) {
        Some((start, _, Some(total))) => Ok((start, total)),
        _ => Err(no_ranges()),
    }
}
