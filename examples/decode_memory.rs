//! What reading one photo costs in memory: its EXIF facts and its decoded pixels, as
//! `predict` reads them. For hostile-input checks, with `/usr/bin/time -v`:
//!
//! ```text
//! cargo run --release --example decode_memory -- PHOTO
//! ```

fn main() {
    let Some(path) = std::env::args_os().nth(1).map(std::path::PathBuf::from) else {
        eprintln!("usage: decode_memory PHOTO");
        std::process::exit(2);
    };
    let facts = geolens::photo::exif::read_facts(&path);
    println!("facts: {facts:?}");
    match geolens::photo::decode::decode_photo(&path) {
        Ok(image) => println!("decoded: {}x{}", image.width(), image.height()),
        Err(e) => {
            println!("error: {e}");
            std::process::exit(1);
        }
    }
}
