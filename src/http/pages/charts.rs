//! Chart geometry for server-rendered SVG: the template draws what these
//! structs say, so the numbers are computed (and tested) in Rust.

/// One column of a column chart, in SVG user units.
pub struct Column {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    /// Read by screen readers and shown as a tooltip.
    pub title: String,
}

pub struct Tick {
    pub y: String,
    pub label: String,
}

pub struct XLabel {
    pub x: String,
    pub text: String,
}

/// A column chart of counts (e.g. bookings per day).
pub struct ColumnChart {
    pub width: i32,
    pub height: i32,
    pub plot_left: i32,
    pub plot_right: i32,
    pub baseline: i32,
    pub columns: Vec<Column>,
    pub ticks: Vec<Tick>,
    pub labels: Vec<XLabel>,
}

/// The smallest "nice" number (1, 2 or 5 times a power of ten) at least `x`.
pub fn nice_ceiling(x: i64) -> i64 {
    if x <= 1 {
        return 1;
    }
    let mut base = 1i64;
    loop {
        for m in [1, 2, 5] {
            if base.saturating_mul(m) >= x {
                return base.saturating_mul(m);
            }
        }
        base = base.saturating_mul(10);
    }
}

fn num(v: f64) -> String {
    format!("{v:.1}")
}

impl ColumnChart {
    /// `points`: (axis label, title, value) per column, left to right; every
    /// `label_every`-th column gets its axis label.
    pub fn new(points: &[(String, String, i64)], label_every: usize) -> Self {
        let (width, height) = (720, 260);
        let (left, right, top, bottom) = (40, 10, 12, 30);
        let plot_w = f64::from(width - left - right);
        let plot_h = f64::from(height - top - bottom);
        let max = points.iter().map(|p| p.2).max().unwrap_or(0);
        // Four gridlines, each a "nice" whole-number step.
        let top_value = 4 * nice_ceiling((max + 3) / 4);
        let n = points.len().max(1);
        let slot = plot_w / n as f64;
        let bar_w = (slot * 0.7).max(1.0);
        let baseline = height - bottom;
        let columns = points
            .iter()
            .enumerate()
            .map(|(i, (_, title, v))| {
                let h = plot_h * (*v as f64) / top_value as f64;
                Column {
                    x: num(f64::from(left) + slot * i as f64 + (slot - bar_w) / 2.0),
                    y: num(f64::from(baseline) - h),
                    width: num(bar_w),
                    height: num(h),
                    title: title.clone(),
                }
            })
            .collect();
        let ticks = (0..=4)
            .map(|k| Tick {
                y: num(f64::from(baseline) - plot_h * f64::from(k) / 4.0),
                label: (top_value * i64::from(k) / 4).to_string(),
            })
            .collect();
        let every = label_every.max(1);
        let labels = points
            .iter()
            .enumerate()
            .filter(|(i, _)| i % every == 0 || *i + 1 == points.len())
            .map(|(i, (label, ..))| XLabel {
                x: num(f64::from(left) + slot * i as f64 + slot / 2.0),
                text: label.clone(),
            })
            .collect();
        ColumnChart {
            width,
            height,
            plot_left: left,
            plot_right: width - right,
            baseline,
            columns,
            ticks,
            labels,
        }
    }
}

/// A share drawn as a bar in a `0 0 100 10` box.
pub struct Share {
    /// Bar width in the 0..100 box.
    pub width: String,
    /// `42%`, or an en dash when there was nothing to divide.
    pub label: String,
}

impl Share {
    pub fn of(part: i64, whole: i64) -> Self {
        if whole <= 0 {
            return Share {
                width: "0".to_owned(),
                label: "–".to_owned(),
            };
        }
        let pct = (part as f64 / whole as f64 * 100.0).clamp(0.0, 100.0);
        Share {
            width: num(pct),
            label: format!("{pct:.0}%"),
        }
    }
}

/// One segment of a stacked bar in a `0 0 100 10` box.
pub struct Segment {
    pub x: String,
    pub width: String,
    pub class: &'static str,
    pub label: &'static str,
    pub count: i64,
    pub pct: String,
}

/// Segments for `(label, css class, count)` parts, left to right.
pub fn stacked(parts: &[(&'static str, &'static str, i64)]) -> Vec<Segment> {
    let total: i64 = parts.iter().map(|p| p.2).sum();
    let mut x = 0.0;
    parts
        .iter()
        .map(|(label, class, count)| {
            let w = if total > 0 {
                *count as f64 / total as f64 * 100.0
            } else {
                0.0
            };
            let s = Segment {
                x: num(x),
                width: num(w),
                class,
                label,
                count: *count,
                pct: if total > 0 {
                    format!("{w:.0}%")
                } else {
                    "–".to_owned()
                },
            };
            x += w;
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(7), 10);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(51), 100);
    }

    #[test]
    fn columns_fit_the_plot_and_the_tallest_stays_inside() {
        let pts: Vec<_> = (0..30)
            .map(|i| (format!("{i}"), format!("day {i}"), i64::from(i % 7)))
            .collect();
        let c = ColumnChart::new(&pts, 5);
        assert_eq!(c.columns.len(), 30);
        assert_eq!(c.ticks.len(), 5);
        for col in &c.columns {
            let y: f64 = col.y.parse().unwrap_or(-1.0);
            assert!(y >= 0.0 && y <= f64::from(c.baseline), "{}", col.y);
        }
        assert_eq!(c.ticks.last().map(|t| t.label.as_str()), Some("8"));
    }

    #[test]
    fn shares_and_stacks() {
        assert_eq!(Share::of(1, 4).label, "25%");
        assert_eq!(Share::of(0, 0).label, "–");
        assert_eq!(Share::of(9, 4).width, "100.0");
        let s = stacked(&[("a", "x", 1), ("b", "y", 3)]);
        assert_eq!(s[1].x, "25.0");
        assert_eq!(s[1].pct, "75%");
    }
}
