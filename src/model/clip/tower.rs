//! The CLIP tower as the predictor holds it: on the CPU the fused form ([`CpuTower`]), on
//! any other device burn's module ([`ClipVision`]). Both give the same features up to float
//! rounding (tests compare them).

use burn::tensor::{Device, Tensor, TensorData};

use super::cpu_tower::CpuTower;
use super::vision::ClipVision;
use crate::model::ModelError;
use crate::model::backend::cpu_device;

#[derive(Debug)]
pub enum ClipTower {
    /// burn's module, on a GPU through wgpu.
    Device(Box<ClipVision>),
    /// The fused CPU form, with the tower's [`ClipVision::peak_bytes_per_image`].
    Cpu(Box<CpuTower>, u64),
}

impl ClipTower {
    /// The form that runs best on `device`: the fused one on the CPU.
    pub fn new(vision: ClipVision, device: &Device) -> Result<Self, ModelError> {
        if *device == cpu_device() {
            let peak = vision.peak_bytes_per_image();
            Ok(Self::Cpu(Box::new(CpuTower::from_burn(vision)?), peak))
        } else {
            Ok(Self::Device(Box::new(vision)))
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Device(t) => t.describe(),
            Self::Cpu(t, _) => t.describe(),
        }
    }

    pub fn image_size(&self) -> usize {
        match self {
            Self::Device(t) => t.image_size(),
            Self::Cpu(t, _) => t.image_size(),
        }
    }

    pub fn projection_dim(&self) -> usize {
        match self {
            Self::Device(t) => t.projection_dim(),
            Self::Cpu(t, _) => t.projection_dim(),
        }
    }

    /// See [`ClipVision::peak_bytes_per_image`].
    pub fn peak_bytes_per_image(&self) -> u64 {
        match self {
            Self::Device(t) => t.peak_bytes_per_image(),
            Self::Cpu(_, peak) => *peak,
        }
    }

    /// Projected features `[n, projection_dim]` on `device` of `n` photos' normalised pixels
    /// (`[n, 3, s, s]`, row-major).
    pub fn features(
        &self,
        pixels: Vec<f32>,
        n: usize,
        device: &Device,
    ) -> Result<Tensor<2>, ModelError> {
        let s = self.image_size();
        match self {
            Self::Device(t) => {
                let input = Tensor::<4>::from_data(TensorData::new(pixels, [n, 3, s, s]), device);
                Ok(t.forward(input))
            }
            Self::Cpu(t, _) => {
                let features = t.forward(&pixels, n)?;
                let shape = [n, t.projection_dim()];
                Ok(Tensor::from_data(TensorData::new(features, shape), device))
            }
        }
    }
}
