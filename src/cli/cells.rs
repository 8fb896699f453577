//! `geolens cells ...`: build and inspect adaptive S2 partitions.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{CliError, Exit};
use crate::geo::GeoError;
use crate::geo::geocells::{GeoCells, Granularity};
use crate::geo::partition::{PartitionParams, build_partition, read_points_csv};
use crate::geo::place_names::PlaceNamer;

/// Adaptive S2 partitions (PlaNet's geocells).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CellsCommand {
    /// Partition photo locations (CSV `lat,lon`, header optional) into named cells.
    Build {
        #[arg(long)]
        input: PathBuf,
        /// Drop cells with fewer photos than this.
        #[arg(long)]
        t_min: u32,
        /// Split cells with more photos than this.
        #[arg(long)]
        t_max: u32,
        /// Deepest S2 level to split to.
        #[arg(long, default_value_t = 30)]
        max_level: u8,
        /// Output CSV; refuses to overwrite an existing file unless --force.
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        force: bool,
    },
    /// Show the shipped partitions.
    Stats,
}

impl CellsCommand {
    pub fn run(&self, out: &mut dyn Write) -> Result<Exit, CliError> {
        let stdout = || CliError::io("standard output");
        match self {
            Self::Build {
                input,
                t_min,
                t_max,
                max_level,
                out: csv,
                force,
            } => {
                let params = PartitionParams {
                    t_min: *t_min,
                    t_max: *t_max,
                    max_cell_level: *max_level,
                };
                let report = build(input, params, csv, *force)?;
                writeln!(out, "{report}").map_err(stdout())?;
            }
            Self::Stats => stats(out)?,
        }
        Ok(Exit::Ok)
    }
}

/// Reads points, partitions them, names the cells and writes the geocells CSV. Returns a
/// one-paragraph report.
pub fn build(
    input: &Path,
    params: PartitionParams,
    out: &Path,
    force: bool,
) -> Result<String, GeoError> {
    crate::files::check_report_output(out, force, &[input], false)?;
    let file = crate::files::open_regular(input).map_err(|e| GeoError::Io {
        path: input.to_owned(),
        source: e,
    })?;
    let points = read_points_csv(BufReader::new(file))?;
    let started = Instant::now();
    let partition = build_partition(&points, params)?;
    let partition_ms = started.elapsed().as_secs_f64() * 1e3;
    let namer = PlaceNamer::new();
    let cells = GeoCells::from_partition(&partition, &namer);
    cells.write_csv(out, force)?;
    let (min_level, max_level) = partition.cells.iter().fold((u64::MAX, 0), |(lo, hi), c| {
        (lo.min(c.cell.level()), hi.max(c.cell.level()))
    });
    Ok(format!(
        "{} cells (levels {min_level}-{max_level}) from {} points with t_min {} t_max {}: {:.1}% of points in kept cells; partitioned in {partition_ms:.1} ms; wrote {}",
        partition.cells.len(),
        partition.total_points,
        params.t_min,
        params.t_max,
        partition.coverage() * 100.0,
        out.display()
    ))
}

/// Prints the shipped partitions as a table.
pub fn stats(out: &mut dyn Write) -> Result<(), GeoError> {
    let io = |e: std::io::Error| GeoError::Io {
        path: "standard output".into(),
        source: e,
    };
    writeln!(
        out,
        "{:<8} {:>6} {:>6} {:>6} {:>8} {:>8}",
        "level", "cells", "t_min", "t_max", "photos", "s2 lvls"
    )
    .map_err(io)?;
    for g in Granularity::ALL {
        let cells = GeoCells::embedded(g)?;
        let p = g.params();
        let (lo, hi) = cells.cells().iter().fold((u64::MAX, 0), |(lo, hi), c| {
            (lo.min(c.cell.level()), hi.max(c.cell.level()))
        });
        writeln!(
            out,
            "{:<8} {:>6} {:>6} {:>6} {:>8} {:>5}-{}",
            g.label(),
            cells.len(),
            p.t_min,
            p.t_max,
            cells.total_photos(),
            lo,
            hi
        )
        .map_err(io)?;
    }
    Ok(())
}
