//! Histogram points as bucket distributions: explicit and exponential buckets on one
//! footing (`(lower, upper]` ranges with counts), what a cumulative point added since the
//! one before it, merging, and percentiles by linear interpolation inside the bucket that
//! holds the rank (the rule of Prometheus' `histogram_quantile`).

use std::collections::BTreeMap;

use tracehouse_model::{ExpBuckets, PointValue};

/// A bucket's range as ordered keys (`f64::total_cmp` order through the bits' mapping).
type Range = (OrdF64, OrdF64);

/// An `f64` ordered totally, to key buckets.
#[derive(Debug, Clone, Copy, PartialEq)]
struct OrdF64(f64);

impl Eq for OrdF64 {}

impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrdF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Values counted in ranges, with their count and sum.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Distribution {
    /// Counts by `(lower, upper]`, ordered by upper then lower bound.
    buckets: BTreeMap<(OrdF64, OrdF64), u64>,
    /// Values counted.
    pub count: u64,
    /// Their sum (0 when the sender kept none).
    pub sum: f64,
}

impl Distribution {
    /// The distribution of a histogram point (`None` for other types).
    pub fn of(value: &PointValue) -> Option<Distribution> {
        let mut d = Distribution::default();
        match value {
            PointValue::Histogram {
                count,
                sum,
                bounds,
                counts,
                ..
            } => {
                for (i, c) in counts.iter().enumerate() {
                    let lower = if i == 0 {
                        f64::NEG_INFINITY
                    } else {
                        bounds[i - 1]
                    };
                    let upper = bounds.get(i).copied().unwrap_or(f64::INFINITY);
                    d.add_bucket(lower, upper, *c);
                }
                d.count = *count;
                d.sum = sum.unwrap_or(0.0);
            }
            PointValue::ExponentialHistogram {
                count,
                sum,
                scale,
                zero_count,
                positive,
                negative,
                ..
            } => {
                let base = 2f64.powf(2f64.powi(-scale));
                d.add_bucket(0.0, 0.0, *zero_count);
                d.add_exp(base, positive, 1.0);
                d.add_exp(base, negative, -1.0);
                d.count = *count;
                d.sum = sum.unwrap_or(0.0);
            }
            _ => return None,
        }
        Some(d)
    }

    fn add_exp(&mut self, base: f64, buckets: &ExpBuckets, sign: f64) {
        for (i, c) in buckets.counts.iter().enumerate() {
            let index = f64::from(buckets.offset) + i as f64;
            let (a, b) = (sign * base.powf(index), sign * base.powf(index + 1.0));
            self.add_bucket(a.min(b), a.max(b), *c);
        }
    }

    fn add_bucket(&mut self, lower: f64, upper: f64, count: u64) {
        if count > 0 {
            *self.buckets.entry(key(lower, upper)).or_default() += count;
        }
    }

    /// Adds another distribution.
    pub fn merge(&mut self, other: &Distribution) {
        for (k, c) in &other.buckets {
            *self.buckets.entry(*k).or_default() += c;
        }
        self.count += other.count;
        self.sum += other.sum;
    }

    /// What `self`, a later cumulative point of the same series, added since `earlier`;
    /// `None` when it counts less (a reset), since then it counts from zero.
    pub fn since(&self, earlier: &Distribution) -> Option<Distribution> {
        if self.count < earlier.count {
            return None;
        }
        let mut d = Distribution {
            count: self.count - earlier.count,
            sum: self.sum - earlier.sum,
            ..Distribution::default()
        };
        for (k, c) in &self.buckets {
            let before = earlier.buckets.get(k).copied().unwrap_or(0);
            if *c < before {
                return None;
            }
            if *c > before {
                d.buckets.insert(*k, c - before);
            }
        }
        Some(d)
    }

    /// The value at quantile `q` (0–1), interpolated linearly inside the bucket holding its
    /// rank; a first bucket open below starts at 0 (or is its upper bound when that is not
    /// positive), a last bucket open above answers its lower bound. `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total: u64 = self.buckets.values().sum();
        if total == 0 {
            return None;
        }
        let rank = q * total as f64;
        let mut below = 0u64;
        for (&(OrdF64(upper), OrdF64(lower)), &c) in &self.buckets {
            if (below + c) as f64 >= rank {
                if upper.is_infinite() {
                    return Some(lower);
                }
                let lower = match lower {
                    l if l.is_finite() => l,
                    _ if upper > 0.0 => 0.0,
                    _ => return Some(upper),
                };
                return Some(lower + (upper - lower) * (rank - below as f64) / c as f64);
            }
            below += c;
        }
        None
    }
}

/// The map key of a bucket: upper bound first, so that iteration runs in value order.
fn key(lower: f64, upper: f64) -> Range {
    (OrdF64(upper), OrdF64(lower))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use tracehouse_model::Temporality;

    fn explicit(counts: Vec<u64>) -> Distribution {
        Distribution::of(&PointValue::Histogram {
            temporality: Temporality::Cumulative,
            count: counts.iter().sum(),
            sum: Some(1.0),
            min: None,
            max: None,
            bounds: vec![1.0, 5.0, 10.0],
            counts,
        })
        .unwrap()
    }

    #[test]
    fn explicit_percentiles_interpolate_inside_the_bucket() {
        let d = explicit(vec![2, 5, 2, 1]);
        assert_eq!(d.quantile(0.5), Some(1.0 + 4.0 * 3.0 / 5.0));
        assert_eq!(d.quantile(0.1), Some(0.5), "the first bucket starts at 0");
        assert_eq!(
            d.quantile(0.99),
            Some(10.0),
            "the open last bucket is its lower bound"
        );
        assert_eq!(Distribution::default().quantile(0.5), None);
    }

    #[test]
    fn exponential_buckets_are_powers_of_the_base() {
        let d = Distribution::of(&PointValue::ExponentialHistogram {
            temporality: Temporality::Delta,
            count: 7,
            sum: None,
            min: None,
            max: None,
            scale: 0,
            zero_count: 1,
            zero_threshold: 0.0,
            positive: ExpBuckets {
                offset: 1,
                counts: vec![2, 2, 1],
            },
            negative: ExpBuckets {
                offset: 0,
                counts: vec![1],
            },
        })
        .unwrap();
        // -(2, 1], [0, 0], (2, 4], (4, 8], (8, 16]
        assert_eq!(d.quantile(1.0 / 7.0), Some(-1.0));
        assert_eq!(d.quantile(4.0 / 7.0), Some(4.0));
        assert!((d.quantile(6.5 / 7.0).unwrap() - 12.0).abs() < 1e-9);
    }

    #[test]
    fn since_subtracts_and_detects_resets() {
        let later = explicit(vec![2, 5, 2, 1]);
        let earlier = explicit(vec![1, 2, 1, 0]);
        let added = later.since(&earlier).unwrap();
        assert_eq!(added, explicit(vec![1, 3, 1, 1]).with_sum(0.0));
        assert_eq!(earlier.since(&later), None, "fewer values: a reset");
    }

    impl Distribution {
        fn with_sum(mut self, sum: f64) -> Self {
            self.sum = sum;
            self
        }
    }
}
