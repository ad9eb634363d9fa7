//! The charts of the report folder: line, stacked-area, CDF and heatmap charts, and the
//! recovery timeline ([`timeline`]), each written as `<dir>/<stem>.png` and
//! `<dir>/<stem>.svg`.
//!
//! Callers hand over figures already computed; this module only draws them. A chart is
//! prepared once (time unit, ranges, reduced point lists, colours) and then drawn twice from
//! that: into an SVG string, which is also returned for inlining in the HTML page, and into
//! an RGB buffer that is encoded as PNG in memory. Both files are written with
//! [`write_atomic`]. The same input gives byte-identical files: nothing here reads a clock or
//! draws a random number, and text is drawn with DejaVu Sans built into the binary, never
//! with a font of the machine (the SVG names the `sans-serif` family and leaves text to the
//! viewer).
//!
//! What the charts do with large or awkward input:
//! - a line of more than [`MAX_POINTS`] points is reduced to the lowest and highest point of
//!   each of `MAX_POINTS / 2` equal slices of the x axis, kept in order, so spikes and dips
//!   survive; a stacked chart does the same on the total of its bands;
//! - a CDF is drawn from at most [`MAX_POINTS`] evenly spaced ranks, first and last included;
//! - a heatmap with more bins or rows than it has pixels shows the mean of each block, in
//!   64 steps of colour; its SVG carries the cells as one embedded PNG picture (a data URL,
//!   drawn with crisp pixels) rather than one rectangle per cell;
//! - more than [`MAX_LEGEND`] series: the [`MAX_LEGEND`] biggest (largest mean for a line,
//!   largest total for a stacked band, most samples for a CDF) keep a colour and a legend
//!   entry; the others are drawn in light grey beneath them (line and CDF charts) or summed
//!   into one grey "other" band on top (stacked charts), and the legend says how many;
//! - colours go by position: the i-th series of a chart (the i-th of those shown, when some
//!   are grey) gets the i-th palette colour, so a page that passes its series in the same
//!   order shows a label in one colour throughout;
//! - a non-finite point breaks a line; a chart with nothing to draw says "no data".

use std::error::Error;
use std::path::Path;
use std::sync::Once;

use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::write_atomic;

mod timeline;
pub use timeline::{FaultBar, MAX_LABELLED, Strip, Timeline, timeline};

/// One line (or one band of a stacked chart): x in simulated seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// Lines over simulated time.
pub struct LineChart<'a> {
    pub title: &'a str,
    /// With its unit, e.g. "allocated (fraction of total)".
    pub y_label: &'a str,
    /// x is simulated time in seconds, increasing along each series.
    pub series: &'a [Series],
    /// None: from the data, starting at 0.
    pub y_range: Option<(f64, f64)>,
}

/// Bands stacked on each other over simulated time. The series share their x values (x from
/// the longest series; a shorter one counts as 0 where it has no point).
pub struct StackedChart<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    pub series: &'a [Series],
}

/// Empirical cumulative distributions: for each x, the fraction of samples at or below it.
pub struct CdfChart<'a> {
    pub title: &'a str,
    /// e.g. "queue delay (s)".
    pub x_label: &'a str,
    /// Label and samples sorted ascending (any number: at most [`MAX_POINTS`] are drawn).
    pub series: &'a [(String, Vec<f64>)],
    /// Logarithmic x axis: samples at or below 0 are left of it, and the curve starts at
    /// their share (the legend entry says how large it is).
    pub log_x: bool,
}

/// A grid of values in 0..=1 over equal-width time bins, one row per thing (an agent, say).
pub struct Heatmap<'a> {
    pub title: &'a str,
    /// e.g. "agents (by name)".
    pub y_label: &'a str,
    /// One per row, top to bottom.
    pub row_labels: &'a [String],
    /// The span of simulated time the columns cover, in seconds.
    pub start_s: f64,
    pub end_s: f64,
    /// Rows × bins, each value in 0..=1; NaN means no data (drawn grey).
    pub cells: &'a [Vec<f64>],
    /// The caption of the colour bar, e.g. "allocated (busiest resource)".
    pub value_label: &'a str,
}

/// A plot written as `<dir>/<stem>.png` and `<dir>/<stem>.svg`.
#[derive(Clone, Debug, PartialEq)]
pub struct Plot {
    pub stem: String,
    /// The SVG text, for inlining in HTML.
    pub svg: String,
}

impl Plot {
    /// The PNG's file name, relative to the directory the plot was written to.
    pub fn png_file(&self) -> String {
        format!("{}.png", self.stem)
    }
}

/// Size of every chart, in pixels (PNG) and user units (SVG); the recovery timeline grows
/// taller with its faults.
pub const WIDTH: u32 = 1000;
pub const HEIGHT: u32 = 500;
/// At most this many points of one series are drawn (see the module docs).
pub const MAX_POINTS: usize = 2000;
/// At most this many series get a colour and a legend entry.
pub const MAX_LEGEND: usize = 12;

/// The family name under which the bundled font is registered with plotters; also what the
/// SVG files ask their viewer for.
const FONT: &str = "sans-serif";
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Twelve colours that stay apart from each other on white (and from the grey of "other").
const PALETTE: [RGBColor; MAX_LEGEND] = [
    RGBColor(31, 119, 180),  // blue
    RGBColor(255, 127, 14),  // orange
    RGBColor(44, 160, 44),   // green
    RGBColor(214, 39, 40),   // red
    RGBColor(148, 103, 189), // purple
    RGBColor(140, 86, 75),   // brown
    RGBColor(227, 119, 194), // pink
    RGBColor(188, 189, 34),  // olive
    RGBColor(23, 190, 207),  // cyan
    RGBColor(31, 46, 122),   // navy
    RGBColor(0, 0, 0),       // black
    RGBColor(153, 102, 0),   // ochre
];
const INK: RGBColor = RGBColor(34, 34, 34);
const MUTED: RGBColor = RGBColor(110, 110, 110);
const GRID_FINE: RGBColor = RGBColor(244, 244, 244);
const GRID: RGBColor = RGBColor(224, 224, 224);
/// Series beyond the first [`MAX_LEGEND`].
const OTHERS: RGBColor = RGBColor(185, 185, 185);
/// Heatmap cells without data.
const NO_DATA: RGBColor = RGBColor(205, 205, 205);

/// Width of the panel right of the plot that holds the legend or the colour bar.
const LEGEND_WIDTH: u32 = 215;
const COLOUR_BAR_PANEL: u32 = 150;
/// Heatmap values are shown in this many steps of colour (neighbouring cells of one step
/// merge into one rectangle, which keeps the SVG small).
const COLOUR_STEPS: f64 = 64.0;

type DrawResult = Result<(), Box<dyn Error>>;

/// Draws one line chart over simulated time.
pub fn line_chart(dir: &Path, stem: &str, chart: &LineChart) -> std::io::Result<Plot> {
    render(dir, stem, &prepare_lines(chart))
}

/// Draws one stacked-area chart over simulated time.
pub fn stacked_chart(dir: &Path, stem: &str, chart: &StackedChart) -> std::io::Result<Plot> {
    render(dir, stem, &prepare_stack(chart))
}

/// Draws one chart of cumulative distributions.
pub fn cdf_chart(dir: &Path, stem: &str, chart: &CdfChart) -> std::io::Result<Plot> {
    render(dir, stem, &prepare_cdf(chart))
}

/// Draws one heatmap over simulated time, with its colour bar.
pub fn heatmap(dir: &Path, stem: &str, chart: &Heatmap) -> std::io::Result<Plot> {
    render(dir, stem, &prepare_heatmap(chart))
}

/// What a chart is being drawn into. The two differ where plotters' output would: wide
/// lines (the bitmap rasteriser joins a sharp zigzag with a long spike, so there each segment
/// is drawn on its own) and heatmap cells (in SVG one embedded image rather than thousands of
/// rectangles).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Svg,
    Bitmap,
}

/// A picture laid over an SVG chart at `(x, y)`, `width` × `height` user units: PNG bytes
/// whose pixels are drawn as crisp blocks.
struct Inset {
    x: i32,
    y: i32,
    width: i32,
    height: i32,
    png: Vec<u8>,
}

/// A chart ready to be drawn on any plotters backend. Returns the inset to lay over an SVG
/// drawing, if the chart has one.
trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32) {
        (WIDTH, HEIGHT)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        target: Target,
    ) -> Result<Option<Inset>, Box<dyn Error>>
    where
        DB::ErrorType: 'static;
}

/// Draws `figure` to SVG and PNG and writes both files.
fn render(dir: &Path, stem: &str, figure: &impl Figure) -> std::io::Result<Plot> {
    register_font();
    let (width, height) = figure.size();
    let mut svg = String::new();
    let inset = {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let inset = figure.draw(&root, Target::Svg).map_err(drawing_error)?;
        root.present().map_err(|e| drawing_error(e.into()))?;
        inset
    };
    if let Some(inset) = inset {
        lay_over(&mut svg, &inset);
    }
    let mut rgb = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        figure.draw(&root, Target::Bitmap).map_err(drawing_error)?;
        root.present().map_err(|e| drawing_error(e.into()))?;
    }
    let png = encode_png(&rgb, width, height)?;
    write_atomic(&dir.join(format!("{stem}.png")), &png)?;
    write_atomic(&dir.join(format!("{stem}.svg")), svg.as_bytes())?;
    Ok(Plot {
        stem: stem.to_owned(),
        svg,
    })
}

fn drawing_error(error: Box<dyn Error>) -> std::io::Error {
    std::io::Error::other(format!("drawing a chart: {error}"))
}

/// Adds `inset` as the last element of an SVG document, so that it lies on top.
fn lay_over(svg: &mut String, inset: &Inset) {
    let image = format!(
        "<image x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" preserveAspectRatio=\"none\" \
         style=\"image-rendering:pixelated\" href=\"data:image/png;base64,{}\"/>\n",
        inset.x,
        inset.y,
        inset.width,
        inset.height,
        base64(&inset.png)
    );
    match svg.rfind("</svg>") {
        Some(end) => svg.insert_str(end, &image),
        None => svg.push_str(&image),
    }
}

/// Standard base64 (RFC 4648, with padding), for the data URL of an inset.
fn base64(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let word = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(DIGITS[(word >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
    writer.write_image_data(rgb).map_err(std::io::Error::other)?;
    writer.finish().map_err(std::io::Error::other)?;
    Ok(bytes)
}

/// Makes the bundled DejaVu Sans the font plotters draws every text with.
fn register_font() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        let valid = plotters::style::register_font(FONT, FontStyle::Normal, DEJAVU_SANS).is_ok();
        assert!(valid, "the bundled DejaVu Sans is a valid TrueType font");
    });
}

fn text_style(size: f64, colour: RGBColor) -> TextStyle<'static> {
    (FONT, size).into_font().color(&colour)
}

// ---------------------------------------------------------------------------------------
// Axes and point reduction.

/// An axis tick's number: four significant digits at most, no trailing zeros, and
/// scientific notation only for the very small or very large ("1e-6", "2.5e7").
fn tick(value: &f64) -> String {
    let rounded: f64 = format!("{value:.3e}").parse().unwrap_or(*value);
    if rounded == 0.0 {
        "0".to_owned()
    } else if (1e-3..1e6).contains(&rounded.abs()) {
        format!("{rounded}")
    } else {
        format!("{rounded:e}")
    }
}

/// The unit a time axis is labelled in, chosen from the span it covers: seconds up to 10
/// minutes, minutes up to 3 hours, hours up to 3 days, days beyond. Returns the unit's name
/// and its length in seconds.
pub fn time_unit(span_s: f64) -> (&'static str, f64) {
    if span_s.is_nan() || span_s <= 600.0 {
        ("s", 1.0)
    } else if span_s <= 3.0 * 3600.0 {
        ("min", 60.0)
    } else if span_s <= 3.0 * 86400.0 {
        ("h", 3600.0)
    } else {
        ("days", 86400.0)
    }
}

/// Indices of the points to draw from `n` points whose x grows with the index: all of them
/// when there are at most [`MAX_POINTS`]; otherwise, for each of `MAX_POINTS / 2` equal
/// slices of `[x0, x1]`, the lowest and the highest point in it, in index order.
fn envelope(n: usize, x: impl Fn(usize) -> f64, y: impl Fn(usize) -> f64, x0: f64, x1: f64) -> Vec<usize> {
    if n <= MAX_POINTS {
        return (0..n).collect();
    }
    let slices = MAX_POINTS / 2;
    let width = (x1 - x0) / slices as f64;
    // A negative quotient saturates to slice 0 and a huge one is capped at the last.
    let slice_of = |i: usize| {
        if width > 0.0 {
            (((x(i) - x0) / width) as usize).min(slices - 1)
        } else {
            0
        }
    };
    let mut kept = Vec::with_capacity(MAX_POINTS + 2);
    let mut i = 0;
    while i < n {
        let slice = slice_of(i);
        let (mut low, mut high) = (i, i);
        let mut j = i + 1;
        while j < n && slice_of(j) == slice {
            if y(j) < y(low) {
                low = j;
            }
            if y(j) > y(high) {
                high = j;
            }
            j += 1;
        }
        kept.push(low.min(high));
        if high != low {
            kept.push(low.max(high));
        }
        i = j;
    }
    kept
}

/// The runs of finite points of a series (a non-finite point ends a run), each reduced with
/// [`envelope`] over `[x0, x1]`.
fn finite_runs(points: &[(f64, f64)], x0: f64, x1: f64) -> Vec<Vec<(f64, f64)>> {
    points
        .split(|&(x, y)| !x.is_finite() || !y.is_finite())
        .filter(|run| !run.is_empty())
        .map(|run| {
            envelope(run.len(), |i| run[i].0, |i| run[i].1, x0, x1)
                .into_iter()
                .map(|i| run[i])
                .collect()
        })
        .collect()
}

/// The smallest and largest of `values`, ignoring non-finite ones; None if none is finite.
fn finite_bounds(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.filter(|v| v.is_finite()).fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// A value axis from the data: from 0 (or below, for negative data) to a little above the
/// largest value, never empty.
fn value_axis(bounds: (f64, f64)) -> (f64, f64) {
    let low = bounds.0.min(0.0);
    let mut high = bounds.1.max(0.0);
    if high - low < 1e-12 {
        high = low + 1.0;
    }
    (low, high + (high - low) * 0.05)
}

/// A time axis over `[lo, hi]` seconds, in the unit its span calls for, never empty:
/// (label, lo, hi, seconds per unit).
fn time_axis(lo: f64, hi: f64) -> (String, f64, f64, f64) {
    let (unit, per) = time_unit(hi - lo);
    let (lo, mut hi) = (lo / per, hi / per);
    if hi.is_nan() || hi <= lo {
        hi = lo + 1.0;
    }
    (format!("time ({unit})"), lo, hi, per)
}

/// The indices of the series that get a colour: all when there are at most [`MAX_LEGEND`],
/// else the [`MAX_LEGEND`] of largest `size` (ties to the earlier), in their original order.
fn biggest(sizes: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    if sizes.len() > MAX_LEGEND {
        order.sort_by(|&a, &b| sizes[b].total_cmp(&sizes[a]).then(a.cmp(&b)));
        order.truncate(MAX_LEGEND);
        order.sort_unstable();
    }
    order
}

// ---------------------------------------------------------------------------------------
// Line and CDF charts: lines on two axes, a legend on the right.

/// A line to draw: its colour, width, and its runs of points (a gap between runs).
struct Line {
    colour: RGBColor,
    width: u32,
    runs: Vec<Vec<(f64, f64)>>,
}

struct Legend {
    entries: Vec<(String, RGBColor)>,
    /// A line under the entries, e.g. how many series are grey.
    note: Option<String>,
}

struct LinesFigure<'a> {
    title: &'a str,
    x_label: String,
    y_label: String,
    x: (f64, f64),
    y: (f64, f64),
    log_x: bool,
    /// In drawing order: grey ones first, so that coloured lines lie on top.
    lines: Vec<Line>,
    legend: Legend,
}

fn prepare_lines<'a>(chart: &LineChart<'a>) -> LinesFigure<'a> {
    let all = || chart.series.iter().flat_map(|s| s.points.iter());
    let xs = finite_bounds(all().filter(|p| p.1.is_finite()).map(|p| p.0));
    let ys = finite_bounds(all().filter(|p| p.0.is_finite()).map(|p| p.1));
    let (x_label, x0, x1, per) = time_axis(xs.map_or(0.0, |b| b.0), xs.map_or(1.0, |b| b.1));
    let y = match chart.y_range {
        Some((lo, hi)) if lo.is_finite() && hi.is_finite() && lo < hi => (lo, hi),
        _ => value_axis(ys.unwrap_or((0.0, 1.0))),
    };
    let means: Vec<f64> = chart
        .series
        .iter()
        .map(|s| {
            let finite = s.points.iter().filter(|p| p.1.is_finite());
            let (sum, n) = finite.fold((0.0, 0usize), |(sum, n), p| (sum + p.1, n + 1));
            if n == 0 { f64::NEG_INFINITY } else { sum / n as f64 }
        })
        .collect();
    let shown = biggest(&means);
    let scaled = |s: &Series| -> Vec<Vec<(f64, f64)>> {
        let points: Vec<(f64, f64)> = s.points.iter().map(|&(x, y)| (x / per, y)).collect();
        finite_runs(&points, x0, x1)
    };
    let mut lines = Vec::new();
    for (i, s) in chart.series.iter().enumerate() {
        if shown.binary_search(&i).is_err() {
            lines.push(Line {
                colour: OTHERS,
                width: 1,
                runs: scaled(s),
            });
        }
    }
    let mut entries = Vec::new();
    for (k, &i) in shown.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        lines.push(Line {
            colour,
            width: 2,
            runs: scaled(&chart.series[i]),
        });
        entries.push((chart.series[i].label.clone(), colour));
    }
    let hidden = chart.series.len() - shown.len();
    LinesFigure {
        title: chart.title,
        x_label,
        y_label: chart.y_label.to_owned(),
        x: (x0, x1),
        y,
        log_x: false,
        lines: if xs.is_some() && ys.is_some() {
            lines
        } else {
            Vec::new()
        },
        legend: Legend {
            entries,
            note: (hidden > 0).then(|| format!("+{hidden} more in grey (lower means)")),
        },
    }
}

/// The points of one empirical CDF as a staircase: at each kept rank i (of n samples) the
/// curve rises to (i + 1) / n at sample i. Skips non-finite samples, and samples at or below
/// 0 when `log_x`; returns the points and how many samples lie left of the axis.
fn cdf_points(samples: &[f64], log_x: bool) -> (Vec<(f64, f64)>, usize) {
    let n = samples.len();
    let drawable = |v: f64| v.is_finite() && (!log_x || v > 0.0);
    // The samples are sorted, so the drawable ones form one stretch [first, end).
    let first = samples.iter().position(|&v| drawable(v)).unwrap_or(n);
    let end = samples
        .iter()
        .rposition(|&v| drawable(v))
        .map_or(first, |i| i + 1);
    let count = end - first;
    if count == 0 {
        return (Vec::new(), first);
    }
    let kept = count.min(MAX_POINTS);
    let rank = |k: usize| {
        if kept == 1 {
            first
        } else {
            first + k * (count - 1) / (kept - 1)
        }
    };
    let mut points = Vec::with_capacity(2 * kept + 1);
    points.push((samples[first], first as f64 / n as f64));
    let mut level = first as f64 / n as f64;
    for k in 0..kept {
        let i = rank(k);
        let x = samples[i];
        points.push((x, level));
        level = (i + 1) as f64 / n as f64;
        points.push((x, level));
    }
    (points, first)
}

fn prepare_cdf<'a>(chart: &CdfChart<'a>) -> LinesFigure<'a> {
    let curves: Vec<(Vec<(f64, f64)>, usize)> = chart
        .series
        .iter()
        .map(|(_, samples)| cdf_points(samples, chart.log_x))
        .collect();
    let xs = finite_bounds(curves.iter().flat_map(|c| c.0.iter().map(|p| p.0)));
    let (mut x0, mut x1) = xs.unwrap_or((0.0, 1.0));
    if chart.log_x {
        if x1 <= x0 {
            (x0, x1) = (x0 / 2.0, x0 * 2.0);
        }
    } else if x1 <= x0 {
        (x0, x1) = (x0 - 0.5, x0 + 0.5);
    }
    let sizes: Vec<f64> = chart.series.iter().map(|s| s.1.len() as f64).collect();
    let shown = biggest(&sizes);
    let mut lines = Vec::new();
    for (i, curve) in curves.iter().enumerate() {
        if shown.binary_search(&i).is_err() {
            lines.push(Line {
                colour: OTHERS,
                width: 1,
                runs: vec![curve.0.clone()],
            });
        }
    }
    let mut entries = Vec::new();
    for (k, &i) in shown.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let (label, samples) = &chart.series[i];
        let (points, left_of_axis) = &curves[i];
        lines.push(Line {
            colour,
            width: 2,
            runs: vec![points.clone()],
        });
        let label = if chart.log_x && *left_of_axis > 0 {
            let share = 100.0 * *left_of_axis as f64 / samples.len() as f64;
            format!("{label} ({share:.1}% ≤ 0)")
        } else {
            label.clone()
        };
        entries.push((label, colour));
    }
    let hidden = chart.series.len() - shown.len();
    LinesFigure {
        title: chart.title,
        x_label: chart.x_label.to_owned(),
        y_label: "fraction of samples ≤ x".to_owned(),
        x: (x0, x1),
        y: (0.0, 1.0),
        log_x: chart.log_x,
        lines: if xs.is_some() { lines } else { Vec::new() },
        legend: Legend {
            entries,
            note: (hidden > 0).then(|| format!("+{hidden} more in grey (fewer samples)")),
        },
    }
}

impl Figure for LinesFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        target: Target,
    ) -> Result<Option<Inset>, Box<dyn Error>>
    where
        DB::ErrorType: 'static,
    {
        let Some((plot, legend)) = panels(root, self.title, self.lines.is_empty(), LEGEND_WIDTH)? else {
            return Ok(None);
        };
        let (x0, x1) = self.x;
        if self.log_x {
            self.draw_lines(&plot, (x0..x1).log_scale(), target)?;
        } else {
            self.draw_lines(&plot, x0..x1, target)?;
        }
        draw_legend(&legend, &self.legend, LegendMark::Line)?;
        Ok(None)
    }
}

impl LinesFigure<'_> {
    fn draw_lines<DB, X>(&self, area: &DrawingArea<DB, Shift>, x: X, target: Target) -> DrawResult
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
    {
        let mut chart = axes(area, x, self.y.0..self.y.1, &self.x_label, &self.y_label)?;
        for line in &self.lines {
            draw_line(&mut chart, line, target)?;
        }
        Ok(())
    }
}

/// Draws `line` on `chart`: a lone point (one sample, or between two gaps) as a dot; in a
/// bitmap, a wide line segment by segment (see [`Target`]).
fn draw_line<DB, CT>(chart: &mut ChartContext<'_, DB, CT>, line: &Line, target: Target) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    CT: CoordTranslate<From = (f64, f64)>,
{
    let style = line.colour.stroke_width(line.width);
    for run in &line.runs {
        if let [point] = run[..] {
            let dot = Circle::new(point, line.width + 1, line.colour.filled());
            chart.draw_series(std::iter::once(dot))?;
        } else if target == Target::Bitmap && line.width > 1 {
            let segments = run.windows(2).map(|w| PathElement::new(w.to_vec(), style));
            chart.draw_series(segments)?;
        } else {
            chart.draw_series(LineSeries::new(run.iter().copied(), style))?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Stacked chart.

struct Band {
    colour: RGBColor,
    /// The band's outline: its upper edge left to right, then its lower edge back.
    outline: Vec<(f64, f64)>,
}

struct StackFigure<'a> {
    title: &'a str,
    x_label: String,
    y_label: &'a str,
    x: (f64, f64),
    y: (f64, f64),
    /// Bottom to top.
    bands: Vec<Band>,
    legend: Legend,
}

fn prepare_stack<'a>(chart: &StackedChart<'a>) -> StackFigure<'a> {
    let empty = |bands| StackFigure {
        title: chart.title,
        x_label: String::new(),
        y_label: chart.y_label,
        x: (0.0, 1.0),
        y: (0.0, 1.0),
        bands,
        legend: Legend {
            entries: Vec::new(),
            note: None,
        },
    };
    // x comes from the longest series. A step is drawn where x is finite and some series
    // has a finite value.
    let Some(longest) = chart.series.iter().max_by_key(|s| s.points.len()) else {
        return empty(Vec::new());
    };
    let has_value = |i: usize| {
        let at = |s: &Series| s.points.get(i).is_some_and(|p| p.1.is_finite());
        chart.series.iter().any(at)
    };
    let steps: Vec<usize> = (0..longest.points.len())
        .filter(|&i| longest.points[i].0.is_finite() && has_value(i))
        .collect();
    let Some((start, end)) = finite_bounds(steps.iter().map(|&i| longest.points[i].0)) else {
        return empty(Vec::new());
    };
    let value = |s: &Series, i: usize| {
        s.points
            .get(i)
            .map(|p| p.1)
            .filter(|v| v.is_finite())
            .unwrap_or(0.0)
    };
    let totals: Vec<f64> = chart
        .series
        .iter()
        .map(|s| steps.iter().map(|&i| value(s, i)).sum())
        .collect();
    let shown = biggest(&totals);
    // Each layer: label, colour and value per step; the rest summed into "other".
    let mut layers: Vec<(String, RGBColor, Vec<f64>)> = shown
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let s = &chart.series[i];
            let values = steps.iter().map(|&j| value(s, j)).collect();
            (s.label.clone(), PALETTE[k % PALETTE.len()], values)
        })
        .collect();
    let hidden = chart.series.len() - shown.len();
    if hidden > 0 {
        let mut other = vec![0.0; steps.len()];
        for (i, s) in chart.series.iter().enumerate() {
            if shown.binary_search(&i).is_err() {
                for (slot, &j) in other.iter_mut().zip(&steps) {
                    *slot += value(s, j);
                }
            }
        }
        layers.push((format!("other ({hidden} series)"), OTHERS, other));
    }
    let (x_label, x0, x1, per) = time_axis(start, end);
    let xs: Vec<f64> = steps.iter().map(|&i| longest.points[i].0 / per).collect();
    let mut top = vec![0.0; xs.len()];
    for layer in &layers {
        for (t, v) in top.iter_mut().zip(&layer.2) {
            *t += v;
        }
    }
    let kept = envelope(xs.len(), |i| xs[i], |i| top[i], x0, x1);
    let bounds = finite_bounds(top.iter().copied()).unwrap_or((0.0, 1.0));
    let mut below = vec![0.0; xs.len()];
    let mut bands = Vec::with_capacity(layers.len());
    for layer in &layers {
        let above: Vec<f64> = below.iter().zip(&layer.2).map(|(b, v)| b + v).collect();
        let mut outline: Vec<(f64, f64)> = kept.iter().map(|&i| (xs[i], above[i])).collect();
        outline.extend(kept.iter().rev().map(|&i| (xs[i], below[i])));
        bands.push(Band {
            colour: layer.1,
            outline,
        });
        below = above;
    }
    // The legend lists the bands top first, as they are stacked.
    let entries = layers.iter().rev().map(|l| (l.0.clone(), l.1)).collect();
    StackFigure {
        title: chart.title,
        x_label,
        y_label: chart.y_label,
        x: (x0, x1),
        y: value_axis((0.0, bounds.1)),
        bands,
        legend: Legend { entries, note: None },
    }
}

impl Figure for StackFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        _: Target,
    ) -> Result<Option<Inset>, Box<dyn Error>>
    where
        DB::ErrorType: 'static,
    {
        let Some((plot, legend)) = panels(root, self.title, self.bands.is_empty(), LEGEND_WIDTH)? else {
            return Ok(None);
        };
        let mut chart = axes(
            &plot,
            self.x.0..self.x.1,
            self.y.0..self.y.1,
            &self.x_label,
            self.y_label,
        )?;
        for band in &self.bands {
            let fill = lighten(band.colour, 0.25);
            chart.draw_series(std::iter::once(Polygon::new(band.outline.clone(), fill.filled())))?;
            // The upper edge in the band's full colour.
            let upper = &band.outline[..band.outline.len() / 2];
            chart.draw_series(LineSeries::new(upper.iter().copied(), band.colour))?;
        }
        draw_legend(&legend, &self.legend, LegendMark::Swatch)?;
        Ok(None)
    }
}

/// `colour` moved `amount` (0..=1) of the way to white.
fn lighten(colour: RGBColor, amount: f64) -> RGBColor {
    let mix = |c: u8| (c as f64 + (255.0 - c as f64) * amount).round() as u8;
    RGBColor(mix(colour.0), mix(colour.1), mix(colour.2))
}

// ---------------------------------------------------------------------------------------
// Heatmap.

/// A horizontal run of cells of one colour: row, first column, column past the last, and
/// the colour step (None: no data).
type CellRun = (usize, usize, usize, Option<u8>);

struct HeatFigure<'a> {
    title: &'a str,
    y_label: &'a str,
    value_label: &'a str,
    x_label: String,
    x: (f64, f64),
    rows: usize,
    columns: usize,
    runs: Vec<CellRun>,
    /// The label of each drawn row (the first of the rows it stands for).
    row_labels: Vec<String>,
}

/// At most this many columns and rows of a heatmap are drawn (about one per pixel).
const HEAT_MAX_COLUMNS: usize = 700;
const HEAT_MAX_ROWS: usize = 380;

fn prepare_heatmap<'a>(chart: &Heatmap<'a>) -> HeatFigure<'a> {
    let rows = chart.cells.len();
    let bins = chart.cells.iter().map(Vec::len).max().unwrap_or(0);
    let has_data = chart.cells.iter().flatten().any(|v| v.is_finite());
    let (start, end) = if chart.start_s.is_finite() && chart.end_s.is_finite() {
        (chart.start_s, chart.end_s)
    } else {
        (0.0, 1.0)
    };
    let (x_label, x0, x1, _) = time_axis(start, end);
    let mut figure = HeatFigure {
        title: chart.title,
        y_label: chart.y_label,
        value_label: chart.value_label,
        x_label,
        x: (x0, x1),
        rows: 0,
        columns: 0,
        runs: Vec::new(),
        row_labels: Vec::new(),
    };
    if !has_data {
        return figure;
    }
    // Several bins (rows) to a drawn column (row) when there are more than pixels.
    let per_column = bins.div_ceil(HEAT_MAX_COLUMNS);
    let per_row = rows.div_ceil(HEAT_MAX_ROWS);
    figure.columns = bins.div_ceil(per_column);
    figure.rows = rows.div_ceil(per_row);
    for row in 0..figure.rows {
        let members = &chart.cells[row * per_row..((row + 1) * per_row).min(rows)];
        let mut current: Option<(usize, Option<u8>)> = None;
        for column in 0..figure.columns {
            let span = column * per_column..((column + 1) * per_column).min(bins);
            let (sum, n) = members
                .iter()
                .flat_map(|cells| &cells[span.start.min(cells.len())..span.end.min(cells.len())])
                .filter(|v| v.is_finite())
                .fold((0.0, 0usize), |(sum, n), v| (sum + v, n + 1));
            let step = (n > 0).then(|| colour_step(sum / n as f64));
            match current {
                Some((_, s)) if s == step => {}
                Some((first, s)) => {
                    figure.runs.push((row, first, column, s));
                    current = Some((column, step));
                }
                None => current = Some((column, step)),
            }
        }
        if let Some((first, s)) = current {
            figure.runs.push((row, first, figure.columns, s));
        }
        let label = chart.row_labels.get(row * per_row);
        figure.row_labels.push(
            label
                .cloned()
                .unwrap_or_else(|| format!("row {}", row * per_row + 1)),
        );
    }
    figure
}

/// The colour step of a value in 0..=1 (clamped).
fn colour_step(value: f64) -> u8 {
    (value.clamp(0.0, 1.0) * (COLOUR_STEPS - 1.0)).round() as u8
}

/// A viridis-like scale: dark blue-purple at 0 through teal and green to yellow at 1, even
/// in lightness, readable in grey and by most colour-blind readers. Linear between eight
/// colours of the viridis map.
pub fn viridis(value: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 8] = [
        (68, 1, 84),
        (70, 51, 126),
        (54, 92, 141),
        (39, 127, 142),
        (31, 161, 135),
        (74, 193, 109),
        (159, 218, 58),
        (253, 231, 37),
    ];
    let v = if value.is_finite() {
        value.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let position = v * (STOPS.len() - 1) as f64;
    let i = (position.floor() as usize).min(STOPS.len() - 2);
    let t = position - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn step_colour(step: Option<u8>) -> RGBColor {
    step.map_or(NO_DATA, |s| viridis(s as f64 / (COLOUR_STEPS - 1.0)))
}

impl Figure for HeatFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        target: Target,
    ) -> Result<Option<Inset>, Box<dyn Error>>
    where
        DB::ErrorType: 'static,
    {
        let Some((plot, _)) = panels(root, self.title, self.rows == 0, COLOUR_BAR_PANEL)? else {
            return Ok(None);
        };
        let label_style = text_style(13.0, INK);
        // Room on the left for the widest row label that may be shown, and the axis caption.
        let widest = widest(root, self.row_labels.iter().map(String::as_str), &label_style)?;
        let mut chart = ChartBuilder::on(&plot)
            .margin_top(8)
            .margin_right(12)
            .x_label_area_size(48)
            .y_label_area_size((widest + 40).clamp(60, 260))
            .build_cartesian_2d(self.x.0..self.x.1, 0.0..self.rows as f64)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label)
            .label_style(text_style(14.0, INK))
            .axis_desc_style(text_style(16.0, INK))
            .axis_style(MUTED)
            .x_labels(10)
            .y_labels(0)
            .x_label_formatter(&tick)
            .draw()?;
        let (px, py) = chart.plotting_area().get_pixel_range();
        let rows = self.rows as f64;
        let inset = match target {
            Target::Svg => Some(Inset {
                x: px.start,
                y: py.start,
                width: px.end - px.start,
                height: py.end - py.start,
                png: self.cells_png()?,
            }),
            Target::Bitmap => {
                let column_width = (self.x.1 - self.x.0) / self.columns as f64;
                chart.draw_series(self.runs.iter().map(|&(row, first, past, step)| {
                    // Row 0 at the top.
                    let top = rows - row as f64;
                    let left = self.x.0 + first as f64 * column_width;
                    let right = self.x.0 + past as f64 * column_width;
                    Rectangle::new([(left, top), (right, top - 1.0)], step_colour(step).filled())
                }))?;
                None
            }
        };

        // Row labels at row centres, as many as fit one per 16 pixels.
        let height = (py.end - py.start) as f64;
        let every = self.rows.div_ceil(((height / 16.0) as usize).max(1));
        let right_aligned = label_style.pos(Pos::new(HPos::Right, VPos::Center));
        for row in (0..self.rows).step_by(every) {
            let y = py.start + ((row as f64 + 0.5) * height / rows) as i32;
            root.draw(&PathElement::new(vec![(px.start - 4, y), (px.start, y)], MUTED))?;
            root.draw(&Text::new(
                self.row_labels[row].as_str(),
                (px.start - 7, y),
                right_aligned.clone(),
            ))?;
        }
        colour_bar(root, px.end + 28, py, self.value_label)?;
        Ok(inset)
    }
}

impl HeatFigure<'_> {
    /// The cells as a picture of one pixel per drawn cell, row 0 at the top.
    fn cells_png(&self) -> std::io::Result<Vec<u8>> {
        let mut rgb = vec![0u8; self.columns * self.rows * 3];
        for &(row, first, past, step) in &self.runs {
            let RGBColor(r, g, b) = step_colour(step);
            for column in first..past {
                let at = (row * self.columns + column) * 3;
                rgb[at..at + 3].copy_from_slice(&[r, g, b]);
            }
        }
        encode_png(&rgb, self.columns as u32, self.rows as u32)
    }
}

/// The colour bar of a heatmap: the scale from 1 (top) to 0 (bottom) beside the plot, with
/// ticks, the value caption, and a grey swatch for "no data" below.
fn colour_bar<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    left: i32,
    span: std::ops::Range<i32>,
    caption: &str,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    const BAR_WIDTH: i32 = 18;
    let height = span.end - span.start;
    // One rectangle per colour step: the pixel rows from `y` down to the next step.
    let step_at = |y: i32| colour_step((span.end - 1 - y) as f64 / (height - 1).max(1) as f64);
    let mut y = span.start;
    while y < span.end {
        let step = step_at(y);
        let mut next = y + 1;
        while next < span.end && step_at(next) == step {
            next += 1;
        }
        root.draw(&Rectangle::new(
            [(left, y), (left + BAR_WIDTH, next)],
            step_colour(Some(step)).filled(),
        ))?;
        y = next;
    }
    root.draw(&Rectangle::new(
        [(left, span.start), (left + BAR_WIDTH, span.end)],
        MUTED,
    ))?;
    let tick_style = text_style(13.0, INK).pos(Pos::new(HPos::Left, VPos::Center));
    for k in 0..=4 {
        let value = k as f64 / 4.0;
        let y = span.end - 1 - (value * (height - 1) as f64).round() as i32;
        root.draw(&PathElement::new(
            vec![(left + BAR_WIDTH, y), (left + BAR_WIDTH + 4, y)],
            MUTED,
        ))?;
        let label = format!("{value}");
        root.draw(&Text::new(label, (left + BAR_WIDTH + 7, y), tick_style.clone()))?;
    }
    let caption_style = text_style(15.0, INK)
        .transform(FontTransform::Rotate270)
        .pos(Pos::new(HPos::Center, VPos::Center));
    let middle = (span.start + span.end) / 2;
    root.draw(&Text::new(
        caption.to_owned(),
        (left + BAR_WIDTH + 58, middle),
        caption_style,
    ))?;
    let swatch_top = span.end + 16;
    root.draw(&Rectangle::new(
        [(left, swatch_top), (left + BAR_WIDTH, swatch_top + 12)],
        NO_DATA.filled(),
    ))?;
    root.draw(&Text::new(
        "no data",
        (left + BAR_WIDTH + 7, swatch_top + 6),
        tick_style,
    ))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Frame, legend and the empty chart.

/// Fills the chart white and draws its title; returns the area below the title.
fn frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let inner = root.margin(8, 6, 6, 6);
    Ok(inner.titled(title, text_style(22.0, INK))?)
}

/// The message of a chart with nothing to draw, in a frame where the plot would be.
fn no_data<DB: DrawingBackend>(body: &DrawingArea<DB, Shift>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (w, h) = body.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    body.draw(&Rectangle::new([(60, 10), (w - 60, h - 40)], GRID))?;
    let style = text_style(22.0, MUTED).pos(Pos::new(HPos::Center, VPos::Center));
    body.draw(&Text::new("no data", (w / 2, h / 2 - 15), style))?;
    Ok(())
}

/// A plot area and the panel on its right.
type Panels<DB> = (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>);
/// Cartesian axes over two ranges given as `AsRangedCoord`s.
type Axes<'a, DB, X, Y> = ChartContext<
    'a,
    DB,
    Cartesian2d<<X as AsRangedCoord>::CoordDescType, <Y as AsRangedCoord>::CoordDescType>,
>;

/// The frame and title, split into the plot and a panel `side` pixels wide on its right
/// (legend or colour bar); `None`, after drawing "no data", when `empty`.
fn panels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    empty: bool,
    side: u32,
) -> Result<Option<Panels<DB>>, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let body = frame(root, title)?;
    if empty {
        no_data(&body)?;
        return Ok(None);
    }
    let (width, _) = body.dim_in_pixel();
    Ok(Some(body.split_horizontally(width - side)))
}

/// Value axes with a light grid and both axes labelled, as line and stacked charts have.
fn axes<'a, DB, X, Y>(
    area: &'a DrawingArea<DB, Shift>,
    x: X,
    y: Y,
    x_label: &str,
    y_label: &str,
) -> Result<Axes<'a, DB, X, Y>, Box<dyn Error>>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .margin_top(8)
        .margin_right(12)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x, y)?;
    gridded(&mut chart.configure_mesh(), 14.0, 16.0)
        .x_desc(x_label)
        .y_desc(y_label)
        .y_labels(8)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .draw()?;
    Ok(chart)
}

/// The charts' grid and axes: light lines every tick, ten time ticks, labels of `label`
/// points and axis captions of `caption` points.
fn gridded<'m, 'a, 'b, X, Y, DB>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
    label: f64,
    caption: f64,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB>
where
    X: Ranged,
    Y: Ranged,
    DB: DrawingBackend,
{
    mesh.label_style(text_style(label, INK))
        .axis_desc_style(text_style(caption, INK))
        .light_line_style(GRID_FINE)
        .bold_line_style(GRID)
        .axis_style(MUTED)
        .x_labels(10)
}

/// The width in pixels of the widest of `labels` in `style`.
fn widest<'l, DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: impl Iterator<Item = &'l str>,
    style: &TextStyle,
) -> Result<u32, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let mut widest = 0;
    for label in labels {
        widest = widest.max(area.estimate_text_size(label, style)?.0);
    }
    Ok(widest)
}

#[derive(Clone, Copy)]
enum LegendMark {
    /// A short line, for line charts.
    Line,
    /// A filled square, for bands.
    Swatch,
}

/// The legend, top-aligned in its own panel right of the plot, where it hides no data.
/// Labels too wide for the panel are cut short with "…".
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    legend: &Legend,
    mark: LegendMark,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let style = text_style(14.0, INK).pos(Pos::new(HPos::Left, VPos::Center));
    let (width, _) = area.dim_in_pixel();
    let room = width.saturating_sub(42);
    let row_height = 21;
    let mut y = 18;
    for (label, colour) in &legend.entries {
        match mark {
            LegendMark::Line => {
                area.draw(&PathElement::new(vec![(6, y), (28, y)], colour.stroke_width(3)))?;
            }
            LegendMark::Swatch => {
                area.draw(&Rectangle::new(
                    [(10, y - 6), (24, y + 6)],
                    lighten(*colour, 0.25).filled(),
                ))?;
                area.draw(&Rectangle::new([(10, y - 6), (24, y + 6)], *colour))?;
            }
        }
        let shown = fit_text(area, label, &style, room)?;
        area.draw(&Text::new(shown, (36, y), style.clone()))?;
        y += row_height;
    }
    if let Some(note) = &legend.note {
        let note_style = text_style(13.0, MUTED).pos(Pos::new(HPos::Left, VPos::Center));
        let shown = fit_text(area, note, &note_style, width.saturating_sub(12))?;
        area.draw(&Text::new(shown, (6, y + 4), note_style))?;
    }
    Ok(())
}

/// `text` as it fits in `room` pixels: whole, or with its middle replaced by "…" (labels
/// often differ only at their end, as in "framework-1" and "framework-2").
fn fit_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
    room: u32,
) -> Result<String, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    if area.estimate_text_size(text, style)?.0 <= room {
        return Ok(text.to_owned());
    }
    let chars: Vec<char> = text.chars().collect();
    for keep in (1..chars.len()).rev() {
        let head = keep.div_ceil(2);
        let tail = keep - head;
        let candidate: String = chars[..head]
            .iter()
            .chain(std::iter::once(&'…'))
            .chain(&chars[chars.len() - tail..])
            .collect();
        if area.estimate_text_size(&candidate, style)?.0 <= room {
            return Ok(candidate);
        }
    }
    Ok("…".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("mesosim-plots-{}-{name}", std::process::id()))
    }

    fn wave(label: &str, n: usize, phase: f64) -> Series {
        let points = (0..n)
            .map(|i| {
                let t = i as f64 * 10.0;
                (t, 0.5 + 0.4 * (t / 3000.0 + phase).sin())
            })
            .collect();
        Series {
            label: label.to_owned(),
            points,
        }
    }

    fn draw_all(dir: &Path) -> Vec<Plot> {
        let lines = [wave("cpus", 5000, 0.0), wave("mem", 5000, 1.0)];
        let samples: Vec<f64> = (0..10_000).map(|i| (i as f64 / 100.0).powi(2)).collect();
        let cdfs = [("delay".to_owned(), samples)];
        let cells: Vec<Vec<f64>> = (0..20)
            .map(|r| {
                (0..100)
                    .map(|b| {
                        if r == 3 {
                            f64::NAN
                        } else {
                            ((r * b) % 10) as f64 / 9.0
                        }
                    })
                    .collect()
            })
            .collect();
        let names: Vec<String> = (1..=20).map(|i| format!("standard-{i}")).collect();
        let strips = [Strip {
            y_label: "cpus out".to_owned(),
            areas: vec![Series {
                label: "cpus out".to_owned(),
                points: vec![
                    (0.0, 0.0),
                    (600.0, 0.0),
                    (600.0, 16.0),
                    (1500.0, 16.0),
                    (1500.0, 0.0),
                ],
            }],
            lines: vec![wave("running", 500, 0.0)],
        }];
        let kinds = ["crash_agents".to_owned()];
        let faults = [FaultBar {
            label: "#1 rack-1: 4 agents".to_owned(),
            kind: 0,
            at_s: 600.0,
            healed_s: Some(1500.0),
            detected_s: Some(680.0),
            elected_s: None,
            back_s: Some(1510.0),
            recovered_s: None,
            unrecovered: true,
        }];
        vec![
            timeline(
                dir,
                "timeline",
                &Timeline {
                    title: "recovery",
                    end_s: 7200.0,
                    strips: &strips,
                    kinds: &kinds,
                    faults: &faults,
                },
            )
            .unwrap(),
            line_chart(
                dir,
                "line",
                &LineChart {
                    title: "allocation",
                    y_label: "allocated (fraction of total)",
                    series: &lines,
                    y_range: Some((0.0, 1.0)),
                },
            )
            .unwrap(),
            stacked_chart(
                dir,
                "stack",
                &StackedChart {
                    title: "by role",
                    y_label: "cpus",
                    series: &lines,
                },
            )
            .unwrap(),
            cdf_chart(
                dir,
                "cdf",
                &CdfChart {
                    title: "delay",
                    x_label: "queue delay (s)",
                    series: &cdfs,
                    log_x: true,
                },
            )
            .unwrap(),
            heatmap(
                dir,
                "heat",
                &Heatmap {
                    title: "agents",
                    y_label: "agents (by name)",
                    row_labels: &names,
                    start_s: 0.0,
                    end_s: 7200.0,
                    cells: &cells,
                    value_label: "allocated",
                },
            )
            .unwrap(),
        ]
    }

    #[test]
    fn same_input_gives_byte_identical_files() {
        let (a, b) = (temp_dir("det-a"), temp_dir("det-b"));
        let first = draw_all(&a);
        let second = draw_all(&b);
        assert_eq!(first, second);
        for plot in &first {
            for ext in ["png", "svg"] {
                let name = format!("{}.{ext}", plot.stem);
                let x = std::fs::read(a.join(&name)).unwrap();
                let y = std::fs::read(b.join(&name)).unwrap();
                assert!(x == y, "{name} differs between two drawings");
            }
            let png = std::fs::read(a.join(plot.png_file())).unwrap();
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
            assert!(plot.svg.starts_with("<svg"));
            assert_eq!(plot.svg.contains("data:image/png;base64,"), plot.stem == "heat");
            // Several plots are inlined in one page: no ids that could clash.
            assert!(!plot.svg.contains(" id="), "{} has an id", plot.stem);
        }
        let _ = std::fs::remove_dir_all(&a);
        let _ = std::fs::remove_dir_all(&b);
    }

    #[test]
    fn empty_input_draws_no_data() {
        let dir = temp_dir("empty");
        let none: [Series; 0] = [];
        let blank = [Series {
            label: "x".to_owned(),
            points: vec![],
        }];
        let nan = [Series {
            label: "x".to_owned(),
            points: vec![(f64::NAN, 1.0), (2.0, f64::INFINITY)],
        }];
        for (i, series) in [&none[..], &blank[..], &nan[..]].into_iter().enumerate() {
            let line = LineChart {
                title: "t",
                y_label: "y",
                series,
                y_range: None,
            };
            let plot = line_chart(&dir, &format!("line{i}"), &line).unwrap();
            assert!(plot.svg.contains("no data"), "line {i}");
            let stack = StackedChart {
                title: "t",
                y_label: "y",
                series,
            };
            let plot = stacked_chart(&dir, &format!("stack{i}"), &stack).unwrap();
            assert!(plot.svg.contains("no data"), "stack {i}");
        }
        let cdfs = [("a".to_owned(), vec![]), ("b".to_owned(), vec![-1.0, 0.0])];
        for log_x in [false, true] {
            let take = if log_x { 2 } else { 1 };
            let cdf = CdfChart {
                title: "t",
                x_label: "x",
                series: &cdfs[..take],
                log_x,
            };
            let plot = cdf_chart(&dir, "cdf", &cdf).unwrap();
            assert!(plot.svg.contains("no data"));
        }
        for cells in [vec![], vec![vec![]], vec![vec![f64::NAN; 4]; 3]] {
            let map = Heatmap {
                title: "t",
                y_label: "agents",
                row_labels: &[],
                start_s: 0.0,
                end_s: 0.0,
                cells: &cells,
                value_label: "v",
            };
            let plot = heatmap(&dir, "heat", &map).unwrap();
            assert!(plot.svg.contains("no data"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn single_points_and_flat_lines_draw() {
        let dir = temp_dir("single");
        let one = [Series {
            label: "one".to_owned(),
            points: vec![(5.0, 0.0)],
        }];
        let line = LineChart {
            title: "t",
            y_label: "y",
            series: &one,
            y_range: None,
        };
        let plot = line_chart(&dir, "one", &line).unwrap();
        assert!(!plot.svg.contains("no data"));
        let cdfs = [("same".to_owned(), vec![3.0; 10])];
        for log_x in [false, true] {
            let cdf = CdfChart {
                title: "t",
                x_label: "x",
                series: &cdfs,
                log_x,
            };
            assert!(!cdf_chart(&dir, "same", &cdf).unwrap().svg.contains("no data"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn time_unit_follows_the_span() {
        assert_eq!(time_unit(0.0), ("s", 1.0));
        assert_eq!(time_unit(600.0), ("s", 1.0));
        assert_eq!(time_unit(3600.0), ("min", 60.0));
        assert_eq!(time_unit(86400.0), ("h", 3600.0));
        assert_eq!(time_unit(30.0 * 86400.0), ("days", 86400.0));
        assert_eq!(time_unit(f64::NAN), ("s", 1.0));
    }

    #[test]
    fn envelope_keeps_spikes_within_the_budget() {
        let n = 100_000;
        let y = |i: usize| {
            if i == 54_321 {
                9.0
            } else if i == 12_345 {
                -9.0
            } else {
                1.0
            }
        };
        let kept = envelope(n, |i| i as f64, y, 0.0, (n - 1) as f64);
        assert!(kept.len() <= MAX_POINTS);
        assert!(kept.contains(&54_321) && kept.contains(&12_345));
        assert!(kept.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(envelope(5, |i| i as f64, y, 0.0, 4.0), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn cdf_points_are_a_staircase_of_kept_ranks() {
        let (points, left) = cdf_points(&[1.0, 2.0, 3.0, 4.0], false);
        assert_eq!(left, 0);
        assert_eq!(points.first(), Some(&(1.0, 0.0)));
        assert_eq!(points.last(), Some(&(4.0, 1.0)));
        let (points, left) = cdf_points(&[-1.0, 0.0, 10.0, 100.0], true);
        assert_eq!(left, 2);
        assert_eq!(points.first(), Some(&(10.0, 0.5)));
        let many: Vec<f64> = (0..1_000_000).map(|i| i as f64).collect();
        let (points, _) = cdf_points(&many, false);
        assert!(points.len() <= 2 * MAX_POINTS + 1);
        assert_eq!(points.last(), Some(&(999_999.0, 1.0)));
    }

    #[test]
    fn more_than_twelve_series_keep_the_biggest() {
        let sizes: Vec<f64> = (0..20).map(|i| (i % 7) as f64).collect();
        let kept = biggest(&sizes);
        assert_eq!(kept.len(), MAX_LEGEND);
        assert!(kept.windows(2).all(|w| w[0] < w[1]));
        assert!(kept.iter().all(|&i| sizes[i] >= 2.0));
    }

    #[test]
    fn ticks_read_as_short_numbers() {
        assert_eq!(tick(&0.0), "0");
        assert_eq!(tick(&(0.1 + 0.2)), "0.3");
        assert_eq!(tick(&150.0), "150");
        assert_eq!(tick(&-2.5), "-2.5");
        assert_eq!(tick(&9.999_999_999e-5), "1e-4");
        assert_eq!(tick(&1e-6), "1e-6");
        assert_eq!(tick(&0.001), "0.001");
        assert_eq!(tick(&250_000.0), "250000");
        assert_eq!(tick(&2.5e7), "2.5e7");
    }

    #[test]
    fn base64_pads_like_rfc_4648() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xFF, 0xEF]), "/+8=");
    }

    #[test]
    fn viridis_runs_dark_to_light() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(2.0), viridis(1.0));
        let light = |c: RGBColor| c.0 as u32 * 3 + c.1 as u32 * 6 + c.2 as u32;
        assert!((1..=10).all(|k| light(viridis(k as f64 / 10.0)) > light(viridis((k - 1) as f64 / 10.0))));
    }
}
