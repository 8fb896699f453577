//! Camera clocks: each photo's capture time on one clock (UTC), so that photos of different
//! cameras and a track compare. EXIF times are the camera's local reading, and cameras are
//! often left on home time or run minutes adrift: each camera has an offset, the seconds its
//! clock runs ahead of local time as the library's devices that write `OffsetTimeOriginal`
//! keep it (a camera left on the time of one zone east reads +3600).

use std::collections::BTreeMap;

use super::{LibraryError, LibraryPhoto};

/// The name photos without Make and Model are grouped under.
pub const UNKNOWN_CAMERA: &str = "unknown camera";

/// How a camera's clock offset was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockFoundBy {
    /// `--clock-offset` named it.
    Given,
    /// The camera writes `OffsetTimeOriginal`: its clock keeps local time (offset 0).
    OffsetTag,
    /// The median time difference of the agreeing look-alike pairs with photos of the
    /// library's other cameras whose clocks are known.
    Lookalikes,
    /// Nothing says: taken as 0.
    None,
}

/// One camera's clock.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CameraClock {
    pub camera: String,
    /// Seconds the camera's clock runs ahead of local time.
    pub clock_offset_s: i64,
    pub found_by: ClockFoundBy,
    /// Look-alike pairs that support the offset (0 unless found by look-alikes).
    pub pairs: usize,
    /// The camera's photos in the library.
    pub photos: usize,
}

/// Every camera's clock, and the UTC offsets the library's devices write.
#[derive(Debug, Clone, Default)]
pub struct Clocks {
    pub cameras: Vec<CameraClock>,
    /// (local capture time in seconds since 1970, UTC offset in minutes) of every photo that
    /// writes `OffsetTimeOriginal`, sorted: the zone a photo without one was taken in is the
    /// zone of the tagged photo nearest in time.
    zones: Vec<(i64, i32)>,
}

/// The camera a photo is grouped under.
pub fn camera_of(photo: &LibraryPhoto) -> &str {
    photo.camera.as_deref().unwrap_or(UNKNOWN_CAMERA)
}

/// `CAMERA=+HH:MM:SS` (or `-`, `HH:MM`) as the camera and its offset in seconds.
pub fn parse_clock_offset(text: &str) -> Result<(String, i64), LibraryError> {
    let bad = |message: &str| LibraryError::BadClockOffset {
        given: text.to_string(),
        message: message.to_string(),
    };
    let (camera, offset) = text
        .rsplit_once('=')
        .ok_or_else(|| bad("expected CAMERA=+HH:MM:SS"))?;
    let (sign, rest) = match offset.trim().as_bytes().first() {
        Some(b'+') => (1, &offset.trim()[1..]),
        Some(b'-') => (-1, &offset.trim()[1..]),
        _ => return Err(bad("the offset starts with + or -")),
    };
    let parts: Vec<i64> = rest
        .split(':')
        .map(|p| {
            p.parse::<i64>()
                .map_err(|_| bad("hours, minutes and seconds are numbers"))
        })
        .collect::<Result<_, _>>()?;
    let seconds = match parts[..] {
        [h, m] if m < 60 => h * 3600 + m * 60,
        [h, m, s] if m < 60 && s < 60 => h * 3600 + m * 60 + s,
        _ => return Err(bad("expected HH:MM:SS or HH:MM")),
    };
    if camera.trim().is_empty() || seconds > 48 * 3600 {
        return Err(bad("expected a camera name and at most 48 hours"));
    }
    Ok((camera.trim().to_string(), sign * seconds))
}

impl Clocks {
    /// Each camera's clock: `given` by hand (camera names compared without case), else kept
    /// local where the camera writes `OffsetTimeOriginal`, else unknown (0).
    pub fn work_out(photos: &[LibraryPhoto], given: &[(String, i64)]) -> Self {
        let mut by_camera: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for p in photos {
            let entry = by_camera.entry(camera_of(p)).or_default();
            entry.0 += 1;
            entry.1 += usize::from(p.utc_offset_min.is_some());
        }
        let cameras = by_camera
            .into_iter()
            .map(|(camera, (count, tagged))| {
                let hand = given.iter().find(|(c, _)| c.eq_ignore_ascii_case(camera));
                let (clock_offset_s, found_by) = match hand {
                    Some((_, s)) => (*s, ClockFoundBy::Given),
                    None if tagged > 0 => (0, ClockFoundBy::OffsetTag),
                    None => (0, ClockFoundBy::None),
                };
                CameraClock {
                    camera: camera.to_string(),
                    clock_offset_s,
                    found_by,
                    pairs: 0,
                    photos: count,
                }
            })
            .collect();
        let mut zones: Vec<(i64, i32)> = photos
            .iter()
            .filter_map(|p| Some((p.taken_local?.and_utc().timestamp(), p.utc_offset_min?)))
            .collect();
        zones.sort_unstable();
        Self { cameras, zones }
    }

    /// Whether the clock of `camera` is known (given, local, or found from look-alikes).
    pub fn is_known(&self, camera: &str) -> bool {
        self.camera(camera)
            .is_some_and(|c| c.found_by != ClockFoundBy::None)
    }

    /// Sets the offset of `camera` as found from `pairs` agreeing look-alike pairs.
    pub fn found_from_lookalikes(&mut self, camera: &str, clock_offset_s: i64, pairs: usize) {
        if let Some(c) = self.cameras.iter_mut().find(|c| c.camera == camera) {
            c.clock_offset_s = clock_offset_s;
            c.found_by = ClockFoundBy::Lookalikes;
            c.pairs = pairs;
        }
    }

    /// The clock of `camera`, if the library has it.
    pub fn camera(&self, camera: &str) -> Option<&CameraClock> {
        self.cameras.iter().find(|c| c.camera == camera)
    }

    /// The photo's capture time in UTC seconds: its clock's reading less the camera's offset,
    /// less its UTC offset (its own `OffsetTimeOriginal`, else that of the library's tagged
    /// photo nearest in time, else none: UTC). `None` without a capture time.
    pub fn utc_s(&self, photo: &LibraryPhoto) -> Option<i64> {
        let reading = photo.taken_local?.and_utc().timestamp();
        let ahead_s = self
            .camera(camera_of(photo))
            .map_or(0, |c| c.clock_offset_s);
        let local = reading - ahead_s;
        let zone_min = photo
            .utc_offset_min
            .or_else(|| self.nearest_zone_min(local))
            .unwrap_or(0);
        Some(local - i64::from(zone_min) * 60)
    }

    fn nearest_zone_min(&self, local_s: i64) -> Option<i32> {
        let i = self.zones.partition_point(|(t, _)| *t < local_s);
        [i.checked_sub(1), Some(i)]
            .into_iter()
            .flatten()
            .filter_map(|j| self.zones.get(j))
            .min_by_key(|(t, _)| (t - local_s).abs())
            .map(|(_, z)| *z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn photo(camera: &str, local: &str, offset_min: Option<i32>) -> LibraryPhoto {
        LibraryPhoto {
            path: format!("{camera}-{local}.jpg").into(),
            taken_local: NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S").ok(),
            utc_offset_min: offset_min,
            camera: Some(camera.into()),
            position: None,
        }
    }

    #[test]
    fn clock_offsets_parse_as_written_and_odd_ones_are_refused() {
        assert_eq!(
            parse_clock_offset("Canon EOS 5D=+01:00:07").expect("parses"),
            ("Canon EOS 5D".to_string(), 3607)
        );
        assert_eq!(parse_clock_offset("X=-00:30").expect("parses").1, -1800);
        for bad in [
            "Canon",
            "X=01:00",
            "X=+1:75",
            "=+01:00",
            "X=+99:00:00",
            "X=+a:b",
        ] {
            assert!(parse_clock_offset(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_meet_on_utc_with_the_camera_offset_and_the_nearest_zone() {
        // A phone writing +02:00, and a camera without a zone whose clock runs 1 h 7 s ahead.
        let phone = photo("Phone", "2024-04-01 11:30:00", Some(120));
        let camera = photo("Camera", "2024-04-01 12:30:07", None);
        let given = [("camera".to_string(), 3607)];
        let clocks = Clocks::work_out(&[phone.clone(), camera.clone()], &given);
        let utc = NaiveDateTime::parse_from_str("2024-04-01 09:30:00", "%Y-%m-%d %H:%M:%S")
            .expect("time")
            .and_utc()
            .timestamp();
        assert_eq!(clocks.utc_s(&phone), Some(utc));
        assert_eq!(clocks.utc_s(&camera), Some(utc));
        let found: Vec<_> = clocks
            .cameras
            .iter()
            .map(|c| (c.camera.as_str(), c.clock_offset_s, c.found_by))
            .collect();
        assert_eq!(
            found,
            [
                ("Camera", 3607, ClockFoundBy::Given),
                ("Phone", 0, ClockFoundBy::OffsetTag)
            ]
        );
        // Without the offset given, the camera's reading is taken as local time.
        let clocks = Clocks::work_out(&[phone, camera.clone()], &[]);
        assert_eq!(clocks.utc_s(&camera), Some(utc + 3607));
        assert_eq!(
            clocks.camera("Camera").map(|c| c.found_by),
            Some(ClockFoundBy::None)
        );
    }
}
