//! Shared by the integration tests: the sample generator mirrored by tests/data/make_vectors.py.

#![allow(dead_code)]

use serde_json::Value;

/// splitmix64 stream of uniform floats in [0, 1), as make_vectors.py's `splitmix64`.
pub struct Uniform(u64);

impl Uniform {
    pub fn new(seed: u64) -> Uniform {
        Uniform(seed)
    }

    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^= z >> 31;
        (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// The sample a JSON spec describes, as make_vectors.py's `sample`.
pub fn sample(spec: &Value) -> Vec<f64> {
    let mut g = Uniform::new(spec["seed"].as_u64().unwrap());
    let n = spec["n"].as_u64().unwrap() as usize;
    let kind = spec["kind"].as_str().unwrap();
    let scale = spec.get("scale").and_then(Value::as_f64).unwrap_or(1.0);
    let shift = spec.get("shift").and_then(Value::as_f64).unwrap_or(0.0);
    let levels = spec.get("levels").and_then(Value::as_f64);
    let negative_zero = spec.get("negative_zero").and_then(Value::as_bool).unwrap_or(false);
    (0..n)
        .map(|_| {
            let v = match kind {
                "uniform" => g.next(),
                "bell" => {
                    let (a, b, c, d) = (g.next(), g.next(), g.next(), g.next());
                    ((a + b) + (c + d)) - 2.0
                }
                "const" => 0.0,
                "signed_zero" => {
                    let k = (g.next() * 3.0).floor() - 1.0;
                    if k == 0.0 && negative_zero {
                        -0.0
                    } else {
                        k
                    }
                }
                other => panic!("unknown kind {other}"),
            };
            let v = v * scale + shift;
            match levels {
                Some(l) => (v * l).floor() / l,
                None => v,
            }
        })
        .collect()
}

pub fn load(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}
