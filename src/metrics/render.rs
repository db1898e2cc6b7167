//! The Prometheus text exposition format (version 0.0.4): `# HELP` and
//! `# TYPE` lines, then one sample per line, label values escaped.

use std::fmt::{Display, Write as _};

use super::histogram::HistogramSnapshot;

/// The `Content-Type` of the document.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a metric family is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// How a histogram's stored integers read in its base unit: divided by
/// this (microseconds to seconds: 1e6; counts: 1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale(pub(crate) f64);

/// A document being written.
#[derive(Debug, Default)]
pub(crate) struct Exposition {
    out: String,
}

impl Exposition {
    /// The `# HELP` and `# TYPE` lines that open a family.
    pub(crate) fn family(&mut self, name: &str, kind: Kind, help: &str) {
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        for c in help.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                c => self.out.push(c),
            }
        }
        let _ = writeln!(self.out, "\n# TYPE {name} {}", kind.as_str());
    }

    /// One sample line.
    pub(crate) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        self.labels(labels, None);
        let _ = writeln!(self.out, " {value}");
    }

    /// A histogram's `_bucket` lines (cumulative, `+Inf` last), `_sum` and
    /// `_count`, under `labels`.
    pub(crate) fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        h: &HistogramSnapshot,
        scale: Scale,
    ) {
        let mut le = String::new();
        for &(bound, count) in &h.buckets {
            le.clear();
            let _ = write!(le, "{}", scaled(bound, scale));
            let _ = write!(self.out, "{name}_bucket");
            self.labels(labels, Some(&le));
            let _ = writeln!(self.out, " {count}");
        }
        let _ = write!(self.out, "{name}_bucket");
        self.labels(labels, Some("+Inf"));
        let _ = writeln!(self.out, " {}", h.count);
        let _ = write!(self.out, "{name}_sum");
        self.labels(labels, None);
        let _ = writeln!(self.out, " {}", scaled(h.sum, scale));
        let _ = write!(self.out, "{name}_count");
        self.labels(labels, None);
        let _ = writeln!(self.out, " {}", h.count);
    }

    fn labels(&mut self, labels: &[(&str, &str)], le: Option<&str>) {
        if labels.is_empty() && le.is_none() {
            return;
        }
        self.out.push('{');
        let le = le.map(|v| ("le", v));
        for (i, (name, value)) in labels.iter().copied().chain(le).enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.out.push_str(name);
            self.out.push_str("=\"");
            escape_label_value(&mut self.out, value);
            self.out.push('"');
        }
        self.out.push('}');
    }

    /// The document.
    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// `value` in the base unit: an integer stays an integer.
fn scaled(value: u64, scale: Scale) -> ScaledValue {
    ScaledValue(value, scale)
}

struct ScaledValue(u64, Scale);

impl Display for ScaledValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ScaledValue(v, Scale(d)) = *self;
        if d == 1.0 {
            write!(f, "{v}")
        } else {
            // Precision is lost only past 2^53 units (285 years in
            // microseconds).
            #[allow(clippy::cast_precision_loss)]
            let x = v as f64 / d;
            write!(f, "{x}")
        }
    }
}

/// Appends `value` as a label value: `\`, `"` and line feeds escaped.
pub(crate) fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::histogram::Histogram;

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        escape_label_value(&mut out, "a\\b\"c\nd/{id}");
        assert_eq!(out, "a\\\\b\\\"c\\nd/{id}");
    }

    #[test]
    fn a_family_has_help_and_type_then_samples() {
        let mut e = Exposition::default();
        e.family("x_total", Kind::Counter, "Things\\seen\nhere.");
        e.sample("x_total", &[("route", "/p/{id}"), ("method", "GET")], 3);
        e.sample("y", &[], 0);
        assert_eq!(
            e.finish(),
            "# HELP x_total Things\\\\seen\\nhere.\n# TYPE x_total counter\n\
             x_total{route=\"/p/{id}\",method=\"GET\"} 3\ny 0\n"
        );
    }

    #[test]
    fn a_histogram_renders_cumulative_buckets_in_seconds() {
        static BOUNDS: &[u64] = &[500, 1_000_000];
        let h = Histogram::new(BOUNDS);
        h.observe(400);
        h.observe(2_000);
        h.observe(3_000_000);
        let mut e = Exposition::default();
        e.histogram("d_seconds", &[("m", "GET")], &h.snapshot(), Scale(1e6));
        assert_eq!(
            e.finish(),
            "d_seconds_bucket{m=\"GET\",le=\"0.0005\"} 1\n\
             d_seconds_bucket{m=\"GET\",le=\"1\"} 2\n\
             d_seconds_bucket{m=\"GET\",le=\"+Inf\"} 3\n\
             d_seconds_sum{m=\"GET\"} 3.0024\n\
             d_seconds_count{m=\"GET\"} 3\n"
        );
    }

    #[test]
    fn a_histogram_of_counts_keeps_integers() {
        let h = Histogram::new(&[1, 2]);
        h.observe(2);
        let mut e = Exposition::default();
        e.histogram("g", &[], &h.snapshot(), Scale(1.0));
        assert_eq!(
            e.finish(),
            "g_bucket{le=\"1\"} 0\ng_bucket{le=\"2\"} 1\ng_bucket{le=\"+Inf\"} 1\ng_sum 2\ng_count 1\n"
        );
    }
}
