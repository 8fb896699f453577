//! The photo's own clock as a clue: EXIF's capture time and the camera clock's UTC offset
//! say in which time zones the photo can have been taken (where that offset was legal time on
//! that date, daylight saving included). Time-zone boundaries from timezone-boundary-builder
//! (ODbL, through `tzf-rs`), rules from the IANA database (through `chrono-tz`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{NaiveDateTime, Offset, TimeZone};
use serde::Serialize;

use crate::geo::latlon::LatLonDeg;
use crate::photo::exif::PhotoFacts;

/// What a point outside the matching zones keeps of its probability: small, not zero, since
/// clocks are sometimes left on home time or never set.
pub const OUTSIDE_ZONE_FACTOR: f32 = 0.05;

/// The camera clock: local capture time and its offset from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CameraClock {
    pub local: NaiveDateTime,
    /// Minutes east of UTC (+09:00 is 540, -03:30 is -210).
    pub utc_offset_min: i32,
}

impl CameraClock {
    /// "UTC+09:00 on 2019-04-03".
    pub fn describe(&self) -> String {
        let sign = if self.utc_offset_min < 0 { '-' } else { '+' };
        let m = self.utc_offset_min.abs();
        format!(
            "UTC{sign}{:02}:{:02} on {}",
            m / 60,
            m % 60,
            self.local.format("%Y-%m-%d")
        )
    }

    fn utc(&self) -> NaiveDateTime {
        self.local - chrono::Duration::minutes(i64::from(self.utc_offset_min))
    }

    /// Whether the zone named `zone` (IANA) kept this clock's offset at the capture instant;
    /// `None` for a name the rules do not know.
    pub fn matches_zone(&self, zone: &str) -> Option<bool> {
        let tz: chrono_tz::Tz = zone.parse().ok()?;
        let offset_s = tz
            .offset_from_utc_datetime(&self.utc())
            .fix()
            .local_minus_utc();
        Some(offset_s == self.utc_offset_min * 60)
    }
}

/// Why a photo's clock tags give no clue (the prediction goes on without it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("EXIF clock offset {0:?} is not ±HH:MM; ignored")]
    Offset(String),
    #[error("EXIF capture time {0:?} is not a date; clock ignored")]
    CaptureTime(String),
}

/// The camera clock of a photo: `Ok(None)` when EXIF has no offset or no capture time (no
/// clue, nothing changes); `Err` for an offset or time that cannot be read (the prediction
/// goes on without the clue).
pub fn camera_clock(facts: &PhotoFacts) -> Result<Option<CameraClock>, ClockError> {
    let (Some(offset), Some(taken_at)) = (&facts.utc_offset, &facts.taken_at) else {
        return Ok(None);
    };
    let utc_offset_min =
        parse_utc_offset(offset).ok_or_else(|| ClockError::Offset(offset.clone()))?;
    let local = NaiveDateTime::parse_from_str(taken_at.trim(), "%Y:%m:%d %H:%M:%S")
        .map_err(|_| ClockError::CaptureTime(taken_at.clone()))?;
    Ok(Some(CameraClock {
        local,
        utc_offset_min,
    }))
}

/// "+09:00", "-03:30", "+0530" as minutes east of UTC (within ±14 h).
pub fn parse_utc_offset(text: &str) -> Option<i32> {
    let text = text.trim();
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    (minutes < 60 && hours * 60 + minutes <= 14 * 60).then_some(sign * (hours * 60 + minutes))
}

/// Every gallery point's time zone, looked up once (about 0.1 s for 100k points).
#[derive(Debug)]
pub struct ZoneIndex {
    /// Zone names (IANA), each once.
    names: Vec<String>,
    /// For each point, its index in `names`.
    zone_of_point: Vec<u16>,
}

/// The time-zone finder, built once per process (about 0.1 s).
fn finder() -> &'static tzf_rs::DefaultFinder {
    static FINDER: OnceLock<tzf_rs::DefaultFinder> = OnceLock::new();
    FINDER.get_or_init(tzf_rs::DefaultFinder::new)
}

/// The IANA zone at a position ("" at sea where no zone is drawn).
pub fn zone_at(at: LatLonDeg) -> &'static str {
    finder().get_tz_name(at.lon_deg, at.lat_deg)
}

impl ZoneIndex {
    pub fn new(points: &[LatLonDeg]) -> Self {
        let mut ids: BTreeMap<&str, u16> = BTreeMap::new();
        let mut names = Vec::new();
        let zone_of_point = points
            .iter()
            .map(|p| {
                let name = zone_at(*p);
                *ids.entry(name).or_insert_with(|| {
                    names.push(name.to_string());
                    (names.len() - 1) as u16
                })
            })
            .collect();
        Self {
            names,
            zone_of_point,
        }
    }

    /// For each point, whether its zone kept the clock's offset (points in zones the rules do
    /// not know count as matching: no evidence against them).
    pub fn points_matching(&self, clock: &CameraClock) -> Vec<bool> {
        let zone_matches: Vec<bool> = self
            .names
            .iter()
            .map(|name| clock.matches_zone(name).unwrap_or(true))
            .collect();
        self.zone_of_point
            .iter()
            .map(|&z| zone_matches[usize::from(z)])
            .collect()
    }

    /// The zones that kept the clock's offset, by name.
    pub fn matching_zones(&self, clock: &CameraClock) -> Vec<String> {
        self.names
            .iter()
            .filter(|name| clock.matches_zone(name) == Some(true))
            .cloned()
            .collect()
    }
}

/// What the clock said about one photo's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClockClue {
    /// "UTC+09:00 on 2019-04-03".
    pub clock: String,
    /// The time zones (IANA) that kept that offset then, among the gallery's.
    pub matching_zones: Vec<String>,
    /// The share of the model's own probability already inside those zones.
    pub mass_in_zones: f64,
    /// Whether the prior was applied to the answer.
    pub applied: bool,
    /// With EXIF GPS: whether the clock's offset was legal time at that position.
    pub agrees_with_gps: Option<bool>,
}

/// Scales the probability of points outside the matching zones by [`OUTSIDE_ZONE_FACTOR`] and
/// renormalises; returns the share of the mass that was inside before.
pub fn apply_clock_prior(probabilities: &mut [f32], inside: &[bool]) -> f64 {
    let total: f64 = probabilities.iter().map(|&p| f64::from(p)).sum();
    let before: f64 = probabilities
        .iter()
        .zip(inside)
        .filter(|(_, inside)| **inside)
        .map(|(&p, _)| f64::from(p))
        .sum();
    for (p, inside) in probabilities.iter_mut().zip(inside) {
        if !inside {
            *p *= OUTSIDE_ZONE_FACTOR;
        }
    }
    let after: f64 = probabilities.iter().map(|&p| f64::from(p)).sum();
    if after > 0.0 {
        let scale = (total / after) as f32;
        probabilities.iter_mut().for_each(|p| *p *= scale);
    }
    if total > 0.0 { before / total } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(local: &str, offset: &str) -> CameraClock {
        camera_clock(&PhotoFacts {
            taken_at: Some(local.into()),
            utc_offset: Some(offset.into()),
            ..PhotoFacts::default()
        })
        .expect("readable")
        .expect("a clock")
    }

    #[test]
    fn offsets_match_zones_with_daylight_saving() {
        // Paris keeps +01:00 in winter and +02:00 in summer.
        let july_plus_one = clock("2019:07:03 12:00:00", "+01:00");
        let july_plus_two = clock("2019:07:03 12:00:00", "+02:00");
        let january_plus_one = clock("2019:01:15 12:00:00", "+01:00");
        assert_eq!(july_plus_one.matches_zone("Europe/Paris"), Some(false));
        assert_eq!(july_plus_two.matches_zone("Europe/Paris"), Some(true));
        assert_eq!(january_plus_one.matches_zone("Europe/Paris"), Some(true));
        // London is +01:00 in July.
        assert_eq!(july_plus_one.matches_zone("Europe/London"), Some(true));
        // Half-hour offsets: India +05:30, Adelaide +09:30 in its winter (July).
        let india = clock("2020:02:10 09:00:00", "+05:30");
        assert_eq!(india.matches_zone("Asia/Kolkata"), Some(true));
        assert_eq!(india.matches_zone("Asia/Dhaka"), Some(false));
        assert_eq!(
            clock("2020:07:10 09:00:00", "+09:30").matches_zone("Australia/Adelaide"),
            Some(true)
        );
        assert_eq!(july_plus_two.matches_zone("Not/AZone"), None);
        assert_eq!(july_plus_two.describe(), "UTC+02:00 on 2019-07-03");
        assert_eq!(
            clock("2019:07:03 12:00:00", "-03:30").describe(),
            "UTC-03:30 on 2019-07-03"
        );
    }

    #[test]
    fn missing_or_malformed_tags_never_fail_the_photo() {
        assert_eq!(camera_clock(&PhotoFacts::default()), Ok(None));
        let no_time = PhotoFacts {
            utc_offset: Some("+09:00".into()),
            ..PhotoFacts::default()
        };
        assert_eq!(camera_clock(&no_time), Ok(None));
        for bad in ["09:00", "+9", "+25:00", "+09:75", "UTC+9", ""] {
            let facts = PhotoFacts {
                taken_at: Some("2019:07:03 12:00:00".into()),
                utc_offset: Some(bad.into()),
                ..PhotoFacts::default()
            };
            let note = camera_clock(&facts).expect_err(bad);
            assert_eq!(note, ClockError::Offset(bad.into()));
            assert!(note.to_string().contains("ignored"), "{bad}: {note}");
        }
        assert_eq!(parse_utc_offset("+0530"), Some(330));
        assert_eq!(parse_utc_offset("-03:30"), Some(-210));
    }

    #[test]
    fn the_zone_index_finds_real_zones_and_the_prior_keeps_the_rest_small() {
        let points = [
            LatLonDeg {
                lat_deg: 48.8566,
                lon_deg: 2.3522,
            }, // Paris
            LatLonDeg {
                lat_deg: 51.5074,
                lon_deg: -0.1278,
            }, // London
            LatLonDeg {
                lat_deg: 35.0116,
                lon_deg: 135.7681,
            }, // Kyoto
        ];
        let zones = ZoneIndex::new(&points);
        let summer_plus_two = clock("2019:07:03 12:00:00", "+02:00");
        assert_eq!(
            zones.points_matching(&summer_plus_two),
            [true, false, false]
        );
        assert_eq!(zones.matching_zones(&summer_plus_two), ["Europe/Paris"]);
        let mut p = [0.2f32, 0.3, 0.5];
        let before = apply_clock_prior(&mut p, &zones.points_matching(&summer_plus_two));
        assert!((before - 0.2).abs() < 1e-6);
        let sum: f32 = p.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "renormalised: {p:?}");
        assert!(
            p[0] > 0.7 && p[1] > 0.0 && p[2] > 0.0,
            "scaled, never zeroed: {p:?}"
        );
        assert!(
            (p[1] / p[2] - 0.3 / 0.5).abs() < 1e-5,
            "the rest keep their ratio"
        );
    }
}
