//! `geotag PATH...`: a position for each photo of a library that has none, from the library's
//! own clues (a track, the photos taken just before and after), with where each came from.
//! Reads photos and sidecars; writes nothing.

use std::io::Write;
use std::path::PathBuf;

use clap::builder::RangedI64ValueParser;
use serde::Serialize;

use super::CliError;
use super::photos::collect_photos;
use super::predict::OutputFormat;
use crate::library::{
    CameraClock, Clocks, LibraryPhoto, PositionFrom, Proposal, ProposeSettings, parse_clock_offset,
    propose, read_track, scan,
};

/// Where a library's photos without a position were taken, from its own clues: a track
/// (`--track`), the geotagged photos taken just before and after, camera clocks. Files or
/// folders (searched as `predict` does). Writes nothing.
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
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
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
    /// Embeddings computed in this run (look-alikes and the model are not consulted yet).
    embedded: usize,
    from_cache: usize,
}

#[derive(Debug, Serialize)]
struct Answer {
    photos: Vec<PhotoRow>,
    cameras: Vec<CameraClock>,
    stats: Stats,
}

/// Runs `geotag`.
pub fn geotag(options: &GeotagOptions, out: &mut dyn Write) -> Result<(), CliError> {
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
    let clocks = Clocks::work_out(&photos, &given);
    let settings = ProposeSettings {
        track_gap_s: options.max_gap * 60,
        ..ProposeSettings::default()
    };
    let proposals = propose(&photos, &clocks, &tracks, &settings);
    let answer = answer(photos, proposals, clocks);
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
    }
}

fn answer(photos: Vec<LibraryPhoto>, proposals: Vec<Option<Proposal>>, clocks: Clocks) -> Answer {
    let stats = Stats {
        photos: photos.len(),
        with_position: photos.iter().filter(|p| p.position.is_some()).count(),
        proposed: proposals.iter().flatten().count(),
        embedded: 0,
        from_cache: 0,
    };
    let photos = photos
        .into_iter()
        .zip(proposals)
        .map(|(p, proposal)| PhotoRow {
            path: p.path.display().to_string(),
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
        "{} photos, {} with a position, {} proposed, {} left without",
        s.photos,
        s.with_position,
        s.proposed,
        s.photos - s.with_position - s.proposed
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
                "{name}  no proposal (no track point or geotagged photo near its time)"
            )?,
        }
    }
    writeln!(out, "Cameras:")?;
    for c in &answer.cameras {
        let how = match c.found_by {
            crate::library::ClockFoundBy::Given => "given",
            crate::library::ClockFoundBy::OffsetTag => {
                "keeps local time (writes OffsetTimeOriginal)"
            }
            crate::library::ClockFoundBy::None => "not known: taken as local time",
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
