//! A position for each photo that has none, from the strongest clue the library holds: the
//! user's track, then the geotagged photos taken just before and after. Each proposal says
//! where, how sure (a radius in metres), from what, and why in words; a proposal the other
//! clue contradicts is flagged, not silently chosen.

use chrono::DateTime;

use super::clocks::Clocks;
use super::{LibraryPhoto, Track, TrackPoint};
use crate::geo::distance::haversine_km;
use crate::geo::latlon::LatLonDeg;

/// Where a proposal comes from, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ProposalSource {
    /// Interpolated on a track the user recorded.
    Track,
    /// Between the library's geotagged photos taken just before and after.
    Time,
    /// The position of a geotagged photo that is nearly the same picture.
    Lookalike,
    /// GeoCLIP's answer from the picture alone, with its 90 % credible radius.
    Model,
}

impl ProposalSource {
    pub fn name(self) -> &'static str {
        match self {
            Self::Track => "track",
            Self::Time => "time",
            Self::Lookalike => "lookalike",
            Self::Model => "model",
        }
    }
}

/// A proposed position and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Proposal {
    pub lat_deg: f64,
    pub lon_deg: f64,
    /// How far the photo may be from the point, in metres.
    pub radius_m: f64,
    pub source: ProposalSource,
    /// The evidence in words ("between IMG_0012 at 14:02 and IMG_0013 at 14:09 UTC, 180 m
    /// apart").
    pub evidence: String,
    /// Disagreements worth a look ("the photos taken before and after put it 2.3 km away").
    pub flags: Vec<String>,
    /// For the model's proposals: the probability of its most likely place (what
    /// `--min-confidence` compares).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

impl Proposal {
    pub fn at(&self) -> LatLonDeg {
        LatLonDeg {
            lat_deg: self.lat_deg,
            lon_deg: self.lon_deg,
        }
    }
}

/// The limits of each clue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProposeSettings {
    /// Track points around the photo's time are interpolated when both are this close
    /// (`--max-gap`, 30 min).
    pub track_gap_s: i64,
    /// One track point alone counts when this close (2 min).
    pub track_nearest_s: i64,
    /// Photos before and after are interpolated when they are this far apart in time (30 min).
    pub neighbour_gap_s: i64,
    /// One geotagged photo alone counts when this close in time (5 min).
    pub single_neighbour_s: i64,
    /// Faster than this between two photos (m/s; 70, about 250 km/h) is not believed.
    pub max_speed_mps: f64,
}

impl Default for ProposeSettings {
    fn default() -> Self {
        Self {
            track_gap_s: 30 * 60,
            track_nearest_s: 2 * 60,
            neighbour_gap_s: 30 * 60,
            single_neighbour_s: 5 * 60,
            max_speed_mps: 70.0,
        }
    }
}

/// How fast someone may stray from the straight line between two fixes (walking pace, m/s):
/// what turns a time gap into a radius.
const STRAY_SPEED_MPS: f64 = 1.5;
/// The smallest radius a track proposal claims (GPS fixes themselves are this good).
const TRACK_MIN_RADIUS_M: f64 = 10.0;
/// The smallest radius a time proposal claims.
const TIME_MIN_RADIUS_M: f64 = 25.0;

/// One proposal per photo (`None` for a photo that has a position, or that no clue covers).
pub fn propose(
    photos: &[LibraryPhoto],
    clocks: &Clocks,
    tracks: &[Track],
    settings: &ProposeSettings,
) -> Vec<Option<Proposal>> {
    let mut points: Vec<(TrackPoint, &str)> = tracks
        .iter()
        .flat_map(|t| t.points.iter().map(move |p| (*p, t.name.as_str())))
        .collect();
    points.sort_by_key(|(p, _)| p.utc_s);
    let mut fixes: Vec<Fix> = photos
        .iter()
        .filter_map(|p| {
            Some(Fix {
                utc_s: clocks.utc_s(p)?,
                at: p.position?.0,
                name: p.name(),
            })
        })
        .collect();
    fixes.sort_by_key(|f| f.utc_s);
    photos
        .iter()
        .map(|photo| {
            if photo.position.is_some() {
                return None;
            }
            let utc_s = clocks.utc_s(photo)?;
            let on_track = from_track(&points, utc_s, settings);
            let by_time = from_neighbours(&fixes, utc_s, settings);
            match (on_track, by_time) {
                (Some(mut track), Some(time)) => {
                    let apart_m = distance_m(track.at(), time.at());
                    if apart_m > track.radius_m + time.radius_m {
                        track.flags.push(format!(
                            "the photos taken before and after put it {} away",
                            metres_text(apart_m)
                        ));
                    }
                    Some(track)
                }
                (track, time) => track.or(time),
            }
        })
        .collect()
}

/// A geotagged photo of the library, on the UTC clock.
struct Fix {
    utc_s: i64,
    at: LatLonDeg,
    name: String,
}

fn from_track(points: &[(TrackPoint, &str)], utc_s: i64, s: &ProposeSettings) -> Option<Proposal> {
    let i = points.partition_point(|(p, _)| p.utc_s < utc_s);
    let after = points.get(i);
    let before = i.checked_sub(1).and_then(|j| points.get(j));
    if let (Some((p0, name)), Some((p1, _))) = (before, after)
        && utc_s - p0.utc_s <= s.track_gap_s
        && p1.utc_s - utc_s <= s.track_gap_s
    {
        let apart_m = distance_m(p0.at, p1.at);
        let at = between(p0.at, p1.at, p0.utc_s, p1.utc_s, utc_s);
        // As far as the nearer of the two fixes: half their spacing midway, a fix's own
        // accuracy on one.
        let nearer_m = distance_m(at, p0.at).min(distance_m(at, p1.at));
        return Some(Proposal {
            ..proposal(
                at,
                nearer_m.max(TRACK_MIN_RADIUS_M),
                ProposalSource::Track,
                format!(
                    "on {name} between {} and {}, {} apart",
                    clock(p0.utc_s),
                    clock(p1.utc_s),
                    metres_text(apart_m)
                ),
            )
        });
    }
    if let Some((p, name)) = [before, after]
        .into_iter()
        .flatten()
        .min_by_key(|(p, _)| (p.utc_s - utc_s).abs())
    {
        let gap_s = (p.utc_s - utc_s).abs();
        if gap_s <= s.track_nearest_s {
            return Some(proposal(
                p.at,
                (gap_s as f64 * STRAY_SPEED_MPS).max(TRACK_MIN_RADIUS_M),
                ProposalSource::Track,
                format!(
                    "on {name}, its point at {} ({gap_s} s away)",
                    clock(p.utc_s)
                ),
            ));
        }
    }
    None
}

fn from_neighbours(fixes: &[Fix], utc_s: i64, s: &ProposeSettings) -> Option<Proposal> {
    let i = fixes.partition_point(|f| f.utc_s < utc_s);
    let after = fixes.get(i);
    let before = i.checked_sub(1).and_then(|j| fixes.get(j));
    if let (Some(f0), Some(f1)) = (before, after)
        && f1.utc_s - f0.utc_s <= s.neighbour_gap_s
    {
        let apart_m = distance_m(f0.at, f1.at);
        let speed_mps = apart_m / (f1.utc_s - f0.utc_s).max(1) as f64;
        if speed_mps <= s.max_speed_mps {
            let nearer_s = (utc_s - f0.utc_s).min(f1.utc_s - utc_s);
            return Some(proposal(
                between(f0.at, f1.at, f0.utc_s, f1.utc_s, utc_s),
                (nearer_s as f64 * STRAY_SPEED_MPS).max(TIME_MIN_RADIUS_M),
                ProposalSource::Time,
                format!(
                    "between {} at {} and {} at {}, {} apart",
                    f0.name,
                    clock(f0.utc_s),
                    f1.name,
                    clock(f1.utc_s),
                    metres_text(apart_m)
                ),
            ));
        }
    }
    let nearest = [before, after]
        .into_iter()
        .flatten()
        .min_by_key(|f| (f.utc_s - utc_s).abs())?;
    let gap_s = (nearest.utc_s - utc_s).abs();
    (gap_s <= s.single_neighbour_s).then(|| {
        let when = if nearest.utc_s < utc_s {
            "before"
        } else {
            "after"
        };
        proposal(
            nearest.at,
            (gap_s as f64 * STRAY_SPEED_MPS).max(TIME_MIN_RADIUS_M),
            ProposalSource::Time,
            format!("{} was taken {gap_s} s {when}", nearest.name),
        )
    })
}

pub(super) fn proposal(
    at: LatLonDeg,
    radius_m: f64,
    source: ProposalSource,
    evidence: String,
) -> Proposal {
    Proposal {
        lat_deg: at.lat_deg,
        lon_deg: at.lon_deg,
        radius_m: radius_m.round(),
        source,
        evidence,
        flags: Vec::new(),
        probability: None,
    }
}

/// The point a fraction of the way from `a` (at `t0`) to `b` (at `t1`) that `t` is.
fn between(a: LatLonDeg, b: LatLonDeg, t0: i64, t1: i64, t: i64) -> LatLonDeg {
    let f = if t1 > t0 {
        (t - t0) as f64 / (t1 - t0) as f64
    } else {
        0.0
    };
    LatLonDeg {
        lat_deg: a.lat_deg + (b.lat_deg - a.lat_deg) * f,
        lon_deg: a.lon_deg + (b.lon_deg - a.lon_deg) * f,
    }
}

pub(super) fn distance_m(a: LatLonDeg, b: LatLonDeg) -> f64 {
    haversine_km(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg) * 1000.0
}

/// "180 m", "2.3 km".
pub fn metres_text(m: f64) -> String {
    if m < 1000.0 {
        format!("{m:.0} m")
    } else {
        format!("{:.1} km", m / 1000.0)
    }
}

/// "14:02:10 UTC".
fn clock(utc_s: i64) -> String {
    DateTime::from_timestamp(utc_s, 0)
        .map(|t| t.format("%H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{utc_s} s"))
}
