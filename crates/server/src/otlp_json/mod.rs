//! OTLP/JSON to the letter where the generated serde types fall short: proto3's JSON
//! mapping writes a `double` as a number or as a string (`"1.5"`, `"NaN"`, `"Infinity"`,
//! `"-Infinity"`), while the generated decoder of `AnyValue.doubleValue` takes numbers only.
//!
//! A body that mentions `doubleValue` is read as a JSON document first: string doubles
//! that are finite become numbers; the three special values, which JSON numbers cannot
//! hold, travel through the generated decoder as a `stringValue` with a private prefix
//! ([`SPECIAL`], starting with a NUL character) and are turned back into doubles in the
//! decoded request. Every other body is decoded directly. Metrics export bodies always take
//! the document pass: the `double` fields of their points may be strings too ([`points`]).

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric;
use serde::de::DeserializeOwned;
use serde_json::Value;

mod points;

/// The prefix that carries a special double through the generated decoder.
const SPECIAL: &str = "\u{0}tracehouse.double:";

/// Decodes an OTLP/JSON export request, accepting doubles written as strings.
pub fn decode<R: DeserializeOwned + AnyValues>(body: &[u8]) -> Result<R, serde_json::Error> {
    if !R::may_hold_string_doubles(body) {
        return serde_json::from_slice(body);
    }
    let mut doc: Value = serde_json::from_slice(body)?;
    let mut special = false;
    numbers_for_strings(&mut doc, &mut special);
    let point_specials = R::rewrite_points(&mut doc);
    let mut request: R = serde_json::from_value(doc)?;
    if special {
        request.for_each_value(&mut restore_special);
    }
    request.restore_points(&point_specials);
    Ok(request)
}

/// The double a proto3 JSON string stands for.
fn parse_double(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        // Rust also reads `inf` and `nan` in any case, which proto3 does not allow.
        _ if text
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && !matches!(b, b'e' | b'E')) =>
        {
            None
        }
        _ => text.parse().ok(),
    }
}

/// Rewrites every `"doubleValue": "<text>"` in the document: a finite double as a number,
/// a special one as a prefixed `stringValue` (setting `special`). Text that is no double
/// is left for the decoder to refuse.
fn numbers_for_strings(doc: &mut Value, special: &mut bool) {
    match doc {
        Value::Object(map) => {
            let double = match map.get("doubleValue") {
                Some(Value::String(text)) => parse_double(text).map(|d| (d, text.clone())),
                _ => None,
            };
            if let Some((d, text)) = double {
                match serde_json::Number::from_f64(d) {
                    Some(n) => {
                        map.insert("doubleValue".into(), Value::Number(n));
                    }
                    None => {
                        map.remove("doubleValue");
                        map.insert(
                            "stringValue".into(),
                            Value::String(format!("{SPECIAL}{text}")),
                        );
                        *special = true;
                    }
                }
            }
            map.values_mut()
                .for_each(|v| numbers_for_strings(v, special));
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| numbers_for_strings(v, special)),
        _ => {}
    }
}

/// Turns a prefixed `stringValue` back into the special double it carries.
fn restore_special(value: &mut AnyValue) {
    if let Some(any_value::Value::StringValue(s)) = &value.value
        && let Some(d) = s.strip_prefix(SPECIAL).and_then(parse_double)
    {
        value.value = Some(any_value::Value::DoubleValue(d));
    }
}

/// Export requests whose attribute values (and log bodies) can be visited.
pub trait AnyValues {
    /// Calls `f` on every `AnyValue` of the request, nested ones included.
    fn for_each_value(&mut self, f: &mut dyn FnMut(&mut AnyValue));

    /// Whether `body` may hold doubles written as strings (and needs the document pass).
    fn may_hold_string_doubles(body: &[u8]) -> bool {
        body.windows(11).any(|w| w == b"doubleValue")
    }

    /// Rewrites the string doubles of metric points in `doc`, returning the special ones.
    fn rewrite_points(_doc: &mut Value) -> Vec<points::Special> {
        Vec::new()
    }

    /// Writes the special doubles of [`AnyValues::rewrite_points`] back.
    fn restore_points(&mut self, _specials: &[points::Special]) {}
}

fn each_in_value(value: &mut AnyValue, f: &mut dyn FnMut(&mut AnyValue)) {
    match &mut value.value {
        Some(any_value::Value::ArrayValue(a)) => {
            a.values.iter_mut().for_each(|v| each_in_value(v, f));
        }
        Some(any_value::Value::KvlistValue(kv)) => each_in_attributes(&mut kv.values, f),
        _ => {}
    }
    f(value);
}

fn each_in_attributes(attrs: &mut [KeyValue], f: &mut dyn FnMut(&mut AnyValue)) {
    for kv in attrs {
        if let Some(v) = kv.value.as_mut() {
            each_in_value(v, f);
        }
    }
}

impl AnyValues for ExportTraceServiceRequest {
    fn for_each_value(&mut self, f: &mut dyn FnMut(&mut AnyValue)) {
        for rs in &mut self.resource_spans {
            if let Some(r) = rs.resource.as_mut() {
                each_in_attributes(&mut r.attributes, f);
            }
            for ss in &mut rs.scope_spans {
                if let Some(s) = ss.scope.as_mut() {
                    each_in_attributes(&mut s.attributes, f);
                }
                for span in &mut ss.spans {
                    each_in_attributes(&mut span.attributes, f);
                    for e in &mut span.events {
                        each_in_attributes(&mut e.attributes, f);
                    }
                    for l in &mut span.links {
                        each_in_attributes(&mut l.attributes, f);
                    }
                }
            }
        }
    }
}

impl AnyValues for ExportLogsServiceRequest {
    fn for_each_value(&mut self, f: &mut dyn FnMut(&mut AnyValue)) {
        for rl in &mut self.resource_logs {
            if let Some(r) = rl.resource.as_mut() {
                each_in_attributes(&mut r.attributes, f);
            }
            for sl in &mut rl.scope_logs {
                if let Some(s) = sl.scope.as_mut() {
                    each_in_attributes(&mut s.attributes, f);
                }
                for log in &mut sl.log_records {
                    each_in_attributes(&mut log.attributes, f);
                    if let Some(body) = log.body.as_mut() {
                        each_in_value(body, f);
                    }
                }
            }
        }
    }
}

impl AnyValues for ExportMetricsServiceRequest {
    fn may_hold_string_doubles(_body: &[u8]) -> bool {
        true
    }

    fn rewrite_points(doc: &mut Value) -> Vec<points::Special> {
        points::rewrite(doc)
    }

    fn restore_points(&mut self, specials: &[points::Special]) {
        points::restore(self, specials);
    }

    fn for_each_value(&mut self, f: &mut dyn FnMut(&mut AnyValue)) {
        for rm in &mut self.resource_metrics {
            if let Some(r) = rm.resource.as_mut() {
                each_in_attributes(&mut r.attributes, f);
            }
            for sm in &mut rm.scope_metrics {
                if let Some(s) = sm.scope.as_mut() {
                    each_in_attributes(&mut s.attributes, f);
                }
                for m in &mut sm.metrics {
                    each_in_metric(m, f);
                }
            }
        }
    }
}

/// The point and exemplar attributes of one metric.
fn each_in_metric(
    m: &mut opentelemetry_proto::tonic::metrics::v1::Metric,
    f: &mut dyn FnMut(&mut AnyValue),
) {
    let mut exemplars =
        |attrs: &mut [KeyValue], ex: &mut [opentelemetry_proto::tonic::metrics::v1::Exemplar]| {
            each_in_attributes(attrs, f);
            for e in ex {
                each_in_attributes(&mut e.filtered_attributes, f);
            }
        };
    match m.data.as_mut() {
        Some(metric::Data::Gauge(g)) => g
            .data_points
            .iter_mut()
            .for_each(|p| exemplars(&mut p.attributes, &mut p.exemplars)),
        Some(metric::Data::Sum(s)) => s
            .data_points
            .iter_mut()
            .for_each(|p| exemplars(&mut p.attributes, &mut p.exemplars)),
        Some(metric::Data::Histogram(h)) => h
            .data_points
            .iter_mut()
            .for_each(|p| exemplars(&mut p.attributes, &mut p.exemplars)),
        Some(metric::Data::ExponentialHistogram(h)) => h
            .data_points
            .iter_mut()
            .for_each(|p| exemplars(&mut p.attributes, &mut p.exemplars)),
        Some(metric::Data::Summary(s)) => s
            .data_points
            .iter_mut()
            .for_each(|p| exemplars(&mut p.attributes, &mut [])),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr_values(req: &mut ExportTraceServiceRequest) -> Vec<Option<any_value::Value>> {
        let mut out = Vec::new();
        req.for_each_value(&mut |v| out.push(v.value.clone()));
        out
    }

    #[test]
    fn doubles_as_strings_are_doubles() {
        let body = br#"{"resourceSpans":[{"resource":{"attributes":[
            {"key":"a","value":{"doubleValue":"1.5"}},
            {"key":"b","value":{"doubleValue":"NaN"}},
            {"key":"c","value":{"doubleValue":"Infinity"}},
            {"key":"d","value":{"doubleValue":"-Infinity"}},
            {"key":"e","value":{"doubleValue":2.5}},
            {"key":"f","value":{"doubleValue":"-1e3"}},
            {"key":"g","value":{"arrayValue":{"values":[{"doubleValue":"NaN"},{"stringValue":"NaN"}]}}},
            {"key":"h","value":{"kvlistValue":{"values":[{"key":"x","value":{"doubleValue":"0.25"}}]}}}
        ]}}]}"#;
        let mut req: ExportTraceServiceRequest = decode(body).unwrap();
        let got = attr_values(&mut req);
        let double = |v: &Option<any_value::Value>| match v {
            Some(any_value::Value::DoubleValue(d)) => Some(*d),
            _ => None,
        };
        assert_eq!(double(&got[0]), Some(1.5));
        assert!(double(&got[1]).is_some_and(f64::is_nan));
        assert_eq!(double(&got[2]), Some(f64::INFINITY));
        assert_eq!(double(&got[3]), Some(f64::NEG_INFINITY));
        assert_eq!(double(&got[4]), Some(2.5));
        assert_eq!(double(&got[5]), Some(-1000.0));
        // The array's items, then the array itself.
        assert!(double(&got[6]).is_some_and(f64::is_nan));
        assert_eq!(
            got[7],
            Some(any_value::Value::StringValue("NaN".into())),
            "a string stays a string"
        );
        assert_eq!(double(&got[9]), Some(0.25));
    }

    #[test]
    fn text_that_is_no_double_is_refused() {
        for bad in ["\"inf\"", "\"nan\"", "\"1.5x\"", "\"\"", "\"infinity\""] {
            let body = format!(
                r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"a","value":{{"doubleValue":{bad}}}}}]}}}}]}}"#
            );
            assert!(
                decode::<ExportTraceServiceRequest>(body.as_bytes()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn log_bodies_and_attributes_are_visited() {
        let body = br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[
            {"body":{"doubleValue":"Infinity"},"attributes":[{"key":"k","value":{"doubleValue":"-Infinity"}}]}
        ]}]}]}"#;
        let req: ExportLogsServiceRequest = decode(body).unwrap();
        let log = &req.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(
            log.body.as_ref().and_then(|b| b.value.clone()),
            Some(any_value::Value::DoubleValue(f64::INFINITY))
        );
        assert_eq!(
            log.attributes[0]
                .value
                .as_ref()
                .and_then(|v| v.value.clone()),
            Some(any_value::Value::DoubleValue(f64::NEG_INFINITY))
        );
    }
}
