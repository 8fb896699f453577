//! Credible regions on the map: the outline of the smallest set of cells holding 50 % and
//! 90 % of the probability, drawn over the heatmap by a walkers [`Plugin`].

use egui::{Color32, Response, Stroke, Ui};
use walkers::{MapMemory, Plugin, Projector};

use super::heatmap::ScreenTransform;
use crate::geo::mercator::WorldPoint;

/// One region's outline, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionOutline {
    pub segments: Vec<(WorldPoint, WorldPoint)>,
    pub stroke: Stroke,
}

/// The line of the area whose time zones kept the camera clock's offset.
pub const CLOCK_STROKE: Stroke = Stroke {
    width: 2.0,
    color: Color32::from_rgb(80, 220, 255),
};

impl RegionOutline {
    /// The outline of the cells of a credible region.
    pub fn of(region: &crate::predict::CredibleRegion) -> Self {
        Self {
            segments: crate::geo::region_outline::outline_segments(&region.cell_ids),
            stroke: region_stroke(region.mass),
        }
    }

    /// The outline of the cells that keep the camera clock's time.
    pub fn clock(cells: &[s2::cellid::CellID]) -> Self {
        Self {
            segments: crate::geo::region_outline::outline_segments(cells),
            stroke: CLOCK_STROKE,
        }
    }
}

/// The line a region is drawn with: the core region bold, wider ones finer.
pub fn region_stroke(mass: f64) -> Stroke {
    if mass <= 0.5 {
        Stroke::new(2.5, Color32::WHITE)
    } else {
        Stroke::new(1.5, Color32::from_rgb(255, 220, 120))
    }
}

/// Draws credible-region outlines.
pub struct RegionsPlugin<'a> {
    pub outlines: &'a [RegionOutline],
}

impl Plugin for RegionsPlugin<'_> {
    fn run(self: Box<Self>, ui: &mut Ui, _: &Response, projector: &Projector, _: &MapMemory) {
        let view = ScreenTransform::from_projector(projector);
        let clip = projector.clip_rect();
        let painter = ui.painter_at(clip);
        let shadow = Color32::from_black_alpha(160);
        // In the order given: the last is drawn on top.
        for outline in self.outlines {
            let stroke = outline.stroke;
            let under = Stroke::new(stroke.width + 2.0, shadow);
            for (a, b) in &outline.segments {
                let (p, q) = (view.screen_from_world(*a), view.screen_from_world(*b));
                if !clip.intersects(egui::Rect::from_two_pos(p, q)) {
                    continue;
                }
                painter.line_segment([p, q], under);
                painter.line_segment([p, q], stroke);
            }
        }
    }
}
