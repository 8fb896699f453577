//! `geotag PATH...`: a position for each photo of a library that has none, from the library's
//! own clues (a track, the photos taken just before and after, look-alikes and the camera
//! clocks they reveal) and GeoCLIP last, with where each came from. Reads photos and sidecars;
//! writes sidecars only with `--write-xmp`, never a photo.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::builder::RangedI64ValueParser;
use serde::Serialize;

use super::CliError;
use super::photos::collect_photos;
use super::predict::OutputFormat;
use super::progress::Progress;
use crate::library::{
    CameraClock, LibraryAnswer, LibraryPhoto, LookalikeSettings, PictureClues, PositionFrom,
    Proposal, ProposalSource, ProposeSettings, geotag_library, parse_clock_offset, read_track,
    scan,
};
use crate::model::config::ModelConfig;
use crate::predict::{LoadError, Predictor};
use crate::sidecar::{self, SidecarNaming, Written};

/// Where a library's photos without a position were taken, from its own clues first: a track
/// (`--track`), the geotagged photos taken just before and after, look-alikes (and the camera
/// clock offsets they reveal), then GeoCLIP's answer where the model is installed. Files or
/// folders (searched as `predict` does). Writes nothing unless `--write-xmp`.
#[derive(Debug, Clone, clap::Args)]
pub struct GeotagOptions {
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// A track recorded over the day: GPX, KML or GeoJSON (repeatable).
    #[arg(long = "track", value_name = "FILE")]
    pub tracks: Vec<PathBuf>,
    /// Track points around a photo's time are interpolated when both are within this many
    /// minutes of it.
    #[arg(long, value_name = "MIN", default_value_t = 30,
          value_parser = RangedI64ValueParser::<i64>::new().range(1..=24 * 60))]
    pub max_gap: i64,
    /// A camera's clock offset, `"CAMERA=+01:00:00"`: how far its clock runs ahead of local
    /// time (repeatable; the camera as `geotag` lists it).
    #[arg(long = "clock-offset", value_name = "CAMERA=+HH:MM:SS")]
    pub clock_offsets: Vec<String>,
    /// Cosine similarity of CLIP embeddings from which two photos count as the same scene
    /// (0 to 1).
    #[arg(long, value_name = "S", default_value_t = f64::from(crate::library::lookalikes::DEFAULT_MIN_SIMILARITY),
          value_parser = super::probability)]
    pub lookalike_min: f64,
    /// Leave the pictures out: no look-alikes, no clock offsets from them, no GeoCLIP (only
    /// the metadata is read; also what happens when no model is installed).
    #[arg(long)]
    pub no_pictures: bool,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    #[command(flatten)]
    pub xmp: GeotagXmpOptions,
}

fn metres(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|m| m.is_finite() && *m >= 0.0)
        .ok_or_else(|| format!("{text:?} is not a distance in metres"))
}

/// How `--write-xmp` keeps the proposals.
#[derive(Debug, Clone, clap::Args)]
pub struct GeotagXmpOptions {
    /// Keep each proposal in an XMP sidecar beside its photo (exif:GPSLatitude,
    /// exif:GPSLongitude and geolens:LocationSource); the photo is never changed. Flagged
    /// proposals are left out unless --include-flagged.
    #[arg(long)]
    pub write_xmp: bool,
    /// With --write-xmp: only proposals from these sources (comma-separated, e.g.
    /// `track,time`; all when not given).
    #[arg(long, value_enum, value_delimiter = ',', requires = "write_xmp")]
    pub sources: Vec<ProposalSource>,
    /// With --write-xmp: only proposals whose radius is at most this many metres.
    #[arg(long, value_name = "M", requires = "write_xmp", value_parser = metres)]
    pub max_radius: Option<f64>,
    /// With --write-xmp: only model proposals whose most likely place holds at least this
    /// probability (0 to 1; the other clues' proposals are not affected).
    #[arg(long, value_name = "P", requires = "write_xmp", value_parser = super::probability)]
    pub min_confidence: Option<f64>,
    /// With --write-xmp: write flagged proposals too (two clues disagree about them).
    #[arg(long, requires = "write_xmp")]
    pub include_flagged: bool,
    /// With --write-xmp: replace a position a sidecar already has (never done otherwise).
    #[arg(long, requires = "write_xmp")]
    pub replace_gps: bool,
    /// With --write-xmp: how sidecars are named, as your photo organiser expects
    /// (digikam: IMG_1.xmp, also Lightroom; darktable: IMG_1.JPG.xmp).
    #[arg(
        long = "xmp-naming",
        value_enum,
        default_value = "digikam",
        requires = "write_xmp"
    )]
    pub naming: SidecarNaming,
}

/// One photo in the JSON answer.
#[derive(Debug, Serialize)]
struct PhotoRow {
    path: String,
    camera: Option<String>,
    /// The clock's reading, as EXIF writes it.
    taken_at: Option<String>,
    position: Option<Position>,
    proposal: Option<Proposal>,
}

#[derive(Debug, Serialize)]
struct Position {
    lat_deg: f64,
    lon_deg: f64,
    from: PositionFrom,
}

#[derive(Debug, Serialize)]
struct Stats {
    photos: usize,
    with_position: usize,
    proposed: usize,
    /// Embeddings computed in this run (the rest came from the cache).
    embedded: usize,
    from_cache: usize,
    /// Sidecars written by `--write-xmp` (0 without it).
    written: usize,
}

#[derive(Debug, Serialize)]
struct Answer {
    photos: Vec<PhotoRow>,
    cameras: Vec<CameraClock>,
    stats: Stats,
}

/// Runs `geotag`; returns how many sidecars `--write-xmp` failed to write.
pub fn geotag(
    options: &GeotagOptions,
    model: &ModelConfig,
    out: &mut dyn Write,
) -> Result<usize, CliError> {
    let given = options
        .clock_offsets
        .iter()
        .map(|g| parse_clock_offset(g))
        .collect::<Result<Vec<_>, _>>()?;
    let tracks = options
        .tracks
        .iter()
        .map(|t| read_track(t))
        .collect::<Result<Vec<_>, _>>()?;
    let paths = collect_photos(&options.paths)?;
    let photos = scan(&paths);
    let predictor = if options.no_pictures {
        None
    } else {
        picture_model(model)?
    };
    let settings = ProposeSettings {
        track_gap_s: options.max_gap * 60,
        ..ProposeSettings::default()
    };
    let pictures = predictor.as_ref().map(|predictor| PictureClues {
        predictor,
        cache_dir: model.embedding_cache_dir(),
        lookalikes: LookalikeSettings {
            min_similarity: options.lookalike_min as f32,
            ..LookalikeSettings::default()
        },
    });
    let mut bar = Progress::new(paths.len(), 2);
    let found = geotag_library(
        photos,
        &given,
        &tracks,
        &settings,
        pictures,
        |done, total| {
            bar.update(done as u64, total as u64, "embedding the photos");
            true
        },
    );
    drop(bar);
    for note in &found.notes {
        eprintln!("geolens: note: {}", super::printable(note));
    }
    let (written, failed) = if options.xmp.write_xmp {
        write_sidecars(&found.photos, &found.proposals, &options.xmp)
    } else {
        (0, 0)
    };
    let mut answer = answer(found);
    answer.stats.written = written;
    let io = |e| CliError::Io {
        path: "standard output".into(),
        source: e,
    };
    match options.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &answer)
                .map_err(std::io::Error::from)
                .map_err(io)?;
            writeln!(out).map_err(io)
        }
        OutputFormat::Csv => write_csv(&answer, out).map_err(io),
        OutputFormat::Table => write_table(&answer, out).map_err(io),
    }?;
    Ok(failed)
}

/// The model for the pictures' clues, or `None` (with a note) where none is installed.
fn picture_model(model: &ModelConfig) -> Result<Option<Predictor>, CliError> {
    match super::photos::load_predictor(model) {
        Ok(p) => Ok(Some(p)),
        Err(CliError::Load(LoadError::Missing(hint))) => {
            eprintln!(
                "geolens: note: no model installed, so only the metadata's clues are used (no \
                 look-alikes, no clock offsets from them, no GeoCLIP guesses): {}",
                super::printable(&hint)
            );
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Writes the sidecars `--write-xmp` asks for, one line on standard error for each photo left
/// out or failed; returns how many were written and how many failed.
fn write_sidecars(
    photos: &[LibraryPhoto],
    proposals: &[Option<Proposal>],
    xmp: &GeotagXmpOptions,
) -> (usize, usize) {
    let inputs: HashSet<&Path> = photos.iter().map(|p| p.path.as_path()).collect();
    let (mut written, mut skipped, mut failed) = (0, 0, 0);
    for (photo, proposal) in photos.iter().zip(proposals) {
        let Some(proposal) = proposal else { continue };
        let name = super::printable(&photo.path.display().to_string());
        if let Some(why) = left_out(proposal, xmp) {
            skipped += 1;
            eprintln!("geolens: sidecar skipped: {name}: {why}");
            continue;
        }
        let sidecar_path = sidecar::sidecar_path(&photo.path, xmp.naming);
        if sidecar_path != photo.path && inputs.contains(sidecar_path.as_path()) {
            failed += 1;
            eprintln!(
                "geolens: sidecar skipped: {name}: its sidecar {} is another of the photos",
                super::printable(&sidecar_path.display().to_string())
            );
            continue;
        }
        let source = format!(
            "geolens {} geotag: {}: {}",
            env!("CARGO_PKG_VERSION"),
            proposal.source.name(),
            proposal.evidence
        );
        match sidecar::write_position(
            &photo.path,
            xmp.naming,
            proposal.at(),
            &source,
            xmp.replace_gps,
        ) {
            Ok(Written::Created(_) | Written::Updated(_)) => written += 1,
            Err(e) => {
                failed += 1;
                eprintln!(
                    "geolens: sidecar not written: {}",
                    super::printable(&e.to_string())
                );
            }
        }
    }
    eprintln!(
        "geolens: XMP sidecars: {written} written, {skipped} left out, {failed} failed \
         (the photos themselves are never changed)"
    );
    (written, failed)
}

/// Why `--write-xmp`'s filters leave `proposal` out, if they do.
fn left_out(proposal: &Proposal, xmp: &GeotagXmpOptions) -> Option<String> {
    if !xmp.sources.is_empty() && !xmp.sources.contains(&proposal.source) {
        return Some(format!(
            "a {} proposal, not among --sources",
            proposal.source.name()
        ));
    }
    if let (Some(min), Some(p)) = (xmp.min_confidence, proposal.probability)
        && p < min
    {
        return Some(format!(
            "GeoCLIP's most likely place holds {:.1} %, below --min-confidence {:.1} %",
            p * 100.0,
            min * 100.0
        ));
    }
    if let Some(max_m) = xmp.max_radius
        && proposal.radius_m > max_m
    {
        return Some(format!(
            "its radius {:.0} m is over --max-radius {max_m:.0} m",
            proposal.radius_m
        ));
    }
    if !proposal.flags.is_empty() && !xmp.include_flagged {
        return Some(format!(
            "flagged ({}); write it with --include-flagged",
            proposal.flags.join("; ")
        ));
    }
    None
}

fn answer(found: LibraryAnswer) -> Answer {
    let LibraryAnswer {
        photos,
        proposals,
        clocks,
        embeddings,
        ..
    } = found;
    let stats = Stats {
        photos: photos.len(),
        with_position: photos.iter().filter(|p| p.position.is_some()).count(),
        proposed: proposals.iter().flatten().count(),
        embedded: embeddings.embedded,
        from_cache: embeddings.from_cache,
        written: 0,
    };
    let photos = photos
        .into_iter()
        .zip(proposals)
        .map(|(p, proposal)| PhotoRow {
            path: crate::files::path_text(&p.path),
            camera: p.camera,
            taken_at: p
                .taken_local
                .map(|t| t.format("%Y:%m:%d %H:%M:%S").to_string()),
            position: p.position.map(|(at, from)| Position {
                lat_deg: at.lat_deg,
                lon_deg: at.lon_deg,
                from,
            }),
            proposal,
        })
        .collect();
    Answer {
        photos,
        cameras: clocks.cameras,
        stats,
    }
}

fn write_csv(answer: &Answer, out: &mut dyn Write) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "path",
        "camera",
        "taken_at",
        "position_lat_deg",
        "position_lon_deg",
        "position_from",
        "proposal_lat_deg",
        "proposal_lon_deg",
        "radius_m",
        "source",
        "evidence",
        "flags",
    ])?;
    let num = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
    for p in &answer.photos {
        let from = p
            .position
            .as_ref()
            .map(|q| format!("{:?}", q.from).to_lowercase());
        w.write_record([
            p.path.clone(),
            p.camera.clone().unwrap_or_default(),
            p.taken_at.clone().unwrap_or_default(),
            num(p.position.as_ref().map(|q| q.lat_deg)),
            num(p.position.as_ref().map(|q| q.lon_deg)),
            from.unwrap_or_default(),
            num(p.proposal.as_ref().map(|q| q.lat_deg)),
            num(p.proposal.as_ref().map(|q| q.lon_deg)),
            p.proposal
                .as_ref()
                .map(|q| format!("{:.0}", q.radius_m))
                .unwrap_or_default(),
            p.proposal
                .as_ref()
                .map(|q| q.source.name().to_string())
                .unwrap_or_default(),
            p.proposal
                .as_ref()
                .map(|q| q.evidence.clone())
                .unwrap_or_default(),
            p.proposal
                .as_ref()
                .map(|q| q.flags.join("; "))
                .unwrap_or_default(),
        ])?;
    }
    w.flush()
}

fn write_table(answer: &Answer, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &answer.stats;
    writeln!(
        out,
        "{} photos, {} with a position, {} proposed, {} left without{}",
        s.photos,
        s.with_position,
        s.proposed,
        s.photos - s.with_position - s.proposed,
        if s.written > 0 {
            format!("; {} sidecars written", s.written)
        } else {
            String::new()
        }
    )?;
    for p in answer.photos.iter().filter(|p| p.position.is_none()) {
        let name = super::printable(&p.path);
        match &p.proposal {
            Some(q) => {
                writeln!(
                    out,
                    "{name}  {:.5}, {:.5}  ±{:.0} m  {}: {}",
                    q.lat_deg,
                    q.lon_deg,
                    q.radius_m,
                    q.source.name(),
                    super::printable(&q.evidence)
                )?;
                for flag in &q.flags {
                    writeln!(out, "    flagged: {}", super::printable(flag))?;
                }
            }
            None => writeln!(
                out,
                "{name}  no proposal (no track point, geotagged photo near its time or look-alike)"
            )?,
        }
    }
    writeln!(out, "Cameras:")?;
    for c in &answer.cameras {
        let how = match c.found_by {
            crate::library::ClockFoundBy::Given => "given".to_string(),
            crate::library::ClockFoundBy::OffsetTag => {
                "keeps local time (writes OffsetTimeOriginal)".to_string()
            }
            crate::library::ClockFoundBy::Lookalikes => {
                format!("from {} agreeing look-alike pairs", c.pairs)
            }
            crate::library::ClockFoundBy::None => "not known: taken as local time".to_string(),
        };
        writeln!(
            out,
            "  {}: {} photos, clock {:+} s ({how})",
            super::printable(&c.camera),
            c.photos,
            c.clock_offset_s
        )?;
    }
    Ok(())
}
