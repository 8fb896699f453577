//! Any bytes as an XMP sidecar or embedded packet: geolens's reader (`src/sidecar/xmp.rs`:
//! namespaces resolved by URI, attributes and elements, references, both GPS forms) must answer
//! no position or a valid one; its rewriter (`src/sidecar/mod.rs`) must either leave the file
//! alone with an error or give XML that reads back as exactly the position it wrote, once.
#![no_main]

use libfuzzer_sys::fuzz_target;

// geolens's own sources for the stage (`src/sidecar/` finds its position type as
// `crate::geo::latlon::LatLonDeg` and its file helpers as `crate::files`).
#[allow(dead_code)]
#[path = "../../src/geo/latlon.rs"]
pub mod latlon;
mod geo {
    pub use crate::latlon;
}
#[allow(dead_code)]
#[path = "../../src/files.rs"]
mod files;
#[allow(dead_code)]
#[path = "../../src/sidecar/mod.rs"]
mod sidecar;

fuzz_target!(|bytes: &[u8]| {
    if let Some(at) = sidecar::xmp_position(bytes) {
        assert!((-90.0..=90.0).contains(&at.lat_deg), "{at:?}");
        assert!((-180.0..=180.0).contains(&at.lon_deg), "{at:?}");
    }
    let at = latlon::LatLonDeg {
        lat_deg: -33.856784,
        lon_deg: 151.215297,
    };
    if let Ok(out) = sidecar::rewritten(bytes, at, "fuzz <&>", true) {
        let back = sidecar::xmp_position(&out).expect("the written position reads back");
        assert!((back.lat_deg - at.lat_deg).abs() < 1e-6, "{back:?}");
        assert!((back.lon_deg - at.lon_deg).abs() < 1e-6, "{back:?}");
    }
});
