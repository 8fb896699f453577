//! HEVC (H.265) still-picture decode: bitstream parameter sets,
//! the CABAC entropy engine, intra prediction, inverse transforms, residual
//! coding, and the CTU decode driver.

pub mod cabac;
pub mod contexts;
pub mod ctu;
pub mod deblock;
pub mod intra;
pub mod nal;
pub mod params;
pub mod residual;
pub mod sao;
pub mod scaling;
pub mod scan;
pub mod slice;
pub mod transform;

pub mod inter;
