//! Which device the model runs on, chosen at run time: a hardware GPU through burn's wgpu
//! backend when one is found, else the CPU (burn's `flex`), with a notice saying why. A software
//! rasteriser posing as a GPU (Mesa's llvmpipe/lavapipe) counts as no GPU in `auto` mode:
//! burn's CPU backend is about ten times faster than wgpu on lavapipe
//! (`../shared/notes/stack.md`); `--backend gpu` still runs on it.
//!
//! The wgpu device is created once per process (burn cannot initialise its runtime twice) with
//! the adapter's own limits, and its largest storage-buffer binding is recorded: every tensor
//! the model allocates is kept within [`max_tensor_bytes`].

use std::sync::Mutex;

use burn::tensor::Device;
use burn::tensor::wgpu::wgpu;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What the user asked for (`--backend`, or the app's setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
pub enum BackendChoice {
    /// A hardware GPU if there is one, else the CPU.
    #[default]
    Auto,
    /// wgpu on the best adapter found, even a software one; an error if there is none.
    Gpu,
    Cpu,
}

impl BackendChoice {
    pub const ALL: [BackendChoice; 3] = [Self::Auto, Self::Gpu, Self::Cpu];

    pub fn label(self) -> &'static str {
        match self {
            Self::Auto => "Automatic (GPU if present)",
            Self::Gpu => "GPU (wgpu)",
            Self::Cpu => "CPU",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Gpu,
    Cpu,
}

/// The device the model will use and how it was picked.
#[derive(Debug, Clone)]
pub struct SelectedBackend {
    pub device: Device,
    pub kind: BackendKind,
    /// For status lines: "GPU: NVIDIA H100 (Vulkan)", "CPU (flex, 2 threads)".
    pub description: String,
    /// Set when the automatic choice fell back to the CPU: why, for a visible notice.
    pub fallback_notice: Option<String>,
    /// The largest buffer one tensor may occupy on this device (`None`: no limit, the CPU).
    pub max_tensor_bytes: Option<u64>,
    /// A software renderer (lavapipe, llvmpipe, WARP): its times are not GPU performance.
    pub software: bool,
}

#[derive(Debug, Error)]
pub enum BackendError {
    #[error("no GPU is usable: {0}")]
    NoGpu(String),
}

/// WebGPU's default `max_storage_buffer_binding_size` (128 MiB), also lavapipe's
/// `maxStorageBufferRange` and that of many integrated GPUs: assumed for a wgpu device this
/// module did not create.
pub const DEFAULT_MAX_BINDING_BYTES: u64 = 128 << 20;

/// The CPU device every machine has: burn's `flex` backend (pure Rust, SIMD matrix products
/// from `gemm`, work spread over rayon's pool). Measured against `ndarray` (deprecated in burn
/// 0.22) on full-size ViT-L/14 on this project's 2-core machine: 1.96 s a photo against 4.42 s
/// (ndarray with threads and SIMD) and 6.17 s (ndarray as shipped before), see README.
pub fn cpu_device() -> Device {
    Device::flex()
}

/// Sets how many threads the CPU backend's matrix products and element-wise work use: `threads`,
/// or every core the machine offers (rayon's global pool, which `flex` and its `gemm` matrix
/// products run on). Call once, first thing in `main`, before the model runs. Returns the
/// count in effect.
pub fn set_cpu_threads(threads: Option<usize>) -> usize {
    let machine = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = threads.unwrap_or(machine).clamp(1, 256);
    // A pool already built (a second call) keeps its size.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global();
    cpu_threads()
}

/// Threads the CPU backend uses: the size of rayon's global pool.
pub fn cpu_threads() -> usize {
    rayon::current_num_threads()
}

pub fn cpu_backend(fallback_notice: Option<String>) -> SelectedBackend {
    let threads = cpu_threads();
    SelectedBackend {
        device: cpu_device(),
        kind: BackendKind::Cpu,
        description: format!("CPU (flex, {threads} threads)"),
        fallback_notice,
        max_tensor_bytes: None,
        software: false,
    }
}

/// The largest buffer one tensor may occupy on `device`, in bytes: `None` on the CPU, the
/// limit read from the adapter for the wgpu device [`select_backend`] created, and
/// [`DEFAULT_MAX_BINDING_BYTES`] for any other device.
pub fn max_tensor_bytes(device: &Device) -> Option<u64> {
    if *device == cpu_device() {
        return None;
    }
    let gpu = GPU.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    match gpu.as_ref() {
        Some(Ok(started)) if started.device == *device => started.max_tensor_bytes,
        _ => Some(DEFAULT_MAX_BINDING_BYTES),
    }
}

/// The adapters wgpu can see.
pub fn list_adapters() -> Vec<wgpu::AdapterInfo> {
    // wgpu can panic inside a driver on broken set-ups; that must not take the app down.
    std::panic::catch_unwind(|| {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY))
            .iter()
            .map(|a| a.get_info())
            .collect()
    })
    .unwrap_or_default()
}

pub fn is_hardware(info: &wgpu::AdapterInfo) -> bool {
    matches!(
        info.device_type,
        wgpu::DeviceType::DiscreteGpu
            | wgpu::DeviceType::IntegratedGpu
            | wgpu::DeviceType::VirtualGpu
    )
}

/// The wgpu device of this process, created on first use; later calls get the same one (or
/// the same error): burn's runtime cannot be initialised twice.
static GPU: Mutex<Option<Result<SelectedBackend, String>>> = Mutex::new(None);

fn start_wgpu() -> Result<SelectedBackend, String> {
    let (device, setup) = std::panic::catch_unwind(|| Device::wgpu_options().init_with_setup())
        .map_err(|_| "the wgpu runtime panicked while starting".to_string())?
        .map_err(|e| e.to_string())?;
    // cubecl asks for the adapter's own limits; read what the device really got.
    let limits = setup.device.limits();
    let max_bytes = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    let info = setup.adapter.get_info();
    let software = !is_hardware(&info);
    Ok(SelectedBackend {
        device,
        kind: BackendKind::Gpu,
        description: format!(
            "GPU: {} ({:?}{})",
            info.name,
            info.backend,
            if software { ", software renderer" } else { "" }
        ),
        fallback_notice: None,
        max_tensor_bytes: Some(max_bytes),
        software,
    })
}

fn init_wgpu() -> Result<SelectedBackend, BackendError> {
    let mut gpu = GPU.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    gpu.get_or_insert_with(start_wgpu)
        .clone()
        .map_err(BackendError::NoGpu)
}

/// Picks the device for `choice`. `Auto` never fails: without a hardware GPU it returns the
/// CPU with a notice saying what was found.
pub fn select_backend(choice: BackendChoice) -> Result<SelectedBackend, BackendError> {
    match choice {
        BackendChoice::Cpu => Ok(cpu_backend(None)),
        BackendChoice::Gpu => {
            if list_adapters().is_empty() {
                return Err(BackendError::NoGpu("wgpu found no adapter".into()));
            }
            init_wgpu()
        }
        BackendChoice::Auto => {
            let adapters = list_adapters();
            let notice = if adapters.iter().any(is_hardware) {
                match init_wgpu() {
                    Ok(gpu) if !gpu.software => return Ok(gpu),
                    Ok(gpu) => format!(
                        "wgpu picked the software renderer {}; running on the CPU",
                        gpu.description
                    ),
                    Err(e) => format!("{e}; running on the CPU instead"),
                }
            } else if let Some(soft) = adapters.first() {
                format!(
                    "no hardware GPU found (only the software renderer {}); running on the CPU",
                    soft.name
                )
            } else {
                "no GPU found; running on the CPU".to_string()
            };
            Ok(cpu_backend(Some(notice)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_always_available_and_runs_tensors() {
        let cpu = select_backend(BackendChoice::Cpu).expect("cpu");
        assert_eq!(cpu.kind, BackendKind::Cpu);
        assert!(cpu.fallback_notice.is_none());
        let t = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0], &cpu.device);
        assert_eq!(t.sum().into_scalar::<f32>(), 3.0);
    }

    #[test]
    fn auto_falls_back_to_the_cpu_with_a_notice_unless_a_hardware_gpu_exists() {
        let auto = select_backend(BackendChoice::Auto).expect("auto never fails");
        let hardware = list_adapters().iter().any(is_hardware);
        match auto.kind {
            BackendKind::Gpu => assert!(hardware, "picked a GPU without hardware"),
            BackendKind::Cpu => {
                let notice = auto.fallback_notice.expect("a CPU fallback says why");
                assert!(notice.contains("CPU"), "{notice}");
            }
        }
    }
}
