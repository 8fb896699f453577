//! Renders the app icon (`assets/linux/geolens.svg`, drawn for geolens) into the PNG sizes
//! desktops ask for, under `assets/linux/icons/hicolor/NxN/apps/geolens.png`:
//!
//! ```text
//! cargo run --example icons
//! ```

use std::path::Path;

const SIZES: [u32; 8] = [16, 24, 32, 48, 64, 128, 256, 512];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/linux");
    let svg = std::fs::read(root.join("geolens.svg")).expect("assets/linux/geolens.svg");
    let tree =
        resvg::usvg::Tree::from_data(&svg, &resvg::usvg::Options::default()).expect("a valid SVG");
    for size in SIZES {
        let mut pixmap = resvg::tiny_skia::Pixmap::new(size, size).expect("pixmap");
        let scale = size as f32 / tree.size().width();
        resvg::render(
            &tree,
            resvg::tiny_skia::Transform::from_scale(scale, scale),
            &mut pixmap.as_mut(),
        );
        let dir = root.join(format!("icons/hicolor/{size}x{size}/apps"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        pixmap.save_png(dir.join("geolens.png")).expect("write PNG");
        println!("{size}x{size}");
    }
}
