//! Which device the model runs on. CPU (ndarray) for now; the wgpu choice with CPU fallback
//! arrives with the image tower.

use burn::tensor::Device;

/// The CPU device every machine has. The design card names ndarray as the CPU fallback;
/// burn 0.22 deprecates it in favour of `flex`, a switch left for the backend issue.
#[allow(deprecated)]
pub fn cpu_device() -> Device {
    Device::ndarray()
}
