//! Reading and writing the user's files safely: only regular files are opened for reading (a
//! FIFO named `photo.jpg` would block forever), and every output is written to a fresh
//! temporary file beside it, flushed to disk and renamed into place, so that a failure (a full
//! disk, a crash) never leaves a damaged or emptied file under the final name, and an existing
//! file is replaced only when the user said so.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum OutputError {
    #[error("{} already exists; pass --force to replace it", .0.display())]
    Exists(PathBuf),
    #[error("{} is not a regular file; refusing to replace it", .0.display())]
    NotAFile(PathBuf),
    #[error("{}: {what}; refusing to replace it, even with --force", path.display())]
    Precious { path: PathBuf, what: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A path as text that names it exactly, for reports other programs read back: as it is
/// where it is UTF-8 and holds no backslash; otherwise (Unix) every byte that is not UTF-8 is
/// written `\xHH` and a backslash `\\`, so that [`path_from_text`] gives back the same bytes.
pub fn path_text(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut out = String::new();
        for chunk in path.as_os_str().as_bytes().utf8_chunks() {
            out.push_str(&chunk.valid().replace('\\', "\\\\"));
            for byte in chunk.invalid() {
                out.push_str(&format!("\\x{byte:02x}"));
            }
        }
        out
    }
    #[cfg(not(unix))]
    {
        path.display().to_string()
    }
}

/// The path [`path_text`] wrote (text that is not of that form is taken as it is).
pub fn path_from_text(text: &str) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = || {
                let digits = std::str::from_utf8(bytes.get(i + 2..i + 4)?).ok()?;
                u8::from_str_radix(digits, 16).ok()
            };
            match (bytes[i], bytes.get(i + 1)) {
                (b'\\', Some(b'\\')) => {
                    out.push(b'\\');
                    i += 2;
                }
                (b'\\', Some(b'x')) if hex().is_some() => {
                    out.extend(hex());
                    i += 4;
                }
                (byte, _) => {
                    out.push(byte);
                    i += 1;
                }
            }
        }
        PathBuf::from(std::ffi::OsString::from_vec(out))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(text)
    }
}

/// Opens `path` for reading if it is a regular file (following symbolic links); a FIFO, a
/// device or a folder is refused before it is opened, since opening a FIFO blocks.
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a regular file ({})", file_kind(&meta)),
        ));
    }
    File::open(path)
}

/// The whole of a regular file (see [`open_regular`]).
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut open_regular(path)?, &mut bytes)?;
    Ok(bytes)
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a file"
    }
}

/// Checks, before any work starts, that `path` may be written: it does not exist, or it is a
/// regular file and `force` is set.
pub fn check_output(path: &Path, force: bool) -> Result<(), OutputError> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(OutputError::Io {
            path: path.to_owned(),
            source,
        }),
        Ok(meta) if !meta.is_file() => Err(OutputError::NotAFile(path.to_owned())),
        Ok(_) if !force => Err(OutputError::Exists(path.to_owned())),
        Ok(_) => Ok(()),
    }
}

/// [`check_output`] for a report or export (CSV, GeoJSON, a PNG chart): also refused, even with
/// `force`, when `path` is one of the run's `inputs` or an existing photo by its contents (its
/// first bytes say JPEG, HEIF, TIFF, WebP or GIF; and PNG unless `png_output`, where an earlier
/// chart is what `--force` replaces).
pub fn check_report_output(
    path: &Path,
    force: bool,
    inputs: &[&Path],
    png_output: bool,
) -> Result<(), OutputError> {
    check_output(path, force)?;
    let output = std::fs::canonicalize(path).ok();
    let same = |input: &Path| match (&output, std::fs::canonicalize(input)) {
        (Some(output), Ok(input)) => *output == input,
        _ => path == input,
    };
    if inputs.iter().any(|input| same(input)) {
        return Err(OutputError::Precious {
            path: path.to_owned(),
            what: "it is one of this run's inputs".into(),
        });
    }
    let mut head = [0u8; 12];
    let n = File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    if let Some(kind) = photo_kind(&head[..n]).filter(|k| !(png_output && *k == "PNG")) {
        return Err(OutputError::Precious {
            path: path.to_owned(),
            what: format!("it is a photo ({kind}, by its contents)"),
        });
    }
    Ok(())
}

/// What photo format a file's first bytes say, if any.
fn photo_kind(head: &[u8]) -> Option<&'static str> {
    let brand = head.get(4..8) == Some(b"ftyp");
    match head {
        [0xFF, 0xD8, 0xFF, ..] => Some("JPEG"),
        [0x89, b'P', b'N', b'G', ..] => Some("PNG"),
        [b'I', b'I', 0x2A, 0x00, ..] | [b'M', b'M', 0x00, 0x2A, ..] => Some("TIFF"),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some("WebP"),
        [b'G', b'I', b'F', b'8', ..] => Some("GIF"),
        _ if brand => Some("HEIF/AVIF"),
        _ => None,
    }
}

/// Writes `path` through `write`: into a temporary file created exclusively in the same
/// folder, flushed and synced, then renamed over `path`. Refuses an existing `path` unless
/// `force`. On any error the temporary file is removed and `path` is untouched.
pub fn write_output(
    path: &Path,
    force: bool,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    write_output_with(path, force, None, write)
}

/// [`write_output`] with the new file given `permissions` (those of the file it replaces)
/// before any byte is written, instead of the defaults.
pub fn write_output_with(
    path: &Path,
    force: bool,
    permissions: Option<std::fs::Permissions>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    check_output(path, force)?;
    let (tmp, file) = create_temporary_beside(path)?;
    let written = (|| {
        if let Some(permissions) = permissions {
            file.set_permissions(permissions)?;
        }
        let mut out = BufWriter::new(file);
        write(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    })();
    finish(path, force, &tmp, written)
}

/// [`write_output`] for writers that take a path (a weight store, `std::fs::write`): `write`
/// fills the temporary file at the path it is given, which is then synced and renamed.
pub fn write_output_at(
    path: &Path,
    force: bool,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    check_output(path, force)?;
    let (tmp, file) = create_temporary_beside(path)?;
    drop(file);
    let written = write(&tmp).and_then(|()| File::open(&tmp)?.sync_all());
    finish(path, force, &tmp, written)
}

/// Renames the written temporary file over `path` (checked again, as another process may
/// have made it meanwhile), or removes it on any error.
fn finish(
    path: &Path,
    force: bool,
    tmp: &Path,
    written: std::io::Result<()>,
) -> Result<(), OutputError> {
    let io_err = |source| OutputError::Io {
        path: path.to_owned(),
        source,
    };
    let result = written
        .map_err(io_err)
        .and_then(|()| check_output(path, force))
        .and_then(|()| std::fs::rename(tmp, path).map_err(io_err));
    if result.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    result
}

/// Numbers the temporary files of this process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A new, empty file named `.NAME.PID-N.partial` beside `path`, created exclusively (never
/// through a file or link already there).
fn create_temporary_beside(path: &Path) -> Result<(PathBuf, File), OutputError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}-{n}.partial", std::process::id()));
        match File::options().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => {
                return Err(OutputError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_never_replaces_a_photo_or_an_input_even_with_force() {
        let dir = std::env::temp_dir().join(format!("geolens-precious-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let photo = dir.join("photo.jpg");
        std::fs::write(&photo, [0xFF, 0xD8, 0xFF, 0xE0, 0, 16]).expect("photo");
        let renamed = dir.join("results.csv");
        std::fs::write(&renamed, b"II*\0 a TIFF named like a CSV").expect("tiff");
        let csv = dir.join("dataset.csv");
        std::fs::write(&csv, "path,lat,lon\n").expect("csv");
        let chart = dir.join("chart.png");
        std::fs::write(&chart, [0x89, b'P', b'N', b'G', 13, 10, 26, 10]).expect("png");
        for (path, inputs) in [
            (&photo, vec![]),
            (&renamed, vec![]),
            (&csv, vec![csv.as_path()]),
        ] {
            let err = check_report_output(path, true, &inputs, false).expect_err("refused");
            assert!(matches!(err, OutputError::Precious { .. }), "{err}");
            assert!(err.to_string().contains("even with --force"), "{err}");
        }
        check_report_output(&csv, true, &[photo.as_path()], false).expect("an old report");
        assert!(check_report_output(&chart, true, &[], false).is_err());
        check_report_output(&chart, true, &[], true).expect("an earlier chart");
        assert!(matches!(
            check_report_output(&csv, false, &[], false),
            Err(OutputError::Exists(_))
        ));
        std::fs::remove_dir_all(&dir).ok();
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("geolens-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }

    #[test]
    fn fifos_and_folders_are_refused_without_blocking() {
        let dir = scratch("fifo");
        let fifo = dir.join("photo.jpg");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        let err = open_regular(&fifo).expect_err("a FIFO").to_string();
        assert!(err.contains("FIFO"), "{err}");
        let err = read_regular(&dir).expect_err("a folder").to_string();
        assert!(err.contains("folder"), "{err}");
        std::fs::write(dir.join("a.txt"), b"abc").expect("write");
        assert_eq!(read_regular(&dir.join("a.txt")).expect("reads"), b"abc");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn outputs_replace_only_with_force_and_never_half_written() {
        let dir = scratch("out");
        let path = dir.join("report.csv");
        write_output(&path, false, |w| w.write_all(b"one")).expect("new file");
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        let err = write_output(&path, false, |w| w.write_all(b"two")).expect_err("exists");
        assert!(matches!(err, OutputError::Exists(_)), "{err}");
        // A failing writer leaves the old file and no temporary behind.
        let err = write_output(&path, true, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        })
        .expect_err("fails");
        assert!(err.to_string().contains("disk full"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_output(&path, true, |w| w.write_all(b"two")).expect("forced");
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names = names_in(&dir);
        assert_eq!(names.len(), 1, "{names:?}");
        // A folder under the output's name is never replaced, even with --force.
        std::fs::create_dir(dir.join("sub")).unwrap();
        let err = write_output(&dir.join("sub"), true, |_| Ok(())).expect_err("folder");
        assert!(matches!(err, OutputError::NotAFile(_)), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The names in a folder (no temporary file may be left behind).
    fn names_in(dir: &Path) -> Vec<std::ffi::OsString> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect()
    }

    #[test]
    fn path_writers_get_the_same_guarantees() {
        let dir = scratch("at");
        let path = dir.join("record.bin");
        write_output_at(&path, false, |tmp| std::fs::write(tmp, b"one")).expect("writes");
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        let err = write_output_at(&path, true, |tmp| {
            std::fs::write(tmp, b"half")?;
            Err(std::io::Error::other("store failed"))
        })
        .expect_err("fails");
        assert!(err.to_string().contains("store failed"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        assert!(matches!(
            write_output_at(&path, false, |_| Ok(())),
            Err(OutputError::Exists(_))
        ));
        let names = names_in(&dir);
        assert_eq!(names.len(), 1, "{names:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_planted_link_at_the_temporary_name_is_never_written_through() {
        let dir = scratch("link");
        let victim = dir.join("victim.txt");
        std::fs::write(&victim, b"keep").unwrap();
        // Links at the next names this process would pick.
        let next = COUNTER.load(Ordering::Relaxed);
        for n in next..next + 64 {
            let _ = std::os::unix::fs::symlink(
                &victim,
                dir.join(format!(".out.csv.{}-{n}.partial", std::process::id())),
            );
        }
        write_output(&dir.join("out.csv"), false, |w| w.write_all(b"new")).expect("writes");
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(std::fs::read(dir.join("out.csv")).unwrap(), b"new");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn a_path_that_is_not_utf8_round_trips_through_its_text() {
        use std::os::unix::ffi::OsStrExt;
        let plain = Path::new("/photos/Kyōto 2024/IMG_1.jpg");
        assert_eq!(path_text(plain), "/photos/Kyōto 2024/IMG_1.jpg");
        for bytes in [
            &b"/photos/caf\xe9/IMG_\xff\xfe.jpg"[..],
            b"/a\\xff/b\\\\c\x80",
            b"\\",
            b"ends with \\x4",
        ] {
            let path = Path::new(std::ffi::OsStr::from_bytes(bytes));
            let text = path_text(path);
            assert_eq!(path_from_text(&text), path, "{text}");
        }
        assert_eq!(
            path_text(Path::new(std::ffi::OsStr::from_bytes(b"caf\xe9.jpg"))),
            "caf\\xe9.jpg"
        );
    }
}
