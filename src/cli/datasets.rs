//! `geolens datasets fetch ...`: public benchmark photos, fetched only when asked.

use std::io::Write;
use std::path::PathBuf;

use super::{CliError, Exit};
use crate::datasets::osv5m::{DEFAULT_BASE_URL, FetchOptions, default_datasets_dir, fetch};

/// Public benchmark photos, fetched only when asked.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DatasetsCommand {
    /// A reproducible sample of a dataset's test photos, spread over countries, read out of
    /// its remote zip files with range requests: photos, dataset.csv (for `geolens eval`) and
    /// ATTRIBUTION.csv. Photos already in the folder are kept (a cut fetch resumes).
    Fetch(DatasetFetch),
}

#[derive(Debug, Clone, clap::Args)]
pub struct DatasetFetch {
    #[arg(value_enum)]
    pub dataset: DatasetName,
    /// How many photos.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=210_000))]
    pub count: u32,
    /// The sample's seed: the same seed gives the same photos.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only these countries (comma-separated codes as in the dataset, e.g. FR,JP).
    #[arg(long, value_delimiter = ',')]
    pub countries: Vec<String>,
    /// Base URL holding test.csv and images/test/*.zip (a mirror).
    #[arg(long, value_name = "URL", default_value = DEFAULT_BASE_URL)]
    pub from: String,
    /// The zip files under images/test/, without .zip.
    #[arg(long, value_delimiter = ',', default_value = "00,01,02,03,04")]
    pub zips: Vec<String>,
    /// Folder to fill (default: the user data folder's datasets/osv5m-test).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DatasetName {
    /// OpenStreetView-5M's test set (210k street photos, 225 countries, CC BY-SA 4.0).
    #[value(name = "osv5m-test")]
    Osv5mTest,
}

impl DatasetsCommand {
    pub fn run(&self, out: &mut dyn Write) -> Result<Exit, CliError> {
        let Self::Fetch(args) = self;
        let DatasetName::Osv5mTest = args.dataset;
        let out_dir = args
            .out
            .clone()
            .or_else(|| default_datasets_dir().map(|d| d.join("osv5m-test")))
            .ok_or_else(|| CliError::Usage("no user data folder; name one with --out".into()))?;
        let options = FetchOptions {
            base_url: args.from.clone(),
            out_dir,
            count: args.count as usize,
            seed: args.seed,
            countries: args.countries.clone(),
            zips: args.zips.clone(),
        };
        let report = fetch(&options, |id| eprintln!("geolens: fetched {id}"))?;
        for failure in &report.failed {
            eprintln!("geolens: error: {}", super::printable(failure));
        }
        writeln!(
            out,
            "fetched {} photos ({} already there, {} could not be had); evaluate with:\n  \
             geolens eval {} --images {}",
            report.fetched,
            report.already_there,
            report.failed.len(),
            report.dataset_csv.display(),
            options.out_dir.display()
        )
        .map_err(CliError::io("standard output"))?;
        Ok(Exit::failed(report.failed.len()))
    }
}
