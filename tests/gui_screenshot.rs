//! Starts the real app under Xvfb, renders a frame with the map and a heatmap, and checks the
//! pixels: ocean and land colours where they belong, the heatmap colour over its cell only.
//! The screenshot is kept at `target/tmp/gui_screenshot/map.png`.

mod common;

use geolens::geo::mercator::world_from_lat_lon;
use geolens::map::colormap::ColorMap;
use s2::cellid::CellID;
use s2::latlng::LatLng;

struct Shot {
    image: image::RgbaImage,
    map_rect_px: [f64; 4],
    zoom: f64,
    center: (f64, f64),
}

impl Shot {
    /// Screen pixel of a place, computed independently of the app from its map geometry.
    fn pixel_of(&self, lat_deg: f64, lon_deg: f64) -> (u32, u32) {
        let world_px = 256.0 * 2f64.powf(self.zoom);
        let c = world_from_lat_lon(self.center.0, self.center.1);
        let p = world_from_lat_lon(lat_deg, lon_deg);
        let [x0, y0, x1, y1] = self.map_rect_px;
        let x = (x0 + x1) / 2.0 + (p.x - c.x) * world_px;
        let y = (y0 + y1) / 2.0 + (p.y - c.y) * world_px;
        assert!(
            x0 <= x && x < x1 && y0 <= y && y < y1,
            "({lat_deg}, {lon_deg}) is off the map"
        );
        (x as u32, y as u32)
    }

    fn rgb(&self, lat_deg: f64, lon_deg: f64) -> [i32; 3] {
        let (x, y) = self.pixel_of(lat_deg, lon_deg);
        let p = self.image.get_pixel(x, y).0;
        [p[0] as i32, p[1] as i32, p[2] as i32]
    }
}

fn is_ocean([r, g, b]: [i32; 3]) -> bool {
    b > r + 40 && b > g
}

#[test]
fn app_draws_basemap_and_heatmap_where_they_belong() {
    let dir = common::scratch_dir("gui_screenshot");
    let runtime_dir = common::private_dir(dir.join("xdg-runtime"));

    // One level-4 cell around Kyoto carries all the probability.
    let cell = CellID::from(LatLng::from_degrees(35.0116, 135.7681)).parent(4);
    let scores = dir.join("scores.csv");
    std::fs::write(
        &scores,
        format!("token,probability\n{},1.0\n", cell.to_token()),
    )
    .expect("write scores");

    let xvfb = common::Xvfb::start();
    let png = dir.join("map.png");
    let output = common::geolens_on_display(&xvfb.display, &runtime_dir)
        .args(["--heatmap", scores.to_str().expect("utf-8 path")])
        .args([
            "--center",
            "35,135",
            "--zoom",
            "4",
            "--window-size",
            "1200x800",
        ])
        .args(["--screenshot", png.to_str().expect("utf-8 path")])
        .env("HOME", &dir)
        .output()
        .expect("run geolens");
    assert!(
        output.status.success(),
        "geolens failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );

    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(png.with_extension("json")).expect("sidecar json"),
    )
    .expect("valid json");
    let num = |v: &serde_json::Value| v.as_f64().expect("number");
    let rect: Vec<f64> = meta["map_rect_px"]
        .as_array()
        .expect("rect")
        .iter()
        .map(num)
        .collect();
    let shot = Shot {
        image: image::open(&png).expect("screenshot decodes").to_rgba8(),
        map_rect_px: [rect[0], rect[1], rect[2], rect[3]],
        zoom: num(&meta["zoom"]),
        center: (num(&meta["center_lat_deg"]), num(&meta["center_lon_deg"])),
    };
    assert_eq!(shot.zoom, 4.0);
    assert_eq!(shot.center, (35.0, 135.0));
    assert!(
        rect[2] - rect[0] > 600.0 && rect[3] - rect[1] > 600.0,
        "map too small: {rect:?}"
    );

    // Basemap: Pacific and Sea of Japan are ocean; Korea (outside the cell) is land.
    assert!(
        is_ocean(shot.rgb(30.0, 150.0)),
        "Pacific {:?}",
        shot.rgb(30.0, 150.0)
    );
    assert!(
        is_ocean(shot.rgb(40.0, 135.0)),
        "Sea of Japan {:?}",
        shot.rgb(40.0, 135.0)
    );
    let korea = (36.3, 127.8);
    assert!(!cell.contains(&CellID::from(LatLng::from_degrees(korea.0, korea.1))));
    let korea_rgb = shot.rgb(korea.0, korea.1);
    assert!(!is_ocean(korea_rgb), "Korea {korea_rgb:?}");

    // Heatmap: the top of viridis (yellow) at 60% opacity over the cell, nowhere else.
    let [yr, yg, yb] = ColorMap::Viridis.rgb(1.0).map(i32::from);
    let yellowish = |[r, g, b]: [i32; 3]| r > 150 && g > 150 && b < 130;
    let centre = LatLng::from(cell);
    let inside = shot.rgb(centre.lat.deg(), centre.lng.deg());
    assert!(
        yellowish(inside),
        "cell centre {inside:?}, heatmap colour ({yr}, {yg}, {yb})"
    );
    for (lat, lon) in [korea, (30.0, 150.0), (40.0, 135.0), (43.0, 141.3)] {
        assert!(
            !yellowish(shot.rgb(lat, lon)),
            "({lat}, {lon}) is painted: {:?}",
            shot.rgb(lat, lon)
        );
    }
}
