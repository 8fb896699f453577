//! The map: the offline basemap pack, place names, opt-in online layers, colour maps and the
//! heatmap layer.

pub mod basemap;
pub mod colormap;
pub mod heatmap;
pub mod labels;
pub mod markers;
pub mod online;
pub mod regions;
pub mod tile_pack;
