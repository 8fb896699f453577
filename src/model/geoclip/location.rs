//! GeoCLIP's location encoder: (lat, lon) -> Equal Earth projection -> one branch per sigma
//! (random Fourier features with the *saved* B matrix -> MLP -> head), branch outputs summed.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};

// Equal Earth projection constants (Savric, Patterson & Jenny 2018) and GeoCLIP's scale.
const A1: f64 = 1.340264;
const A2: f64 = -0.081106;
const A3: f64 = 0.000893;
const A4: f64 = 0.003796;
const SCALE: f64 = 66.50336;

/// Equal Earth projection of (lat, lon) in degrees, scaled as GeoCLIP does (`* 66.50336 / 180`).
pub fn equal_earth_projection(lat_deg: f64, lon_deg: f64) -> [f64; 2] {
    let (lat, lon) = (lat_deg.to_radians(), lon_deg.to_radians());
    let sqrt3 = 3f64.sqrt();
    let theta = (sqrt3 / 2.0 * lat.sin()).asin();
    let denominator =
        3.0 * (9.0 * A4 * theta.powi(8) + 7.0 * A3 * theta.powi(6) + 3.0 * A2 * theta.powi(2) + A1);
    let x = 2.0 * sqrt3 * lon * theta.cos() / denominator;
    let y = A4 * theta.powi(9) + A3 * theta.powi(7) + A2 * theta.powi(3) + A1 * theta;
    [x * SCALE / 180.0, y * SCALE / 180.0]
}

#[derive(Config, Debug)]
pub struct LocationEncoderConfig {
    /// One branch per Fourier-feature scale.
    #[config(default = "vec![1.0, 16.0, 256.0]")]
    pub sigmas: Vec<f64>,
    /// Rows of each B matrix; the encoding has twice as many features (cos and sin).
    #[config(default = 256)]
    pub fourier_features: usize,
    #[config(default = 1024)]
    pub hidden: usize,
    #[config(default = 512)]
    pub embedding: usize,
}

/// Random Fourier features `[cos(2 pi v B^T), sin(2 pi v B^T)]`. B is a weight loaded from the
/// trained model, never drawn again: a fresh draw would not match the trained MLP.
#[derive(Module, Debug)]
pub struct FourierFeatures {
    /// `[fourier_features, 2]`
    pub b: Param<Tensor<2>>,
}

impl FourierFeatures {
    pub fn forward(&self, projected: Tensor<2>) -> Tensor<2> {
        let phase = projected
            .matmul(self.b.val().transpose())
            .mul_scalar(2.0 * std::f64::consts::PI);
        Tensor::cat(vec![phase.clone().cos(), phase.sin()], 1)
    }
}

#[derive(Module, Debug)]
pub struct LocationBranch {
    pub rff: FourierFeatures,
    pub fc1: Linear,
    pub fc2: Linear,
    pub fc3: Linear,
    pub head: Linear,
}

impl LocationBranch {
    pub fn forward(&self, projected: Tensor<2>) -> Tensor<2> {
        let x = self.rff.forward(projected);
        let x = relu(self.fc1.forward(x));
        let x = relu(self.fc2.forward(x));
        let x = relu(self.fc3.forward(x));
        self.head.forward(x)
    }
}

#[derive(Module, Debug)]
pub struct LocationEncoder {
    pub branches: Vec<LocationBranch>,
}

impl LocationEncoderConfig {
    /// The architecture with zero B matrices and untrained layers: only a shape to load
    /// weights into (see `weights.rs`), never something to predict with.
    pub fn init(&self, device: &Device) -> LocationEncoder {
        let branches = self
            .sigmas
            .iter()
            .map(|_| LocationBranch {
                rff: FourierFeatures {
                    b: Param::from_tensor(Tensor::zeros([self.fourier_features, 2], device)),
                },
                fc1: LinearConfig::new(2 * self.fourier_features, self.hidden).init(device),
                fc2: LinearConfig::new(self.hidden, self.hidden).init(device),
                fc3: LinearConfig::new(self.hidden, self.hidden).init(device),
                head: LinearConfig::new(self.hidden, self.embedding).init(device),
            })
            .collect();
        LocationEncoder { branches }
    }
}

impl LocationEncoder {
    /// Bytes one point occupies in the widest activation (for sizing batches to a device).
    pub fn widest_row_bytes(&self) -> u64 {
        let widest = self
            .branches
            .iter()
            .flat_map(|b| [&b.fc1, &b.fc2, &b.fc3, &b.head])
            .flat_map(|l| l.weight.dims())
            .max()
            .unwrap_or(1);
        4 * widest as u64
    }

    /// Embeddings `[n, embedding]` of already projected coordinates `[n, 2]`.
    pub fn forward(&self, projected: Tensor<2>) -> Tensor<2> {
        self.branches
            .iter()
            .map(|b| b.forward(projected.clone()))
            .reduce(|a, b| a + b)
            .expect("a location encoder has at least one branch")
    }

    /// Embeddings of (lat, lon) points in degrees, `[n, embedding]`.
    pub fn embed(&self, lat_lon_deg: &[(f64, f64)], device: &Device) -> Tensor<2> {
        let flat: Vec<f32> = lat_lon_deg
            .iter()
            .flat_map(|&(lat, lon)| equal_earth_projection(lat, lon).map(|v| v as f32))
            .collect();
        let projected =
            Tensor::<2>::from_data(TensorData::new(flat, [lat_lon_deg.len(), 2]), device);
        self.forward(projected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_earth_matches_known_values() {
        // The projection's own extremes: the pole maps to y = A1 + A2 + A3 + A4 at theta = pi/3
        // evaluated by the polynomial; longitude 180 at the equator to x = 2 sqrt3 pi / (3 A1).
        let [x0, y0] = equal_earth_projection(0.0, 0.0);
        assert_eq!((x0, y0), (0.0, 0.0));
        let [x, _] = equal_earth_projection(0.0, 180.0);
        let expected = 2.0 * 3f64.sqrt() * std::f64::consts::PI / (3.0 * A1) * SCALE / 180.0;
        assert!((x - expected).abs() < 1e-12);
        let [_, y_north] = equal_earth_projection(90.0, 0.0);
        let [_, y_south] = equal_earth_projection(-90.0, 0.0);
        assert!(y_north > 0.0 && (y_north + y_south).abs() < 1e-12);
        // Symmetric in longitude.
        let [xe, ye] = equal_earth_projection(35.0, 135.0);
        let [xw, yw] = equal_earth_projection(35.0, -135.0);
        assert!((xe + xw).abs() < 1e-12 && (ye - yw).abs() < 1e-12);
    }

    #[test]
    fn tiny_encoder_has_the_right_shapes_and_sums_branches() {
        let device = crate::model::backend::cpu_device();
        let config = LocationEncoderConfig::new()
            .with_sigmas(vec![1.0, 2.0])
            .with_fourier_features(4)
            .with_hidden(8)
            .with_embedding(3);
        let encoder = config.init(&device);
        assert_eq!(encoder.branches.len(), 2);
        let out = encoder.embed(&[(10.0, 20.0), (-5.0, 170.0)], &device);
        assert_eq!(out.dims(), [2, 3]);
        // Each branch alone, on the first point.
        let branch_alone = |i: usize| {
            LocationEncoder {
                branches: vec![encoder.branches[i].clone()],
            }
            .embed(&[(10.0, 20.0)], &device)
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32")
        };
        let (single, other) = (branch_alone(0), branch_alone(1));
        let both = out
            .slice([0..1, 0..3])
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32");
        for i in 0..3 {
            assert!((both[i] - single[i] - other[i]).abs() < 1e-5);
        }
    }
}
