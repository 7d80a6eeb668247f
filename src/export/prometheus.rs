//! Prometheus text exposition format 0.0.4, and OpenMetrics 1.0 text.

use std::fmt::Write;

use super::{families, Family, HistogramPoint, Labels, Metrics, Points};

/// Which text format.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TextFormat {
    /// Prometheus text exposition 0.0.4 (`text/plain; version=0.0.4`).
    Prometheus,
    /// OpenMetrics 1.0 (`application/openmetrics-text; version=1.0.0`): counter families are
    /// named without `_total`, and the text ends with `# EOF`.
    OpenMetrics,
}

/// `m` in the text format `format`.
pub fn render(m: &Metrics, format: TextFormat) -> String {
    let mut out = String::with_capacity(16 * 1024);
    for family in families(m) {
        write_family(&mut out, &family, format);
    }
    if format == TextFormat::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

fn write_family(out: &mut String, f: &Family, format: TextFormat) {
    let (kind, family_name) = match &f.points {
        Points::Counter(_) if format == TextFormat::OpenMetrics => {
            ("counter", f.name.strip_suffix("_total").unwrap_or(f.name))
        }
        Points::Counter(_) => ("counter", f.name),
        Points::Gauge(_) => ("gauge", f.name),
        Points::Histogram(_) => ("histogram", f.name),
    };
    let _ = writeln!(out, "# HELP {family_name} {}", escape_help(f.help));
    let _ = writeln!(out, "# TYPE {family_name} {kind}");
    match &f.points {
        Points::Counter(points) => {
            for (labels, value) in points {
                sample(out, f.name, labels, None, &value.to_string());
            }
        }
        Points::Gauge(points) => {
            for (labels, value) in points {
                sample(out, f.name, labels, None, &number(*value));
            }
        }
        Points::Histogram(points) => {
            for (labels, point, _) in points {
                histogram(out, f.name, labels, point);
            }
        }
    }
}

fn histogram(out: &mut String, name: &str, labels: &Labels, h: &HistogramPoint) {
    let bucket = format!("{name}_bucket");
    let mut cumulative = 0;
    for (i, count) in h.counts.iter().enumerate() {
        cumulative += count;
        let le = h.bounds.get(i).map_or_else(|| "+Inf".to_string(), |b| number(*b));
        sample(out, &bucket, labels, Some(&le), &cumulative.to_string());
    }
    sample(out, &format!("{name}_sum"), labels, None, &number(h.sum));
    sample(out, &format!("{name}_count"), labels, None, &h.count.to_string());
}

fn sample(out: &mut String, name: &str, labels: &Labels, le: Option<&str>, value: &str) {
    out.push_str(name);
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        let mut first = true;
        for (key, value) in labels.iter().map(|(k, v)| (*k, v.as_str())).chain(le.map(|le| ("le", le))) {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(key);
            out.push_str("=\"");
            escape_label(out, value);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(value);
    out.push('\n');
}

/// A sample value or bound: shortest round-trip decimal, `+Inf`/`-Inf`/`NaN` for the specials;
/// whole numbers keep a `.0` so that `le` values look like floats in both formats.
pub(crate) fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else if v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

fn escape_label(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_escapes() {
        assert_eq!(number(0.01), "0.01");
        assert_eq!(number(5.0), "5.0");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(1.5e-7), "0.00000015");
        let mut out = String::new();
        escape_label(&mut out, "a\"b\\c\nd");
        assert_eq!(out, "a\\\"b\\\\c\\nd");
    }
}
