//! Any bytes through geolens's EXIF reader (JPEG, PNG, WebP, TIFF containers, raw EXIF, and
//! HEIF/HEIC through the ISO-BMFF container parser of `heic-decoder`): it must answer "no facts"
//! or facts that are valid, never panic, hang or run away with memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

// geolens's own sources for the stage, as in `src/photo/exif.rs` (which finds its position type
// as `crate::geo::latlon::LatLonDeg` and its file helpers as `crate::files`).
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
#[path = "../../src/photo/exif.rs"]
mod exif;

fuzz_target!(|bytes: &[u8]| {
    let facts = exif::read_facts_from_bytes(bytes);
    // `SHOW_FACTS=1 cargo fuzz run metadata corpus/metadata/* -- -runs=0`: what the seeds read as.
    if std::env::var_os("SHOW_FACTS").is_some() {
        eprintln!("{facts:?}");
    }
    if let Some(gps) = facts.gps {
        assert!((-90.0..=90.0).contains(&gps.lat_deg), "{gps:?}");
        assert!((-180.0..=180.0).contains(&gps.lon_deg), "{gps:?}");
    }
    for text in [&facts.taken_at, &facts.camera].into_iter().flatten() {
        assert!(!text.is_empty());
    }
    // The HEIF container parser on its own: the item table, properties and metadata items.
    let _ = heic_decoder::probe(bytes);
    let _ = heic_decoder::read_metadata(bytes);
});
