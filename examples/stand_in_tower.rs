//! Writes a seeded stand-in CLIP tower: noise weights in the Hugging Face layout, for trying the
//! whole pipeline (CLI, app, GPU path) where the real ViT-L/14 cannot be downloaded. Its answers
//! mean nothing, and geolens names it as "not ViT-L/14" unless it has that exact shape.
//!
//! ```text
//! cargo run --release --example stand_in_tower -- DIR [--vit-large] [--seed N]
//! ```
//! `--vit-large` gives ViT-L/14's full shape (224 px, 24 layers, 1.2 GB); the default is the
//! small tower the tests use.

use geolens::testing::{TestTower, write_test_clip_tower};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().filter(|a| !a.starts_with("--")) else {
        eprintln!("usage: stand_in_tower DIR [--vit-large] [--seed N]");
        std::process::exit(2);
    };
    let tower = if args.iter().any(|a| a == "--vit-large") {
        TestTower {
            image_size: 224,
            patch_size: 14,
            hidden_size: 1024,
            intermediate_size: 4096,
            num_hidden_layers: 24,
            num_attention_heads: 16,
            projection_dim: 768,
        }
    } else {
        TestTower::default()
    };
    let seed = args
        .iter()
        .position(|a| a == "--seed")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(11);
    if let Err(e) = write_test_clip_tower(std::path::Path::new(dir), tower, seed) {
        eprintln!("stand_in_tower: cannot write {dir}: {e}");
        std::process::exit(1);
    }
    println!("wrote a stand-in tower (seed {seed}) to {dir}");
}
