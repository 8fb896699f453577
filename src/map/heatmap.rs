//! The heatmap layer: S2 cells filled by probability, drawn by a walkers [`Plugin`].
//!
//! The cell outlines are tessellated once per [`Heatmap`] (in world space); each frame only
//! moves the visible pieces to the screen and colours them, so panning stays cheap.

use egui::epaint::{Mesh, Vertex, WHITE_UV};
use egui::{Color32, Pos2, Response, Stroke, Ui, pos2};
use s2::cellid::CellID;
use s2::latlng::LatLng;
use serde::{Deserialize, Serialize};
use walkers::{MapMemory, Plugin, Projector, lat_lon};

use super::colormap::ColorMap;
use crate::geo::cell_polygon::{CellMesh, cell_world_rings};
use crate::geo::distance::EARTH_RADIUS_KM;
use crate::geo::geocells::{GeoCells, containing_index};
use crate::geo::mercator::{MAX_MERCATOR_LAT_DEG, WorldPoint, lat_lon_from_world};
use crate::scores::CellScore;

/// How probabilities map to colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum HeatScale {
    Linear,
    #[default]
    Log,
}

/// Decades below the maximum that the log scale shows for probabilities.
pub const LOG_SCALE_DECADES: f64 = 4.0;
/// The most decades any log scale shows.
pub const MAX_LOG_SCALE_DECADES: f64 = 8.0;
/// Share of the maximum under which the linear scale leaves a cell unfilled.
pub const LINEAR_SCALE_FLOOR: f64 = 0.01;

/// The shares of a probability map's mass the app offers to paint: the smallest set of cells
/// holding that much (a credible set); 1 paints every cell.
pub const SHOWN_MASS_CHOICES: [f32; 4] = [0.5, 0.9, 0.99, 1.0];

/// The user's choices for drawing a heatmap; persisted with the app state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeatmapStyle {
    pub color_map: ColorMap,
    pub scale: HeatScale,
    /// Fill opacity in `[0, 1]` (at the zooms where whole countries are in view; it falls as
    /// the map zooms in, see [`HeatmapStyle::opacity_at_zoom`]).
    pub opacity: f32,
    /// Share of a probability map's mass painted: cells outside the smallest set that holds it
    /// are left clear, so the world is not painted over by its least likely corners.
    pub shown_mass: f32,
    /// Colour by probability per area instead of per cell, so a vast ocean cell does not shout
    /// as loud as a city cell with the same mass.
    pub per_area: bool,
}

impl Default for HeatmapStyle {
    fn default() -> Self {
        Self {
            color_map: ColorMap::Viridis,
            scale: HeatScale::Log,
            opacity: 0.6,
            shown_mass: 0.99,
            per_area: false,
        }
    }
}

impl HeatmapStyle {
    /// Position of `probability` on the colour bar in `[0, 1]`, or `None` when it falls below
    /// what the scale shows.
    pub fn bar_position(&self, probability: f64, max_value: f64, log_decades: f64) -> Option<f32> {
        if probability.is_nan() || probability <= 0.0 || max_value.is_nan() || max_value <= 0.0 {
            return None;
        }
        let ratio = probability / max_value;
        let t = match self.scale {
            HeatScale::Linear if ratio < LINEAR_SCALE_FLOOR => return None,
            HeatScale::Linear => ratio,
            HeatScale::Log => {
                let t = 1.0 + ratio.log10() / log_decades;
                if t < 0.0 {
                    return None;
                }
                t
            }
        };
        Some(t.min(1.0) as f32)
    }

    /// The probability at colour-bar position `t` (inverse of [`Self::bar_position`]).
    pub fn value_at(&self, t: f32, max_value: f64, log_decades: f64) -> f64 {
        match self.scale {
            HeatScale::Linear => t as f64 * max_value,
            HeatScale::Log => max_value * 10f64.powf((t as f64 - 1.0) * log_decades),
        }
    }

    /// The fill opacity at a map zoom: as set up to zoom 5 (continents), falling linearly to
    /// half of it at zoom 10 (cities), so a zoomed-in map is not one solid colour.
    pub fn opacity_at_zoom(&self, zoom: f64) -> f32 {
        let fade = 1.0 - 0.5 * ((zoom - 5.0) / 5.0).clamp(0.0, 1.0);
        self.opacity.clamp(0.0, 1.0) * fade as f32
    }

    pub fn fill(&self, probability: f64, max_value: f64, log_decades: f64) -> Option<Color32> {
        let t = self.bar_position(probability, max_value, log_decades)?;
        let [r, g, b] = self.color_map.rgb(t);
        let a = (self.opacity.clamp(0.0, 1.0) * 255.0).round() as u8;
        Some(Color32::from_rgba_unmultiplied(r, g, b, a))
    }
}

/// One cell of a heatmap.
#[derive(Debug, Clone)]
pub struct HeatCell {
    pub cell: CellID,
    pub value: f64,
    /// Human place name, when known ("Kyoto, Kyoto, Japan").
    pub place_name: Option<String>,
}

/// Probabilities over non-overlapping S2 cells, tessellated for drawing.
pub struct Heatmap {
    /// Sorted by cell id, so that a point finds its cell by binary search.
    cells: Vec<HeatCell>,
    mesh: CellMesh,
    max_value: f64,
    quantity: HeatQuantity,
    /// Decades the log scale spans, fixed once the cells are (see [`Heatmap::log_decades`]).
    log_decades: f64,
    /// Each cell's area on the globe, in the cells' order.
    areas_km2: Vec<f64>,
    /// The largest value per 1000 km².
    max_per_1000_km2: f64,
    /// Finite positive values, largest first, with the running sum of the mass before each.
    by_mass: Vec<(f64, f64)>,
}

/// What a heatmap's values measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeatQuantity {
    /// Probability mass per cell (sums to at most 1).
    #[default]
    Probability,
    /// Photos per 1000 km^2.
    PhotoDensity,
}

impl HeatQuantity {
    /// Legend title.
    pub fn label(self) -> &'static str {
        match self {
            Self::Probability => "P(cell)",
            Self::PhotoDensity => "photos / 1000 km²",
        }
    }

    /// A value as short text ("12 %", "0.06 %", "< 0.01 %", "0.84").
    pub fn format(self, value: f64) -> String {
        match self {
            Self::Probability => crate::scores::percent(value),
            Self::PhotoDensity if value >= 100.0 => format!("{value:.0}"),
            Self::PhotoDensity if value >= 0.1 => format!("{value:.2}"),
            Self::PhotoDensity => format!("{value:.1e}"),
        }
    }
}

/// What the pointer is over.
#[derive(Debug, Clone, PartialEq)]
pub struct HoveredCell {
    pub token: String,
    pub value: f64,
    pub quantity: HeatQuantity,
    pub place_name: Option<String>,
    pub area_km2: f64,
}

impl Heatmap {
    pub fn new(cells: Vec<HeatCell>) -> Self {
        Self::of_quantity(cells, HeatQuantity::default())
    }

    fn of_quantity(mut cells: Vec<HeatCell>, quantity: HeatQuantity) -> Self {
        cells.sort_by_key(|c| c.cell.0);
        let ids: Vec<CellID> = cells.iter().map(|c| c.cell).collect();
        let mesh = CellMesh::build(&ids);
        let max_value = cells
            .iter()
            .map(|c| c.value)
            .filter(|p| p.is_finite())
            .fold(0.0, f64::max);
        let log_decades = match quantity {
            HeatQuantity::Probability => LOG_SCALE_DECADES,
            HeatQuantity::PhotoDensity => {
                let min = cells
                    .iter()
                    .map(|c| c.value)
                    .filter(|v| *v > 0.0 && v.is_finite())
                    .fold(f64::MAX, f64::min);
                if min >= max_value || max_value <= 0.0 {
                    1.0
                } else {
                    (max_value / min).log10().clamp(1.0, MAX_LOG_SCALE_DECADES)
                }
            }
        };
        let km2_per_steradian = EARTH_RADIUS_KM * EARTH_RADIUS_KM;
        let areas_km2: Vec<f64> = cells
            .iter()
            .map(|c| s2::cell::Cell::from(c.cell).exact_area() * km2_per_steradian)
            .collect();
        let max_per_1000_km2 = cells
            .iter()
            .zip(&areas_km2)
            .map(|(c, a)| c.value / a * 1000.0)
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let mut values: Vec<f64> = cells
            .iter()
            .map(|c| c.value)
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        values.sort_by(|a, b| b.total_cmp(a));
        let mut before = 0.0;
        let by_mass = values
            .into_iter()
            .map(|v| {
                let entry = (v, before);
                before += v;
                entry
            })
            .collect();
        Self {
            cells,
            mesh,
            max_value,
            quantity,
            log_decades,
            areas_km2,
            max_per_1000_km2,
            by_mass,
        }
    }

    /// The smallest cell probability inside the smallest set of cells that holds `mass` of the
    /// map's total: cells below it lie outside that credible set. `0` when every cell counts
    /// (`mass` of 1 or more, or a map that is not a probability).
    pub fn credible_floor(&self, mass: f64) -> f64 {
        let total = self.by_mass.last().map_or(0.0, |(v, before)| v + before);
        if self.quantity != HeatQuantity::Probability || mass >= 1.0 || total <= 0.0 {
            return 0.0;
        }
        let wanted = mass.max(0.0) * total;
        // The first cell whose running sum reaches the wanted mass closes the set.
        let last = self
            .by_mass
            .partition_point(|(v, before)| before + v < wanted)
            .min(self.by_mass.len() - 1);
        self.by_mass[last].0
    }

    /// How many cells the credible set of `mass` holds (every painted cell when `mass` >= 1).
    pub fn credible_cells(&self, mass: f64) -> usize {
        let floor = self.credible_floor(mass);
        self.by_mass.iter().filter(|(v, _)| *v >= floor).count()
    }

    /// The value a cell is coloured by under `style`: its own, or per 1000 km².
    fn shown_value(&self, index: usize, style: &HeatmapStyle) -> f64 {
        let value = self.cells[index].value;
        if style.per_area {
            value / self.areas_km2[index] * 1000.0
        } else {
            value
        }
    }

    /// The top of the colour bar under `style`.
    pub fn shown_max(&self, style: &HeatmapStyle) -> f64 {
        if style.per_area {
            self.max_per_1000_km2
        } else {
            self.max_value
        }
    }

    /// The colour bar's title under `style`.
    pub fn shown_label(&self, style: &HeatmapStyle) -> String {
        match (self.quantity, style.per_area) {
            (HeatQuantity::Probability, true) => "P per 1000 km²".into(),
            (HeatQuantity::PhotoDensity, true) => "photos / 1000 km² per 1000 km²".into(),
            (q, false) => q.label().into(),
        }
    }

    /// A probability heatmap over scored cells, named from the shipped geocells.
    pub fn from_scores(scores: &[CellScore], names: Option<&GeoCells>) -> Self {
        let values: Vec<(CellID, f64)> = scores.iter().map(|s| (s.cell, s.probability)).collect();
        Self::from_values(&values, HeatQuantity::Probability, names)
    }

    /// A heatmap of any quantity over cells. Each cell is named after the shipped geocell that
    /// holds its centre: in full when that geocell is at least as large, else by its country
    /// (the name's last part), since a big cell is not one city.
    pub fn from_values(
        values: &[(CellID, f64)],
        quantity: HeatQuantity,
        names: Option<&GeoCells>,
    ) -> Self {
        let cells = values
            .iter()
            .map(|&(cell, value)| {
                let centre = LatLng::from(cell);
                let place_name = names
                    .and_then(|g| g.lookup(centre.lat.deg(), centre.lng.deg()))
                    .map(|g| {
                        if g.cell.level() <= cell.level() {
                            g.place_name.clone()
                        } else {
                            let country = g.place_name.rsplit(", ").next().unwrap_or(&g.place_name);
                            country.to_string()
                        }
                    });
                HeatCell {
                    cell,
                    value,
                    place_name,
                }
            })
            .collect();
        Self::of_quantity(cells, quantity)
    }

    pub fn quantity(&self) -> HeatQuantity {
        self.quantity
    }

    /// Decades the log scale spans: fixed for probabilities (so maps compare), the data's own
    /// range (at most [`MAX_LOG_SCALE_DECADES`]) for other quantities.
    pub fn log_decades(&self) -> f64 {
        self.log_decades
    }

    /// The `k` most probable cells, most probable first.
    pub fn top_cells(&self, k: usize) -> Vec<&HeatCell> {
        let mut sorted: Vec<&HeatCell> = self.cells.iter().collect();
        sorted.sort_by(|a, b| b.value.total_cmp(&a.value));
        sorted.truncate(k);
        sorted
    }

    pub fn cells(&self) -> &[HeatCell] {
        &self.cells
    }

    pub fn max_value(&self) -> f64 {
        self.max_value
    }

    pub fn mesh(&self) -> &CellMesh {
        &self.mesh
    }

    /// The cell holding a position, if the heatmap has one there.
    pub fn cell_at(&self, lat_deg: f64, lon_deg: f64) -> Option<&HeatCell> {
        self.index_at(lat_deg, lon_deg).map(|i| &self.cells[i])
    }

    fn index_at(&self, lat_deg: f64, lon_deg: f64) -> Option<usize> {
        if !lat_deg.is_finite() || !lon_deg.is_finite() {
            return None;
        }
        let leaf = CellID::from(LatLng::from_degrees(lat_deg.clamp(-90.0, 90.0), lon_deg));
        containing_index(&self.cells, |c| c.cell, leaf)
    }

    /// Screen-space triangles of the visible part of the heatmap.
    pub fn screen_mesh(
        &self,
        view: &ScreenTransform,
        clip: egui::Rect,
        style: &HeatmapStyle,
    ) -> Mesh {
        let floor = self.credible_floor(f64::from(style.shown_mass));
        let max = self.shown_max(style);
        let fills: Vec<Option<Color32>> = (0..self.cells.len())
            .map(|i| {
                if self.cells[i].value < floor {
                    return None;
                }
                style.fill(self.shown_value(i, style), max, self.log_decades)
            })
            .collect();
        let world_lo = view.world_from_screen(clip.min);
        let world_hi = view.world_from_screen(clip.max);
        let mut out = Mesh::default();
        for piece in &self.mesh.pieces {
            let Some(color) = fills[piece.cell_index] else {
                continue;
            };
            if piece.world_max.x < world_lo.x
                || piece.world_min.x > world_hi.x
                || piece.world_max.y < world_lo.y
                || piece.world_min.y > world_hi.y
            {
                continue;
            }
            let base = out.vertices.len() as u32;
            let first = piece.vertex_range.start;
            for p in &self.mesh.world_vertices[first as usize..piece.vertex_range.end as usize] {
                out.vertices.push(Vertex {
                    pos: view.screen_from_world(*p),
                    uv: WHITE_UV,
                    color,
                });
            }
            out.indices.extend(
                self.mesh.indices[piece.index_range.start as usize..piece.index_range.end as usize]
                    .iter()
                    .map(|i| i - first + base),
            );
        }
        out
    }
}

/// The affine map between normalised world space and screen points for one frame.
#[derive(Debug, Clone, Copy)]
pub struct ScreenTransform {
    /// Screen position of world (0, 0), the map's top-left corner.
    pub origin: Pos2,
    /// Screen pixels per world unit (the world's width in pixels).
    pub world_px: f64,
}

impl ScreenTransform {
    pub fn from_projector(projector: &Projector) -> Self {
        let origin = projector
            .project(lat_lon(MAX_MERCATOR_LAT_DEG, -180.0))
            .to_pos2();
        let world_px = 256.0 * 2f64.powf(projector.zoom());
        Self { origin, world_px }
    }

    pub fn screen_from_world(&self, p: WorldPoint) -> Pos2 {
        pos2(
            (self.origin.x as f64 + p.x * self.world_px) as f32,
            (self.origin.y as f64 + p.y * self.world_px) as f32,
        )
    }

    pub fn world_from_screen(&self, p: Pos2) -> WorldPoint {
        WorldPoint {
            x: (p.x as f64 - self.origin.x as f64) / self.world_px,
            y: (p.y as f64 - self.origin.y as f64) / self.world_px,
        }
    }
}

/// Draws a [`Heatmap`] on a walkers map and reports the hovered cell.
pub struct HeatmapPlugin<'a> {
    pub heatmap: &'a Heatmap,
    pub style: HeatmapStyle,
    /// Filled with the cell under the pointer, if any.
    pub hovered: &'a mut Option<HoveredCell>,
}

impl Plugin for HeatmapPlugin<'_> {
    fn run(
        self: Box<Self>,
        ui: &mut Ui,
        response: &Response,
        projector: &Projector,
        _: &MapMemory,
    ) {
        let view = ScreenTransform::from_projector(projector);
        let clip = projector.clip_rect();
        let painter = ui.painter_at(clip);
        let style = HeatmapStyle {
            opacity: self.style.opacity_at_zoom(projector.zoom()),
            ..self.style
        };
        painter.add(self.heatmap.screen_mesh(&view, clip, &style));

        *self.hovered = None;
        let Some(pointer) = response.hover_pos() else {
            return;
        };
        let world = view.world_from_screen(pointer);
        if !(0.0..=1.0).contains(&world.x) || !(0.0..=1.0).contains(&world.y) {
            return;
        }
        let (lat_deg, lon_deg) = lat_lon_from_world(world);
        let Some(index) = self.heatmap.index_at(lat_deg, lon_deg) else {
            return;
        };
        let cell = &self.heatmap.cells[index];
        for ring in cell_world_rings(cell.cell) {
            let points = ring
                .into_iter()
                .map(|p| view.screen_from_world(p))
                .collect();
            painter.add(egui::Shape::closed_line(
                points,
                Stroke::new(2.0, Color32::WHITE),
            ));
        }
        *self.hovered = Some(HoveredCell {
            token: cell.cell.to_token(),
            value: cell.value,
            quantity: self.heatmap.quantity,
            place_name: cell.place_name.clone(),
            area_km2: self.heatmap.areas_km2[index],
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell_at_level(lat: f64, lon: f64, level: u64) -> CellID {
        CellID::from(LatLng::from_degrees(lat, lon)).parent(level)
    }

    #[test]
    fn scales_place_probabilities_on_the_bar() {
        let log = HeatmapStyle::default();
        assert_eq!(log.bar_position(0.5, 0.5, 4.0), Some(1.0));
        assert!((log.bar_position(0.05, 0.5, 4.0).unwrap_or(-1.0) - 0.75).abs() < 1e-6);
        assert_eq!(log.bar_position(0.5e-5, 0.5, 4.0), None);
        assert_eq!(log.bar_position(0.0, 0.5, 4.0), None);
        assert_eq!(log.bar_position(f64::NAN, 0.5, 4.0), None);
        assert!((log.value_at(0.75, 0.5, 4.0) - 0.05).abs() < 1e-12);
        let linear = HeatmapStyle {
            scale: HeatScale::Linear,
            ..log
        };
        assert_eq!(linear.bar_position(0.25, 0.5, 4.0), Some(0.5));
        assert_eq!(linear.bar_position(0.001, 0.5, 4.0), None);
        assert!((linear.value_at(0.5, 0.5, 4.0) - 0.25).abs() < 1e-12);
        // Eight decades reach further down than four.
        assert!(log.bar_position(0.5e-5, 0.5, 8.0).is_some());
        assert!((log.value_at(0.0, 1.0, 8.0) - 1e-8).abs() < 1e-20);
        assert_eq!(HeatQuantity::Probability.format(0.5), "50 %");
        assert_eq!(HeatQuantity::Probability.format(0.0123), "1.2 %");
        assert_eq!(HeatQuantity::Probability.format(0.00001), "< 0.01 %");
        assert_eq!(HeatQuantity::PhotoDensity.format(0.842), "0.84");
        // Opacity reaches the fill colour.
        let faint = HeatmapStyle {
            opacity: 0.0,
            ..log
        };
        assert_eq!(faint.fill(0.5, 0.5, 4.0).map(|c| c.a()), Some(0));
    }

    #[test]
    fn credible_sets_leave_the_unlikely_tail_unpainted() {
        let cells: Vec<HeatCell> = [0.5, 0.3, 0.15, 0.04, 0.01]
            .iter()
            .enumerate()
            .map(|(i, &value)| HeatCell {
                cell: cell_at_level(10.0 * i as f64, 20.0 * i as f64, 5),
                value,
                place_name: None,
            })
            .collect();
        let heatmap = Heatmap::new(cells);
        assert_eq!(heatmap.credible_floor(0.5), 0.5);
        assert_eq!(heatmap.credible_cells(0.5), 1);
        assert_eq!(heatmap.credible_floor(0.9), 0.15);
        assert_eq!(heatmap.credible_cells(0.9), 3);
        assert_eq!(heatmap.credible_floor(0.99), 0.04);
        assert_eq!(heatmap.credible_cells(1.0), 5);
        // The 50 % set paints one cell, the full map all five.
        let view = ScreenTransform {
            origin: pos2(0.0, 0.0),
            world_px: 1024.0,
        };
        let whole = egui::Rect::from_min_max(pos2(0.0, 0.0), pos2(1024.0, 1024.0));
        let painted = |shown_mass: f32| {
            let style = HeatmapStyle {
                shown_mass,
                scale: HeatScale::Log,
                ..HeatmapStyle::default()
            };
            let mesh = heatmap.screen_mesh(&view, whole, &style);
            let colours: std::collections::BTreeSet<[u8; 4]> =
                mesh.vertices.iter().map(|v| v.color.to_array()).collect();
            colours.len()
        };
        assert_eq!(painted(0.5), 1);
        assert_eq!(painted(1.0), 5);
        // Densities are not probabilities: every cell counts.
        let density = Heatmap::from_values(
            &[(cell_at_level(0.0, 0.0, 5), 3.0)],
            HeatQuantity::PhotoDensity,
            None,
        );
        assert_eq!(density.credible_floor(0.5), 0.0);
    }

    #[test]
    fn per_area_colours_a_small_cell_above_a_vast_one_of_equal_mass() {
        let vast = cell_at_level(-40.0, -130.0, 3);
        let city = cell_at_level(48.8566, 2.3522, 9);
        let heatmap = Heatmap::new(vec![
            HeatCell {
                cell: vast,
                value: 0.5,
                place_name: None,
            },
            HeatCell {
                cell: city,
                value: 0.5,
                place_name: None,
            },
        ]);
        let style = HeatmapStyle {
            per_area: true,
            ..HeatmapStyle::default()
        };
        let city_index = heatmap.index_at(48.8566, 2.3522).expect("city");
        let vast_index = heatmap.index_at(-40.0, -130.0).expect("ocean");
        assert_eq!(
            heatmap.shown_value(city_index, &style),
            heatmap.shown_max(&style)
        );
        assert!(
            heatmap.shown_value(vast_index, &style) < heatmap.shown_max(&style) / 1000.0,
            "a level-3 cell is thousands of times a level-9 one"
        );
        // Opacity falls as the map zooms in to cities.
        assert_eq!(style.opacity_at_zoom(3.0), style.opacity);
        assert!((style.opacity_at_zoom(12.0) - style.opacity / 2.0).abs() < 1e-6);
    }

    #[test]
    fn points_find_their_cell_and_only_their_cell() {
        let kyoto = cell_at_level(35.0116, 135.7681, 6);
        let paris = cell_at_level(48.8566, 2.3522, 10);
        let heatmap = Heatmap::new(vec![
            HeatCell {
                cell: paris,
                value: 0.25,
                place_name: Some("Paris".into()),
            },
            HeatCell {
                cell: kyoto,
                value: 0.75,
                place_name: None,
            },
        ]);
        assert_eq!(heatmap.max_value(), 0.75);
        assert_eq!(
            heatmap.cell_at(35.0116, 135.7681).map(|c| c.cell),
            Some(kyoto)
        );
        assert_eq!(
            heatmap.cell_at(48.8566, 2.3522).map(|c| c.cell),
            Some(paris)
        );
        assert!(heatmap.cell_at(-33.86, 151.2).is_none());
        assert!(heatmap.cell_at(f64::NAN, 0.0).is_none());
    }

    #[test]
    fn cells_are_named_from_geocells_at_a_fitting_level_of_detail() {
        let names = GeoCells::embedded(crate::geo::geocells::Granularity::Fine).expect("fine");
        let big = cell_at_level(35.0116, 135.7681, 4);
        let small = names
            .lookup(35.0116, 135.7681)
            .expect("Kyoto is covered")
            .cell;
        let heatmap = Heatmap::from_values(&[(big, 0.5)], HeatQuantity::Probability, Some(&names));
        assert_eq!(heatmap.cells()[0].place_name.as_deref(), Some("Japan"));
        let heatmap =
            Heatmap::from_values(&[(small, 0.5)], HeatQuantity::Probability, Some(&names));
        let name = heatmap.cells()[0].place_name.clone().unwrap_or_default();
        assert!(name.contains("Kyoto") && name.ends_with("Japan"), "{name}");
        let mid_pacific = cell_at_level(-40.0, -130.0, 12);
        let heatmap = Heatmap::from_values(
            &[(mid_pacific, 0.5)],
            HeatQuantity::Probability,
            Some(&names),
        );
        assert_eq!(heatmap.cells()[0].place_name, None);
    }

    #[test]
    fn screen_mesh_covers_visible_cells_and_skips_hidden_ones() {
        let kyoto = cell_at_level(35.0116, 135.7681, 6);
        let heatmap = Heatmap::new(vec![HeatCell {
            cell: kyoto,
            value: 1.0,
            place_name: None,
        }]);
        let view = ScreenTransform {
            origin: pos2(0.0, 0.0),
            world_px: 1024.0,
        };
        let whole = egui::Rect::from_min_max(pos2(0.0, 0.0), pos2(1024.0, 1024.0));
        let mesh = heatmap.screen_mesh(&view, whole, &HeatmapStyle::default());
        assert!(mesh.indices.len() >= 6 && mesh.indices.len().is_multiple_of(3));
        assert!(
            mesh.indices
                .iter()
                .all(|&i| (i as usize) < mesh.vertices.len())
        );
        let centre = crate::geo::mercator::world_from_lat_lon(35.0116, 135.7681);
        let c = view.screen_from_world(centre);
        assert!(mesh.vertices.iter().all(|v| (v.pos - c).length() < 40.0));
        // A viewport over the Atlantic draws nothing.
        let atlantic = egui::Rect::from_min_max(pos2(350.0, 350.0), pos2(420.0, 420.0));
        assert!(
            heatmap
                .screen_mesh(&view, atlantic, &HeatmapStyle::default())
                .is_empty()
        );
    }
}
