//! A position on the globe in degrees: the one type every stage passes around (kept in a file of
//! its own, with no dependencies, so the fuzz targets can build the EXIF reader alone).

/// A photo location in degrees.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LatLonDeg {
    pub lat_deg: f64,
    pub lon_deg: f64,
}
