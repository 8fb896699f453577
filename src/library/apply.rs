//! Keeping proposals in XMP sidecars, and taking the last lot back: the app's *Apply* and
//! *Undo*. Each sidecar's bytes before and after are remembered, so that undo restores exactly
//! what was there (or removes what was created) and leaves alone a sidecar changed since.

use std::path::PathBuf;

use crate::geo::latlon::LatLonDeg;
use crate::sidecar::{SidecarNaming, Written, sidecar_path, write_position};

/// One position to keep: the photo, where, and the note of where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ToApply {
    pub photo: PathBuf,
    pub at: LatLonDeg,
    pub source: String,
}

/// A sidecar an apply wrote, with what it held before (`None`: it did not exist).
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedSidecar {
    pub photo: PathBuf,
    pub sidecar: PathBuf,
    before: Option<Vec<u8>>,
    after: Vec<u8>,
}

/// What an apply did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplyLog {
    pub applied: Vec<AppliedSidecar>,
    /// One line per photo whose sidecar was not written, and why.
    pub errors: Vec<String>,
}

/// Writes each position into its photo's sidecar (never the photo; never over a position a
/// sidecar already has unless `replace_gps`).
pub fn apply(items: &[ToApply], naming: SidecarNaming, replace_gps: bool) -> ApplyLog {
    let mut log = ApplyLog::default();
    for item in items {
        let sidecar = sidecar_path(&item.photo, naming);
        let before = crate::files::read_regular(&sidecar).ok();
        match write_position(&item.photo, naming, item.at, &item.source, replace_gps) {
            Ok(Written::Created(path) | Written::Updated(path)) => {
                match crate::files::read_regular(&path) {
                    Ok(after) => log.applied.push(AppliedSidecar {
                        photo: item.photo.clone(),
                        sidecar: path,
                        before,
                        after,
                    }),
                    Err(e) => log.errors.push(format!("{}: {e}", path.display())),
                }
            }
            Err(e) => log.errors.push(e.to_string()),
        }
    }
    log
}

/// Takes an apply back: each sidecar it wrote gets its earlier bytes again, or is removed where
/// it created it; a sidecar changed since is left as it is. Returns one line per sidecar left.
pub fn undo(log: &ApplyLog) -> Vec<String> {
    let mut left = Vec::new();
    for a in &log.applied {
        let now = crate::files::read_regular(&a.sidecar).ok();
        if now.as_deref() != Some(a.after.as_slice()) {
            left.push(format!(
                "{}: changed since it was written; left as it is",
                a.sidecar.display()
            ));
            continue;
        }
        let outcome = match &a.before {
            None => std::fs::remove_file(&a.sidecar).map_err(|e| e.to_string()),
            Some(bytes) => {
                let kept = std::fs::metadata(&a.sidecar).ok().map(|m| m.permissions());
                crate::files::write_output_with(&a.sidecar, true, kept, |out| out.write_all(bytes))
                    .map_err(|e| e.to_string())
            }
        };
        if let Err(e) = outcome {
            left.push(format!("{}: {e}", a.sidecar.display()));
        }
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_restores_each_sidecar_as_it_was_and_spares_one_changed_since() {
        let dir = std::env::temp_dir().join(format!("geolens-apply-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (a, b, c) = (dir.join("A.jpg"), dir.join("B.jpg"), dir.join("C.jpg"));
        for p in [&a, &b, &c] {
            std::fs::write(p, b"\xFF\xD8 photo").expect("photo");
        }
        let b_sidecar = dir.join("B.xmp");
        let kept = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF \
             xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description \
             rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" xmp:Rating=\"4\"/>\
             </rdf:RDF></x:xmpmeta>";
        std::fs::write(&b_sidecar, kept).expect("sidecar");
        let at = LatLonDeg {
            lat_deg: 48.85,
            lon_deg: 2.35,
        };
        let items: Vec<ToApply> = [&a, &b, &c]
            .into_iter()
            .map(|p| ToApply {
                photo: p.clone(),
                at,
                source: "test".into(),
            })
            .collect();
        let log = apply(&items, SidecarNaming::ReplaceExtension, false);
        assert!(log.errors.is_empty(), "{:?}", log.errors);
        assert_eq!(log.applied.len(), 3);
        let b_written = std::fs::read_to_string(&b_sidecar).expect("read");
        assert!(b_written.contains("xmp:Rating=\"4\"") && b_written.contains("GPSLatitude"));
        // Someone edits C's sidecar after the apply.
        std::fs::write(dir.join("C.xmp"), "edited").expect("edit");

        let left = undo(&log);
        assert!(!dir.join("A.xmp").exists(), "created, so removed");
        assert_eq!(std::fs::read_to_string(&b_sidecar).expect("read"), kept);
        assert_eq!(
            std::fs::read_to_string(dir.join("C.xmp")).expect("read"),
            "edited"
        );
        assert_eq!(left.len(), 1, "{left:?}");
        assert!(left[0].contains("C.xmp"), "{left:?}");
        for p in [&a, &b, &c] {
            assert_eq!(std::fs::read(p).expect("photo"), b"\xFF\xD8 photo");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
