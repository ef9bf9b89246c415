//! From the spec's `device` to where training runs: the CPU kernel, or a
//! burn device (with autodiff) for GPUs. GPU backends are cargo features;
//! a build without one says which feature a device needs.

use trendlab_spec::ComputeDevice;

/// How gradients are computed.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The fused CPU kernel; parameters and Adam live on burn's `flex`
    /// device (with autodiff: burn's optimisers update autodiff parameters).
    Kernel,
    /// burn tensors and autodiff on this (autodiff) device.
    Burn(burn::tensor::Device),
}

impl Backend {
    /// The backend for `device` in this build.
    pub fn for_device(device: ComputeDevice) -> Result<Backend, String> {
        match device {
            ComputeDevice::Cpu => Ok(Backend::Kernel),
            ComputeDevice::Cuda(index) => gpu(index),
        }
    }

    /// Where the network's parameters (and Adam's state) live.
    pub fn params_device(&self) -> &burn::tensor::Device {
        static FLEX: std::sync::OnceLock<burn::tensor::Device> = std::sync::OnceLock::new();
        match self {
            Backend::Kernel => FLEX.get_or_init(|| burn::tensor::Device::flex().autodiff()),
            Backend::Burn(device) => device,
        }
    }

    /// burn's autodiff on the CPU (`flex`), the path GPUs take: for tests
    /// and benchmarks that compare it with the kernel.
    pub fn burn_cpu() -> Backend {
        Backend::Burn(burn::tensor::Device::flex().autodiff())
    }

    /// A name for run records ("cpu (trendlab kernel)", "cuda:0 (CubeCL)").
    pub fn describe(&self, device: ComputeDevice) -> String {
        match self {
            Backend::Kernel => format!("{device} (trendlab LSTM kernel)"),
            Backend::Burn(_) if device == ComputeDevice::Cpu => "cpu (burn flex autodiff)".into(),
            Backend::Burn(_) if cfg!(feature = "cuda") => format!("{device} (burn CubeCL CUDA)"),
            Backend::Burn(_) => format!("{device} (burn LibTorch)"),
        }
    }
}

/// The autodiff devices whose burn path the tests check against the CPU's
/// own (the kernel, the host encoder): `flex`, and in a `tch` build
/// LibTorch's CPU device (`scripts/test.sh` builds one).
#[cfg(test)]
pub(crate) fn burn_test_devices() -> Vec<(&'static str, burn::tensor::Device)> {
    #[allow(unused_mut)]
    let mut devices = vec![("flex", burn::tensor::Device::flex().autodiff())];
    #[cfg(feature = "tch")]
    #[allow(deprecated)] // burn-tch is deprecated upstream; kept as the design's LibTorch path
    devices.push(("libtorch cpu", burn::tensor::Device::libtorch().autodiff()));
    devices
}

/// The burn device (without autodiff) that runs inference for `device`,
/// such as a text encoder.
pub fn inference_device(device: ComputeDevice) -> Result<burn::tensor::Device, String> {
    match device {
        ComputeDevice::Cpu => Ok(burn::tensor::Device::flex()),
        ComputeDevice::Cuda(index) => gpu_device(index),
    }
}

fn gpu(index: usize) -> Result<Backend, String> {
    gpu_device(index).map(|device| Backend::Burn(device.autodiff()))
}

#[cfg(feature = "cuda")]
fn gpu_device(index: usize) -> Result<burn::tensor::Device, String> {
    Ok(burn::tensor::Device::cuda(index))
}

#[cfg(all(feature = "tch", not(feature = "cuda")))]
#[allow(deprecated)] // burn-tch is deprecated upstream; kept as the design's LibTorch path
fn gpu_device(index: usize) -> Result<burn::tensor::Device, String> {
    Ok(burn::tensor::Device::libtorch_cuda(index))
}

#[cfg(not(any(feature = "cuda", feature = "tch")))]
fn gpu_device(index: usize) -> Result<burn::tensor::Device, String> {
    Err(format!(
        "device cuda:{index} needs a GPU build: rebuild with `--features cuda` \
         (CubeCL) or `--features tch` (LibTorch); this build runs on the CPU only"
    ))
}
