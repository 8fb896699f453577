//! `geolens datasets fetch osv5m-test`: a sample of OpenStreetView-5M's test set (Astruc et
//! al., CVPR 2024; Mapillary photos, CC BY-SA 4.0, each with its creator). The test CSV is read
//! whole; the chosen photos are read out of the remote zip files one by one. The folder gets
//! the photos, `dataset.csv` in `geolens eval`'s layout (`path,lat,lon` plus country, city and
//! creator) and `ATTRIBUTION.csv` (photo, creator, licence, source).
//!
//! The layout (a `test.csv` and `images/test/00.zip` to `04.zip` under the base URL, each photo
//! an entry `<id>.jpg`, in whatever folder) is the one the dataset's authors document: their
//! `DATASET.md` fetches exactly those five zips and `test.csv` from `osv5m/osv5m`, and their
//! loader opens `<id>.jpg`. It was read from that documentation, not tried against the hub
//! (unreachable from the machines geolens is built on), so the base URL and the zip names stay
//! settings.

use std::path::{Path, PathBuf};

use super::DatasetError;
use super::http::Http;
use super::remote_zip::{ZipEntry, central_directory, read_entry};
use super::sample::spread_sample;

/// Where OSV-5M lives on the Hugging Face hub.
pub const DEFAULT_BASE_URL: &str = "https://huggingface.co/datasets/osv5m/osv5m/resolve/main";
/// The test set's zip files under `images/test/`.
pub const DEFAULT_ZIPS: [&str; 5] = ["00", "01", "02", "03", "04"];
/// The licence of every OSV-5M photo.
pub const LICENCE: &str = "CC BY-SA 4.0";
/// Largest test CSV read (the real one is tens of MB).
const MAX_CSV_BYTES: u64 = 512 << 20;
/// The most rows `test.csv` is read to (OSV-5M's has 210,122): a file of tiny rows under the
/// byte cap would otherwise take gigabytes as rows.
const MAX_CSV_ROWS: usize = 2_000_000;

#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub base_url: String,
    pub out_dir: PathBuf,
    pub count: usize,
    pub seed: u64,
    /// Only these countries (ISO codes as in the CSV), when not empty.
    pub countries: Vec<String>,
    /// Zip names under `images/test/` (without `.zip`).
    pub zips: Vec<String>,
}

/// What a fetch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FetchReport {
    pub fetched: usize,
    /// Photos already in the folder (a resumed fetch).
    pub already_there: usize,
    /// One line per photo that could not be had.
    pub failed: Vec<String>,
    pub dataset_csv: PathBuf,
}

/// One test photo.
#[derive(Debug, Clone)]
struct Row {
    id: String,
    lat: f64,
    lon: f64,
    country: String,
    city: String,
    creator: String,
}

fn read_rows(csv_bytes: &[u8], url: &str) -> Result<Vec<Row>, DatasetError> {
    read_rows_within(csv_bytes, url, MAX_CSV_ROWS)
}

/// [`read_rows`], refusing a file of more than `max_rows` rows.
fn read_rows_within(
    csv_bytes: &[u8],
    url: &str,
    max_rows: usize,
) -> Result<Vec<Row>, DatasetError> {
    let bad = |m: String| DatasetError::BadCsv {
        what: url.to_string(),
        message: m,
    };
    let mut reader = csv::Reader::from_reader(csv_bytes);
    let headers = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let need = |name: &'static str| column(name).ok_or_else(|| bad(format!("no {name} column")));
    let (id, lat, lon) = (need("id")?, need("latitude")?, need("longitude")?);
    let (country, city, creator) = (
        column("country"),
        column("city"),
        column("creator_username"),
    );
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if i >= max_rows {
            return Err(bad(format!(
                "more than {max_rows} rows: not OSV-5M's test.csv (210,122 rows)"
            )));
        }
        let record = record.map_err(|e| bad(format!("row {}: {e}", i + 2)))?;
        let get = |c: Option<usize>| {
            c.and_then(|c| record.get(c))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let number = |c: usize, limit: f64| {
            record
                .get(c)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && v.abs() <= limit)
        };
        let (Some(lat), Some(lon)) = (number(lat, 90.0), number(lon, 180.0)) else {
            continue;
        };
        rows.push(Row {
            id: get(Some(id)),
            lat,
            lon,
            country: get(country),
            city: get(city),
            creator: get(creator),
        });
    }
    Ok(rows)
}

/// The file stem of a zip entry ("00/12345.jpg" -> "12345").
fn stem(name: &str) -> &str {
    let file = name.rsplit('/').next().unwrap_or(name);
    file.rsplit_once('.').map_or(file, |(s, _)| s)
}

/// Fetches the sample into `options.out_dir`; photos already there are kept (a cut fetch
/// resumes). `progress` hears about each photo.
pub fn fetch(
    options: &FetchOptions,
    mut progress: impl FnMut(&str),
) -> Result<FetchReport, DatasetError> {
    let http = Http::new()?;
    let base = options.base_url.trim_end_matches('/');
    let csv_url = format!("{base}/test.csv");
    let rows = read_rows(&http.get(&csv_url, MAX_CSV_BYTES)?, &csv_url)?;
    let rows: Vec<Row> = rows
        .into_iter()
        .filter(|r| {
            options.countries.is_empty()
                || options
                    .countries
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(&r.country))
        })
        .collect();
    let countries: Vec<String> = rows.iter().map(|r| r.country.clone()).collect();
    let chosen: Vec<&Row> = spread_sample(&countries, options.count, options.seed)
        .into_iter()
        .map(|i| &rows[i])
        .collect();
    // Which zip holds which photo: the central directories only.
    let mut located: std::collections::HashMap<String, (String, ZipEntry)> = Default::default();
    for zip in &options.zips {
        let url = format!("{base}/images/test/{zip}.zip");
        for entry in central_directory(&http, &url)? {
            located.insert(stem(&entry.name).to_string(), (url.clone(), entry));
        }
    }
    let photos_dir = options.out_dir.join("photos");
    std::fs::create_dir_all(&photos_dir).map_err(|e| DatasetError::Write {
        path: photos_dir.display().to_string(),
        message: e.to_string(),
    })?;
    let mut report = FetchReport::default();
    let mut kept = Vec::new();
    for row in chosen {
        let file = photos_dir.join(format!("{}.jpg", row.id));
        if file.metadata().is_ok_and(|m| m.len() > 0) {
            report.already_there += 1;
            kept.push(row);
            continue;
        }
        match fetch_one(&http, &located, row, &file) {
            Ok(()) => {
                report.fetched += 1;
                progress(&row.id);
                kept.push(row);
            }
            Err(e) => report.failed.push(format!("{}: {e}", row.id)),
        }
    }
    report.dataset_csv = write_tables(&options.out_dir, &kept, &options.base_url)?;
    Ok(report)
}

/// One photo out of its zip (one retry for a cut connection), written atomically.
fn fetch_one(
    http: &Http,
    located: &std::collections::HashMap<String, (String, ZipEntry)>,
    row: &Row,
    file: &Path,
) -> Result<(), DatasetError> {
    let (url, entry) = located.get(&row.id).ok_or_else(|| DatasetError::BadZip {
        url: "images/test/*.zip".into(),
        message: format!("no photo named {} in the zip files", row.id),
    })?;
    let bytes = read_entry(http, url, entry)?;
    crate::files::write_output(file, false, |out| out.write_all(&bytes))?;
    Ok(())
}

/// The folder where `datasets fetch` puts a dataset by default (the game looks for decks there).
pub fn default_datasets_dir() -> Option<PathBuf> {
    crate::paths::user_data_dir().map(|d| d.join("geolens/datasets"))
}

/// `dataset.csv` (eval's layout), `ATTRIBUTION.csv` and `deck.csv` (the game's deck, credit on
/// every card) for the photos in the folder.
fn write_tables(out_dir: &Path, rows: &[&Row], base_url: &str) -> Result<PathBuf, DatasetError> {
    let dataset = out_dir.join("dataset.csv");
    crate::files::write_output(&dataset, true, |out| {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(["path", "lat", "lon", "country", "city", "creator"])?;
        for r in rows {
            w.write_record([
                format!("photos/{}.jpg", r.id),
                r.lat.to_string(),
                r.lon.to_string(),
                r.country.clone(),
                r.city.clone(),
                r.creator.clone(),
            ])?;
        }
        w.flush()
    })?;
    crate::files::write_output(&out_dir.join("ATTRIBUTION.csv"), true, |out| {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(["path", "creator", "licence", "source"])?;
        for r in rows {
            w.write_record([
                format!("photos/{}.jpg", r.id),
                format!("{} (Mapillary)", r.creator),
                LICENCE.to_string(),
                format!("OpenStreetView-5M test set, {base_url}"),
            ])?;
        }
        w.flush()
    })?;
    crate::files::write_output(&out_dir.join(crate::game::deck::DECK_FILE), true, |out| {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(["file", "lat", "lon", "title", "credit", "licence"])?;
        for r in rows {
            let place = [r.city.as_str(), r.country.as_str()]
                .iter()
                .filter(|p| !p.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            w.write_record([
                format!("photos/{}.jpg", r.id),
                r.lat.to_string(),
                r.lon.to_string(),
                format!("A street in {place}"),
                format!("{} (Mapillary, OpenStreetView-5M)", r.creator),
                LICENCE.to_string(),
            ])?;
        }
        w.flush()
    })?;
    Ok(dataset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_of_more_rows_than_the_test_set_is_refused_not_held() {
        let mut csv = String::from("id,latitude,longitude,country\n");
        for i in 0..101 {
            csv.push_str(&format!("{i},1,2,FR\n"));
        }
        let rows = read_rows_within(csv.as_bytes(), "test.csv", 101).expect("within");
        assert_eq!(rows.len(), 101);
        assert_eq!((rows[5].id.as_str(), rows[5].country.as_str()), ("5", "FR"));
        let err = read_rows_within(csv.as_bytes(), "test.csv", 100).expect_err("refused");
        assert!(err.to_string().contains("more than 100 rows"), "{err}");
    }
}
