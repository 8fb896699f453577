//! The Debian package's description (`[package.metadata.deb]` in Cargo.toml, built by
//! `cargo deb`): every file it installs exists, the desktop entry opens the photo formats
//! geolens reads, and the icons are the sizes their folders say.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn deb_metadata() -> toml::Table {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let manifest: toml::Table = text.parse().expect("valid TOML");
    manifest["package"]["metadata"]["deb"]
        .as_table()
        .expect("[package.metadata.deb]")
        .clone()
}

/// (source, destination) of every asset.
fn assets() -> Vec<(String, String)> {
    deb_metadata()["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .map(|a| {
            let a = a.as_array().expect("[source, destination, mode]");
            (
                a[0].as_str().expect("source").to_string(),
                a[1].as_str().expect("destination").to_string(),
            )
        })
        .collect()
}

#[test]
fn the_package_installs_the_binary_its_launcher_entry_and_icons() {
    let assets = assets();
    let installs = |dest: &str| assets.iter().any(|(_, d)| d.starts_with(dest));
    assert!(
        assets
            .iter()
            .any(|(s, d)| s == "target/release/geolens" && d == "usr/bin/"),
        "{assets:?}"
    );
    assert!(installs("usr/share/applications/"));
    assert!(installs("usr/share/icons/hicolor/scalable/apps/"));
    // Every file but the binary (which `cargo deb` builds) is in the repository.
    for (source, _) in assets.iter().filter(|(s, _)| !s.starts_with("target/")) {
        assert!(root().join(source).is_file(), "{source} is missing");
    }
    let depends = deb_metadata()["depends"]
        .as_str()
        .expect("depends")
        .to_string();
    for library in ["libxkbcommon-x11-0", "libvulkan1", "libegl1"] {
        assert!(depends.contains(library), "{depends}");
    }
}

#[test]
fn the_desktop_entry_opens_every_photo_format_geolens_reads() {
    let entry = std::fs::read_to_string(root().join("assets/linux/geolens.desktop"))
        .expect("desktop entry");
    let value = |key: &str| {
        entry
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key}= missing"))
            .to_string()
    };
    assert_eq!(entry.lines().next(), Some("[Desktop Entry]"));
    assert_eq!(value("Type"), "Application");
    assert_eq!(value("Icon"), "geolens");
    // %F: the file manager's "Open with" passes the photos as arguments, as geolens takes them.
    assert_eq!(value("Exec"), "geolens %F");
    let mime = value("MimeType");
    for ext in geolens::photo::PHOTO_EXTENSIONS {
        let wanted = match ext {
            "jpg" | "jpeg" => "image/jpeg".to_string(),
            "tif" | "tiff" => "image/tiff".to_string(),
            other => format!("image/{other}"),
        };
        assert!(
            mime.split(';').any(|m| m == wanted),
            "{ext}: {wanted} not in {mime}"
        );
    }
    if let Ok(out) = std::process::Command::new("desktop-file-validate")
        .arg(root().join("assets/linux/geolens.desktop"))
        .output()
    {
        assert!(
            out.status.success() && out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    } else {
        eprintln!("desktop-file-validate not installed (desktop-file-utils): skipped that check");
    }
}

#[test]
fn each_icon_is_the_size_its_folder_names_and_not_blank() {
    let installed: Vec<(String, String)> = assets()
        .into_iter()
        .filter(|(_, d)| d.starts_with("usr/share/icons/hicolor/") && !d.contains("scalable"))
        .collect();
    assert!(installed.len() >= 6, "{installed:?}");
    for (source, destination) in installed {
        let size: u32 = destination
            .split('/')
            .find_map(|part| part.split_once('x').and_then(|(w, _)| w.parse().ok()))
            .expect("an NxN folder");
        let icon = image::open(root().join(&source)).expect("PNG").to_rgba8();
        assert_eq!(icon.dimensions(), (size, size), "{source}");
        let opaque = icon.pixels().filter(|p| p.0[3] > 200).count();
        assert!(
            opaque > (size * size / 4) as usize,
            "{source}: {opaque} opaque pixels"
        );
    }
}
