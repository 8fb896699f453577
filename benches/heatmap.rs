//! Heatmap and basemap costs, printed as a table: `cargo bench --bench heatmap`.
//!
//! Targets: tessellating a 20,000-cell heatmap happens once per heatmap (well under a second);
//! moving it to the screen happens every frame and must leave room for 60 fps (a few ms).

use std::hint::black_box;
use std::time::{Duration, Instant};

use egui::{Rect, pos2};
use geolens::geo::geocells::{GeoCells, Granularity};
use geolens::geo::mercator::world_from_lat_lon;
use geolens::map::basemap::embedded_pack;
use geolens::map::heatmap::{HeatQuantity, Heatmap, HeatmapStyle, ScreenTransform};
use geolens::map::tile_pack::TileKey;
use s2::cellid::CellID;

/// Median wall time of `f` over enough runs to fill about half a second (at least 5 runs).
fn median_time(mut f: impl FnMut()) -> Duration {
    let mut times = Vec::new();
    let started = Instant::now();
    while times.len() < 5 || (started.elapsed() < Duration::from_millis(500) && times.len() < 1000)
    {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

/// Screen mapping for a 1000x750 map centred on (lat, lon) at `zoom`.
fn view(lat: f64, lon: f64, zoom: f64) -> (ScreenTransform, Rect) {
    let clip = Rect::from_min_max(pos2(0.0, 0.0), pos2(1000.0, 750.0));
    let world_px = 256.0 * 2f64.powf(zoom);
    let c = world_from_lat_lon(lat, lon);
    let origin = pos2(
        (500.0 - c.x * world_px) as f32,
        (375.0 - c.y * world_px) as f32,
    );
    (ScreenTransform { origin, world_px }, clip)
}

fn main() {
    println!("{:<52} {:>10} {:>10}", "case", "ms", "triangles");
    // 20,000 level-6 cells over the whole globe (faces 0-3 and part of 4), values spread over
    // six decades.
    let mut next_cell = CellID::from_face(0).child_begin_at_level(6);
    let cells: Vec<(CellID, f64)> = (0..20_000u64)
        .map(|i| {
            let cell = next_cell;
            next_cell = next_cell.next();
            (cell, 10f64.powf(-(((i * 7919) % 600) as f64) / 100.0))
        })
        .collect();
    let fine = GeoCells::embedded(Granularity::Fine).expect("fine geocells");
    let fine_values: Vec<(CellID, f64)> = fine
        .cells()
        .iter()
        .map(|c| (c.cell, f64::from(c.photo_count)))
        .collect();

    for (name, values) in [
        ("20,000 level-6 cells", &cells),
        ("fine geocells", &fine_values),
    ] {
        let build = median_time(|| {
            black_box(Heatmap::from_values(
                values,
                HeatQuantity::Probability,
                None,
            ));
        });
        let heatmap = Heatmap::from_values(values, HeatQuantity::Probability, None);
        let triangles = heatmap.mesh().indices.len() / 3;
        println!(
            "{:<52} {:>10} {:>10}",
            format!("tessellate {name} ({} cells, once)", values.len()),
            ms(build),
            triangles
        );
        let style = HeatmapStyle::default();
        for (what, lat, lon, zoom) in [
            ("whole world, zoom 2", 20.0, 0.0, 2.0),
            ("Europe, zoom 4", 48.0, 10.0, 4.0),
            ("Kyoto, zoom 10", 35.0, 135.7, 10.0),
        ] {
            let (transform, clip) = view(lat, lon, zoom);
            let frame = median_time(|| {
                black_box(heatmap.screen_mesh(&transform, clip, &style));
            });
            let drawn = heatmap.screen_mesh(&transform, clip, &style).indices.len() / 3;
            println!(
                "{:<52} {:>10} {:>10}",
                format!("  per frame: {what}"),
                ms(frame),
                drawn
            );
        }
    }

    let pack = embedded_pack().expect("basemap");
    let blob = pack
        .get(TileKey {
            zoom: 6,
            x: 34,
            y: 22,
        })
        .expect("tile")
        .to_vec();
    let decode = median_time(|| {
        black_box(image::load_from_memory(&blob).expect("decodes"));
    });
    println!(
        "{:<52} {:>10} {:>10}",
        "decode one basemap tile (256 px JPEG)",
        ms(decode),
        "-"
    );
    let parse = median_time(|| {
        black_box(embedded_pack().expect("parses"));
    });
    println!(
        "{:<52} {:>10} {:>10}",
        "parse embedded basemap index (5461 tiles)",
        ms(parse),
        "-"
    );
}
