//! The few HTTP calls the dataset fetcher makes: a whole small file, a byte range, a file's
//! tail, through [`crate::net::RangeClient`] (our User-Agent, bounded waits, every range answer
//! checked to be the bytes asked).

use std::time::Duration;

use super::DatasetError;
use crate::net::{HttpError, RangeClient};

pub struct Http {
    client: RangeClient,
}

impl From<HttpError> for DatasetError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Network { url, message } => Self::Network { url, message },
            HttpError::Status { url, status } => Self::Http { url, status },
            HttpError::NoRanges { url } => Self::NoRanges { url },
            HttpError::WrongRange {
                url,
                first,
                last,
                answered,
            } => Self::BadZip {
                url,
                message: format!(
                    "asked for bytes {first}-{last}, the server answered with other bytes \
                     (Content-Range: {answered})"
                ),
            },
        }
    }
}

impl Http {
    pub fn new() -> Result<Self, DatasetError> {
        let client = RangeClient::new(Duration::from_secs(20), Duration::from_secs(60))?;
        Ok(Self { client })
    }

    /// A whole file of at most `limit` bytes.
    pub fn get(&self, url: &str, limit: u64) -> Result<Vec<u8>, DatasetError> {
        Ok(self.client.whole(url, limit)?)
    }

    /// The bytes `[first, last]`, exactly; a connection cut short is tried twice more.
    pub fn range(&self, url: &str, first: u64, last: u64) -> Result<Vec<u8>, DatasetError> {
        let mut tries = 0;
        loop {
            match self.client.range_bytes(url, first, last) {
                Err(HttpError::Network { .. }) if tries < 2 => tries += 1,
                other => return Ok(other?.0),
            }
        }
    }

    /// The last `n` bytes of a file, and the file's length: its first byte tells the length
    /// (servers that do not take suffix ranges, `bytes=-n`, all take this), then the tail.
    pub fn tail(&self, url: &str, n: u64) -> Result<(Vec<u8>, u64), DatasetError> {
        let (_, first_byte) = self.client.range_bytes(url, 0, 0)?;
        let total = first_byte
            .total_bytes
            .ok_or_else(|| DatasetError::NoRanges {
                url: url.to_string(),
            })?;
        drop(first_byte);
        if total == 0 {
            return Ok((Vec::new(), 0));
        }
        let first = total.saturating_sub(n);
        Ok((self.range(url, first, total - 1)?, total))
    }
}
