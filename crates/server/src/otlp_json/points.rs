//! Doubles of metric points written as strings (`"asDouble": "1.5"`, `"sum": "NaN"`, …):
//! proto3's JSON mapping allows them in every `double` field, while the generated decoder
//! takes numbers only.
//!
//! Before decoding, every double field of a point (`asDouble`, `sum`, `min`, `max`,
//! `zeroThreshold`, `explicitBounds`, `quantileValues`' `quantile` and `value`, exemplars'
//! `asDouble`) that holds a string double is rewritten: a finite one as a number, a special
//! one (`NaN`, `Infinity`, `-Infinity`, which JSON numbers cannot hold) as 0 with a
//! [`Special`] saying where it was, written back into the decoded request. The point then
//! reaches the ingest's checks with its real value, and a non-finite one is refused per
//! point in `partial_success`, as in a protobuf request. Text that is no double is left as
//! it is: the generated decoder reads such a metric as one without data (or such a number
//! point as one without a value), which the ingest refuses in `partial_success` too.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, NumberDataPoint, SummaryDataPoint,
    exemplar, metric, number_data_point,
};
use serde_json::{Number, Value};

use super::parse_double;

/// The data kinds of a metric, as JSON names them.
const KINDS: [&str; 5] = [
    "gauge",
    "sum",
    "histogram",
    "exponentialHistogram",
    "summary",
];

/// The double fields of a point, besides arrays and exemplars.
const FIELDS: [&str; 5] = ["asDouble", "sum", "min", "max", "zeroThreshold"];

/// Which double of a point.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    /// One of [`FIELDS`].
    Named(&'static str),
    /// `explicitBounds[i]`.
    Bound(usize),
    /// `quantileValues[i].quantile` (`false`) or `.value` (`true`).
    Quantile(usize, bool),
    /// `exemplars[i].asDouble`.
    Exemplar(usize),
}

/// A special double of a point: where it was (resource, scope, metric and point indexes,
/// the field) and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Special {
    at: [usize; 4],
    field: Field,
    value: f64,
}

/// The items of the array `key` of `v`, numbered.
fn items<'a>(v: &'a mut Value, key: &str) -> impl Iterator<Item = (usize, &'a mut Value)> {
    v.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .enumerate()
}

/// Rewrites the string doubles of every point of a metrics export document; returns the
/// special ones.
pub(super) fn rewrite(doc: &mut Value) -> Vec<Special> {
    let mut specials = Vec::new();
    for (r, rm) in items(doc, "resourceMetrics") {
        for (s, sm) in items(rm, "scopeMetrics") {
            for (m, metric) in items(sm, "metrics") {
                let Some(data) = metric.as_object_mut().and_then(|o| {
                    o.iter_mut()
                        .find(|(k, _)| KINDS.contains(&k.as_str()))
                        .map(|(_, v)| v)
                }) else {
                    continue;
                };
                for (p, point) in items(data, "dataPoints") {
                    rewrite_point(point, [r, s, m, p], &mut specials);
                }
            }
        }
    }
    specials
}

fn rewrite_point(point: &mut Value, at: [usize; 4], specials: &mut Vec<Special>) {
    let mut found = |field: Field, slot: Option<&mut Value>| {
        if let Some(value) = slot.and_then(rewrite_double) {
            specials.push(Special { at, field, value });
        }
    };
    for name in FIELDS {
        found(Field::Named(name), point.get_mut(name));
    }
    for (i, bound) in items(point, "explicitBounds") {
        found(Field::Bound(i), Some(bound));
    }
    for (i, q) in items(point, "quantileValues") {
        found(Field::Quantile(i, false), q.get_mut("quantile"));
        found(Field::Quantile(i, true), q.get_mut("value"));
    }
    for (i, e) in items(point, "exemplars") {
        found(Field::Exemplar(i), e.get_mut("asDouble"));
    }
}

/// A string double in `slot`: a finite one becomes a number, a special one 0 and is
/// returned; other text stays.
fn rewrite_double(slot: &mut Value) -> Option<f64> {
    let Value::String(text) = slot else {
        return None;
    };
    let d = parse_double(text)?;
    match Number::from_f64(d) {
        Some(n) => {
            *slot = Value::Number(n);
            None
        }
        None => {
            *slot = Value::Number(Number::from(0));
            Some(d)
        }
    }
}

/// Writes the special doubles back into the decoded request.
pub(super) fn restore(req: &mut ExportMetricsServiceRequest, specials: &[Special]) {
    for s in specials {
        let [r, sc, m, p] = s.at;
        let Some(data) = req
            .resource_metrics
            .get_mut(r)
            .and_then(|rm| rm.scope_metrics.get_mut(sc))
            .and_then(|sm| sm.metrics.get_mut(m))
            .and_then(|metric| metric.data.as_mut())
        else {
            continue;
        };
        match data {
            metric::Data::Gauge(g) => number(g.data_points.get_mut(p), s),
            metric::Data::Sum(sum) => number(sum.data_points.get_mut(p), s),
            metric::Data::Histogram(h) => histogram(h.data_points.get_mut(p), s),
            metric::Data::ExponentialHistogram(h) => exponential(h.data_points.get_mut(p), s),
            metric::Data::Summary(sm) => summary(sm.data_points.get_mut(p), s),
        }
    }
}

fn exemplar(e: Option<&mut Exemplar>, value: f64) {
    if let Some(e) = e {
        e.value = Some(exemplar::Value::AsDouble(value));
    }
}

fn number(p: Option<&mut NumberDataPoint>, s: &Special) {
    let Some(p) = p else { return };
    match s.field {
        Field::Named("asDouble") => p.value = Some(number_data_point::Value::AsDouble(s.value)),
        Field::Exemplar(i) => exemplar(p.exemplars.get_mut(i), s.value),
        _ => {}
    }
}

fn histogram(p: Option<&mut HistogramDataPoint>, s: &Special) {
    let Some(p) = p else { return };
    match s.field {
        Field::Named("sum") => p.sum = Some(s.value),
        Field::Named("min") => p.min = Some(s.value),
        Field::Named("max") => p.max = Some(s.value),
        Field::Bound(i) => {
            if let Some(b) = p.explicit_bounds.get_mut(i) {
                *b = s.value;
            }
        }
        Field::Exemplar(i) => exemplar(p.exemplars.get_mut(i), s.value),
        _ => {}
    }
}

fn exponential(p: Option<&mut ExponentialHistogramDataPoint>, s: &Special) {
    let Some(p) = p else { return };
    match s.field {
        Field::Named("sum") => p.sum = Some(s.value),
        Field::Named("min") => p.min = Some(s.value),
        Field::Named("max") => p.max = Some(s.value),
        Field::Named("zeroThreshold") => p.zero_threshold = s.value,
        Field::Exemplar(i) => exemplar(p.exemplars.get_mut(i), s.value),
        _ => {}
    }
}

fn summary(p: Option<&mut SummaryDataPoint>, s: &Special) {
    let Some(p) = p else { return };
    match s.field {
        Field::Named("sum") => p.sum = s.value,
        Field::Quantile(i, is_value) => {
            if let Some(q) = p.quantile_values.get_mut(i) {
                if is_value {
                    q.value = s.value;
                } else {
                    q.quantile = s.value;
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::decode;
    use super::*;

    #[test]
    fn string_doubles_of_every_point_kind_are_read() {
        let body = br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[
            {"name":"g","gauge":{"dataPoints":[
                {"timeUnixNano":"1","asDouble":"1.5"},
                {"timeUnixNano":"1","asDouble":"NaN","exemplars":[{"asDouble":"-Infinity"}]}]}},
            {"name":"h","histogram":{"dataPoints":[{"timeUnixNano":"1","count":"1",
                "sum":"Infinity","min":"0.5","max":"NaN","bucketCounts":["1","0"],
                "explicitBounds":["-Infinity"]}]}},
            {"name":"e","exponentialHistogram":{"dataPoints":[{"timeUnixNano":"1",
                "zeroThreshold":"NaN","sum":"2"}]}},
            {"name":"s","summary":{"dataPoints":[{"timeUnixNano":"1","sum":"NaN",
                "quantileValues":[{"quantile":"0.5","value":"Infinity"}]}]}}
        ]}]}]}"#;
        let req: ExportMetricsServiceRequest = decode(body).unwrap();
        let metrics = &req.resource_metrics[0].scope_metrics[0].metrics;
        let Some(metric::Data::Gauge(g)) = &metrics[0].data else {
            panic!("a gauge")
        };
        assert_eq!(
            g.data_points[0].value,
            Some(number_data_point::Value::AsDouble(1.5))
        );
        assert!(matches!(
            g.data_points[1].value,
            Some(number_data_point::Value::AsDouble(d)) if d.is_nan()
        ));
        assert_eq!(
            g.data_points[1].exemplars[0].value,
            Some(exemplar::Value::AsDouble(f64::NEG_INFINITY))
        );
        let Some(metric::Data::Histogram(h)) = &metrics[1].data else {
            panic!("a histogram")
        };
        let h = &h.data_points[0];
        assert_eq!(h.sum, Some(f64::INFINITY));
        assert_eq!(h.min, Some(0.5));
        assert!(h.max.is_some_and(f64::is_nan));
        assert_eq!(h.explicit_bounds, [f64::NEG_INFINITY]);
        let Some(metric::Data::ExponentialHistogram(e)) = &metrics[2].data else {
            panic!("an exponential histogram")
        };
        assert!(e.data_points[0].zero_threshold.is_nan());
        assert_eq!(e.data_points[0].sum, Some(2.0));
        let Some(metric::Data::Summary(s)) = &metrics[3].data else {
            panic!("a summary")
        };
        assert!(s.data_points[0].sum.is_nan());
        assert_eq!(s.data_points[0].quantile_values[0].quantile, 0.5);
        assert_eq!(s.data_points[0].quantile_values[0].value, f64::INFINITY);
    }

    #[test]
    fn point_text_that_is_no_double_is_left_for_the_ingest_to_refuse() {
        // The generated decoder reads a metric whose data does not decode as a metric
        // without data, and a number point's value that is no number as none: the ingest
        // refuses both in `partial_success`.
        for bad in ["\"nan\"", "\"1.5x\"", "\"\"", "\"inf\""] {
            let body = format!(
                r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{{"name":"h","histogram":{{"dataPoints":[{{"sum":{bad}}}]}}}},{{"name":"g","gauge":{{"dataPoints":[{{"asDouble":{bad}}}]}}}}]}}]}}]}}"#
            );
            let req: ExportMetricsServiceRequest = decode(body.as_bytes()).unwrap();
            let metrics = &req.resource_metrics[0].scope_metrics[0].metrics;
            assert_eq!(metrics[0].data, None, "{bad}");
            let Some(metric::Data::Gauge(g)) = &metrics[1].data else {
                panic!("a gauge")
            };
            assert_eq!(g.data_points[0].value, None, "{bad}");
        }
    }
}
