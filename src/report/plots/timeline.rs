//! The recovery timeline: a run's faults over simulated time, each a bar from its start to
//! its end with the moments of its recovery marked, under strips of figures over the same
//! time axis (capacity out, tasks running), so that a dip and the climb back line up with
//! the fault that caused them.
//!
//! Up to [`MAX_LABELLED`] faults get a row each, labelled on the left. With more (random
//! schedules draw dozens), faults are packed into lanes, the earliest fault first into the
//! first lane it fits without touching another, and go unlabelled: the colour says the
//! kind, and the report's table lists them. The chart grows taller with its rows, up to
//! [`MAX_HEIGHT`] pixels; past that, rows get thinner.

use super::*;

/// One band of figures over time above the faults.
pub struct Strip {
    /// With its unit, e.g. "cpus out".
    pub y_label: String,
    /// Filled down to zero, drawn first; step functions are given with both corners of each
    /// step.
    pub areas: Vec<Series>,
    /// Lines over the areas.
    pub lines: Vec<Series>,
}

/// One fault, times in simulated seconds from the start of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultBar {
    /// The row's label, e.g. "#3 rack-1: 6 agents".
    pub label: String,
    /// Its kind, an index into [`Timeline::kinds`]: the bar's colour.
    pub kind: usize,
    pub at_s: f64,
    /// When the fault itself ended (`None`: not within the run).
    pub healed_s: Option<f64>,
    /// When the master noticed it.
    pub detected_s: Option<f64>,
    /// When the next master led (a master crash).
    pub elected_s: Option<f64>,
    /// When every agent lost to it was back.
    pub back_s: Option<f64>,
    /// When every task it hit ran again or ended for good (`None` when it hit none, or
    /// while one has not: see `unrecovered`).
    pub recovered_s: Option<f64>,
    /// Some task it hit had not run again by the end of the run.
    pub unrecovered: bool,
}

impl FaultBar {
    /// Where its drawing ends: its last mark, or the end of the run while it lasts or a
    /// task it hit has not recovered.
    fn reach(&self, end_s: f64) -> f64 {
        if self.unrecovered || self.healed_s.is_none() {
            return end_s;
        }
        [
            self.healed_s,
            self.detected_s,
            self.elected_s,
            self.back_s,
            self.recovered_s,
        ]
        .into_iter()
        .flatten()
        .fold(self.at_s, f64::max)
    }
}

/// Faults over simulated time, below strips of figures.
pub struct Timeline<'a> {
    pub title: &'a str,
    /// The run's end: the time axis covers `[0, end_s]`.
    pub end_s: f64,
    /// Top to bottom.
    pub strips: &'a [Strip],
    /// Names of the fault kinds; a kind's colour goes by its position, so that the same
    /// list gives a kind the same colour in every report.
    pub kinds: &'a [String],
    /// In the order they began.
    pub faults: &'a [FaultBar],
}

/// Faults beyond this many are packed into unlabelled lanes.
pub const MAX_LABELLED: usize = 24;
/// The chart is never taller than this.
pub const MAX_HEIGHT: u32 = 900;
/// Height of one strip, and of a labelled row, in pixels.
const STRIP_HEIGHT: u32 = 115;
const ROW_HEIGHT: u32 = 24;
/// Room for the title, the time axis and the margins.
const CHROME_HEIGHT: u32 = 110;
/// The faults' panel is at least this tall.
const MIN_FAULTS_HEIGHT: u32 = 100;

/// Colours of the fault kinds, by position.
const KIND_COLOURS: [RGBColor; 8] = [
    RGBColor(214, 39, 40),   // red
    RGBColor(255, 127, 14),  // orange
    RGBColor(148, 103, 189), // purple
    RGBColor(23, 190, 207),  // cyan
    RGBColor(31, 46, 122),   // navy
    RGBColor(140, 86, 75),   // brown
    RGBColor(188, 189, 34),  // olive
    RGBColor(227, 119, 194), // pink
];
/// Colours of the strips' areas and then lines, by position over the whole chart.
const STRIP_COLOURS: [RGBColor; 6] = [
    RGBColor(214, 39, 40),  // red
    RGBColor(255, 127, 14), // orange
    RGBColor(31, 119, 180), // blue
    RGBColor(44, 160, 44),  // green
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];
const DETECTED: RGBColor = RGBColor(0, 0, 0);
const ELECTED: RGBColor = RGBColor(106, 61, 154);
const BACK: RGBColor = RGBColor(31, 119, 180);
const RECOVERED: RGBColor = RGBColor(35, 139, 69);
const UNRECOVERED: RGBColor = RGBColor(200, 0, 0);

/// Draws the recovery timeline.
pub fn timeline(dir: &Path, stem: &str, chart: &Timeline) -> std::io::Result<Plot> {
    render(dir, stem, &prepare(chart))
}

/// A strip ready to draw: its series scaled to the time unit and reduced.
struct StripFigure {
    y_label: String,
    y: (f64, f64),
    areas: Vec<Line>,
    lines: Vec<Line>,
}

struct TimelineFigure<'a> {
    title: &'a str,
    x_label: String,
    x: (f64, f64),
    /// Seconds per unit of the time axis.
    per: f64,
    strips: Vec<StripFigure>,
    faults: &'a [FaultBar],
    /// Each fault's row, from the top.
    rows_of: Vec<usize>,
    rows: usize,
    labelled: bool,
    kinds: &'a [String],
    /// The legend: (label, colour, is an area) per strip series.
    series_legend: Vec<(String, RGBColor, bool)>,
    height: u32,
}

/// Each fault's lane: the first lane whose faults all end before it starts (with a gap
/// of `gap` seconds), in the order they began; and how many lanes there are.
fn pack(faults: &[FaultBar], end_s: f64, gap: f64) -> (Vec<usize>, usize) {
    let mut ends: Vec<f64> = Vec::new();
    let mut lanes = Vec::with_capacity(faults.len());
    for f in faults {
        let lane = ends.iter().position(|&e| e + gap <= f.at_s).unwrap_or(ends.len());
        if lane == ends.len() {
            ends.push(0.0);
        }
        ends[lane] = f.reach(end_s).max(f.at_s);
        lanes.push(lane);
    }
    (lanes, ends.len())
}

fn prepare<'a>(chart: &Timeline<'a>) -> TimelineFigure<'a> {
    let end = if chart.end_s.is_finite() && chart.end_s > 0.0 {
        chart.end_s
    } else {
        1.0
    };
    let (x_label, x0, x1, per) = time_axis(0.0, end);
    let labelled = chart.faults.len() <= MAX_LABELLED;
    let (rows_of, rows) = if labelled {
        ((0..chart.faults.len()).collect(), chart.faults.len())
    } else {
        pack(chart.faults, end, end / 200.0)
    };
    let mut colour = 0;
    let mut next_colour = || {
        let c = STRIP_COLOURS[colour % STRIP_COLOURS.len()];
        colour += 1;
        c
    };
    let mut series_legend = Vec::new();
    let strips = chart
        .strips
        .iter()
        .map(|strip| {
            let scaled = |s: &Series| -> Vec<Vec<(f64, f64)>> {
                let points: Vec<(f64, f64)> = s.points.iter().map(|&(x, y)| (x / per, y)).collect();
                finite_runs(&points, x0, x1)
            };
            // Areas outlined thin, lines wide; each its own colour and legend entry.
            let mut line = |s: &Series, area: bool| {
                let colour = next_colour();
                series_legend.push((s.label.clone(), colour, area));
                Line {
                    colour,
                    width: if area { 1 } else { 2 },
                    runs: scaled(s),
                }
            };
            let areas = strip.areas.iter().map(|s| line(s, true)).collect();
            let lines = strip.lines.iter().map(|s| line(s, false)).collect();
            let all = strip.areas.iter().chain(&strip.lines).flat_map(|s| &s.points);
            let high = finite_bounds(all.map(|p| p.1)).map_or(1.0, |b| b.1);
            StripFigure {
                y_label: strip.y_label.clone(),
                y: value_axis((0.0, high)),
                areas,
                lines,
            }
        })
        .collect::<Vec<_>>();
    let row_height = if labelled { ROW_HEIGHT } else { 12 };
    let room = MAX_HEIGHT.saturating_sub(CHROME_HEIGHT + STRIP_HEIGHT * strips.len() as u32);
    let faults_height = (rows as u32 * row_height).clamp(MIN_FAULTS_HEIGHT, room.max(MIN_FAULTS_HEIGHT));
    let height = (CHROME_HEIGHT + STRIP_HEIGHT * strips.len() as u32 + faults_height).max(HEIGHT);
    TimelineFigure {
        title: chart.title,
        x_label,
        x: (x0, x1),
        per,
        strips,
        faults: chart.faults,
        rows_of,
        rows,
        labelled,
        kinds: chart.kinds,
        series_legend,
        height,
    }
}

impl Figure for TimelineFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, self.height)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        target: Target,
    ) -> Result<Option<Inset>, Box<dyn Error>>
    where
        DB::ErrorType: 'static,
    {
        let Some((plot, legend)) = panels(root, self.title, self.faults.is_empty(), LEGEND_WIDTH)? else {
            return Ok(None);
        };
        let label_style = text_style(13.0, INK);
        // The same room on the left of every panel, so that their time axes line up: the
        // widest row label's, when rows are labelled.
        let widest = if self.labelled {
            widest(root, self.faults.iter().map(|f| f.label.as_str()), &label_style)?
        } else {
            0
        };
        let left = (widest + 24).clamp(78, 230);
        let (_, plot_height) = plot.dim_in_pixel();
        // The strips as tall as the chart was sized for; the faults get the rest.
        let strips_height =
            (STRIP_HEIGHT * self.strips.len() as u32).min(plot_height.saturating_sub(MIN_FAULTS_HEIGHT + 48));
        let (strips_area, faults_area) = plot.split_vertically(strips_height);
        if !self.strips.is_empty() {
            let each = strips_area.split_evenly((self.strips.len(), 1));
            for (area, strip) in each.iter().zip(&self.strips) {
                self.draw_strip(area, strip, left, target)?;
            }
        }
        self.draw_faults(root, &faults_area, left, &label_style)?;
        self.draw_legend(&legend)?;
        Ok(None)
    }
}

impl TimelineFigure<'_> {
    fn draw_strip<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        strip: &StripFigure,
        left: u32,
        target: Target,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let mut chart = ChartBuilder::on(area)
            .margin_top(10)
            .margin_bottom(4)
            .margin_right(12)
            .x_label_area_size(0)
            .y_label_area_size(left)
            .build_cartesian_2d(self.x.0..self.x.1, strip.y.0..strip.y.1)?;
        gridded(&mut chart.configure_mesh(), 13.0, 14.0)
            .y_desc(strip.y_label.as_str())
            .y_labels(4)
            .x_label_formatter(&|_| String::new())
            .y_label_formatter(&tick)
            .draw()?;
        for area in &strip.areas {
            for run in &area.runs {
                let mut outline = run.clone();
                if let (Some(first), Some(last)) = (run.first(), run.last()) {
                    outline.push((last.0, 0.0));
                    outline.push((first.0, 0.0));
                }
                let fill = lighten(area.colour, 0.55).filled();
                chart.draw_series(std::iter::once(Polygon::new(outline, fill)))?;
            }
            draw_line(&mut chart, area, target)?;
        }
        for line in &strip.lines {
            draw_line(&mut chart, line, target)?;
        }
        Ok(())
    }

    fn draw_faults<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        area: &DrawingArea<DB, Shift>,
        left: u32,
        label_style: &TextStyle,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let rows = self.rows.max(1) as f64;
        let mut chart = ChartBuilder::on(area)
            .margin_top(6)
            .margin_right(12)
            .x_label_area_size(48)
            .y_label_area_size(left)
            .build_cartesian_2d(self.x.0..self.x.1, 0.0..rows)?;
        let y_desc = if self.labelled {
            String::new()
        } else {
            format!("{} faults, packed", self.faults.len())
        };
        gridded(&mut chart.configure_mesh(), 14.0, 16.0)
            .disable_y_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(y_desc)
            .y_labels(0)
            .x_label_formatter(&tick)
            .draw()?;
        let (px, py) = chart.plotting_area().get_pixel_range();
        let row_px = (py.end - py.start) as f64 / rows;
        // However tall a row, a bar and its marks keep the size of a labelled row's.
        let bar_half = (row_px * 0.32).clamp(1.0, 8.0);
        let mark = (row_px * 0.22).clamp(1.5, 5.0);
        // Light lines between labelled rows.
        if self.labelled {
            for row in 1..self.rows {
                let y = py.start + (row as f64 * row_px).round() as i32;
                root.draw(&PathElement::new(vec![(px.start, y), (px.end, y)], GRID_FINE))?;
            }
        }
        let to_px = |t: f64| chart.backend_coord(&(t / self.per, 0.0)).0;
        let (right, end_s) = (px.end, self.x.1 * self.per);
        for (f, &row) in self.faults.iter().zip(&self.rows_of) {
            let y = py.start + ((row as f64 + 0.5) * row_px).round() as i32;
            let colour = KIND_COLOURS[f.kind % KIND_COLOURS.len()];
            let start = to_px(f.at_s);
            // The fault itself, at least 3 pixels wide.
            let healed = f.healed_s.map_or(right, to_px).max(start + 3);
            let half = bar_half.round() as i32;
            root.draw(&Rectangle::new(
                [(start, y - half), (healed, y + half)],
                lighten(colour, 0.5).filled(),
            ))?;
            root.draw(&Rectangle::new([(start, y - half), (healed, y + half)], colour))?;
            // Its recovery: a thin line to its last mark, on to the end while a task it hit
            // has not run again.
            let reach = to_px(f.reach(end_s));
            if reach > start {
                root.draw(&PathElement::new(
                    vec![(start, y), (reach, y)],
                    INK.stroke_width(1),
                ))?;
            }
            for m in Mark::ALL {
                if let Some(t) = m.at(f, end_s) {
                    m.draw(root, (to_px(t), y), mark)?;
                }
            }
        }
        if self.labelled {
            let style = label_style.pos(Pos::new(HPos::Right, VPos::Center));
            let room = left.saturating_sub(14);
            for (f, &row) in self.faults.iter().zip(&self.rows_of) {
                let y = py.start + ((row as f64 + 0.5) * row_px).round() as i32;
                let shown = fit_text(root, &f.label, &style, room)?;
                root.draw(&Text::new(shown, (px.start - 7, y), style.clone()))?;
            }
        }
        Ok(())
    }

    /// The legend: the strips' series, the fault kinds there are, and the marks.
    fn draw_legend<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let style = text_style(14.0, INK).pos(Pos::new(HPos::Left, VPos::Center));
        let (width, _) = area.dim_in_pixel();
        let room = width.saturating_sub(42);
        let row = 21;
        let mut y = 18;
        let entry = |y: i32, text: &str| -> DrawResult {
            let shown = fit_text(area, text, &style, room)?;
            area.draw(&Text::new(shown, (36, y), style.clone()))?;
            Ok(())
        };
        for (label, colour, is_area) in &self.series_legend {
            if *is_area {
                area.draw(&Rectangle::new(
                    [(8, y - 6), (28, y + 6)],
                    lighten(*colour, 0.55).filled(),
                ))?;
                area.draw(&PathElement::new(vec![(8, y - 6), (28, y - 6)], *colour))?;
            } else {
                area.draw(&PathElement::new(vec![(6, y), (28, y)], colour.stroke_width(3)))?;
            }
            entry(y, label)?;
            y += row;
        }
        y += row / 2;
        for (k, kind) in self.kinds.iter().enumerate() {
            if !self.faults.iter().any(|f| f.kind == k) {
                continue;
            }
            let colour = KIND_COLOURS[k % KIND_COLOURS.len()];
            area.draw(&Rectangle::new(
                [(6, y - 5), (30, y + 5)],
                lighten(colour, 0.5).filled(),
            ))?;
            area.draw(&Rectangle::new([(6, y - 5), (30, y + 5)], colour))?;
            entry(y, kind)?;
            y += row;
        }
        y += row / 2;
        for m in Mark::ALL {
            if self.faults.iter().any(|f| m.at(f, 0.0).is_some()) {
                m.draw(area, (20, y), 5.0)?;
                entry(y, m.label())?;
                y += row;
            }
        }
        Ok(())
    }
}

/// A moment of a fault's recovery, as the chart marks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    Detected,
    Elected,
    Back,
    Recovered,
    /// A task it hit never ran again: at the end of the run.
    NeverRecovered,
}

impl Mark {
    /// In the order they are drawn (later on top) and listed.
    const ALL: [Mark; 5] = [
        Mark::Detected,
        Mark::Elected,
        Mark::Back,
        Mark::Recovered,
        Mark::NeverRecovered,
    ];

    fn label(self) -> &'static str {
        match self {
            Mark::Detected => "master noticed",
            Mark::Elected => "next master led",
            Mark::Back => "agents or framework back",
            Mark::Recovered => "hit tasks all ran again",
            Mark::NeverRecovered => "a hit task never did",
        }
    }

    /// When fault `f` has it (a run ending at `end_s`).
    fn at(self, f: &FaultBar, end_s: f64) -> Option<f64> {
        match self {
            Mark::Detected => f.detected_s,
            Mark::Elected => f.elected_s,
            Mark::Back => f.back_s,
            Mark::Recovered => f.recovered_s,
            Mark::NeverRecovered => f.unrecovered.then_some(end_s),
        }
    }

    /// Draws it centred on `at` (an arrow: its tip), `size` pixels from centre to edge: a
    /// black tick, a purple triangle, a blue square, a green dot, a red arrow head.
    fn draw<DB: DrawingBackend>(self, area: &DrawingArea<DB, Shift>, at: (i32, i32), size: f64) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (x, y) = at;
        let s = size.round() as i32;
        match self {
            Mark::Detected => {
                let h = (size * 2.0).round() as i32;
                area.draw(&PathElement::new(
                    vec![(x, y - h), (x, y + h)],
                    DETECTED.stroke_width(2),
                ))?;
            }
            Mark::Elected => {
                let s = (size * 1.3).round() as i32;
                let corners = vec![(x, y - s), (x + s, y + s * 3 / 4), (x - s, y + s * 3 / 4)];
                area.draw(&Polygon::new(corners, ELECTED.filled()))?;
            }
            Mark::Back => {
                area.draw(&Rectangle::new([(x - s, y - s), (x + s, y + s)], BACK.filled()))?;
            }
            Mark::Recovered => {
                area.draw(&Circle::new((x, y), s, RECOVERED.filled()))?;
            }
            Mark::NeverRecovered => {
                let s = (size * 1.6).round() as i32;
                let head = vec![(x, y), (x - s - 2, y - s), (x - s - 2, y + s)];
                area.draw(&Polygon::new(head, UNRECOVERED.filled()))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(at_s: f64, healed_s: Option<f64>, recovered_s: Option<f64>) -> FaultBar {
        FaultBar {
            label: format!("at {at_s}"),
            kind: 1,
            at_s,
            healed_s,
            detected_s: Some(at_s + 75.0),
            elected_s: None,
            back_s: healed_s,
            recovered_s,
            unrecovered: false,
        }
    }

    #[test]
    fn faults_pack_into_lanes_without_touching() {
        let faults = [
            bar(0.0, Some(100.0), Some(150.0)),
            bar(120.0, Some(200.0), None),
            bar(160.0, Some(300.0), Some(320.0)),
            // Never healed: it takes its lane to the end.
            bar(400.0, None, None),
            bar(500.0, Some(510.0), None),
        ];
        let (lanes, n) = pack(&faults, 1000.0, 5.0);
        assert_eq!(lanes, [0, 1, 0, 0, 1]);
        assert_eq!(n, 2);
        // Gaps count: a fault starting as another's last mark passes is put beside it.
        let (lanes, _) = pack(&faults[..2], 1000.0, 0.0);
        assert_eq!(lanes, [0, 1]);
    }

    #[test]
    fn the_chart_grows_with_its_rows_and_packs_many() {
        let strips = [Strip {
            y_label: "cpus out".into(),
            areas: vec![Series {
                label: "out".into(),
                points: vec![(0.0, 0.0), (10.0, 0.0), (10.0, 4.0), (90.0, 4.0), (90.0, 0.0)],
            }],
            lines: vec![],
        }];
        let kinds = ["crash_agents".to_owned(), "partition".to_owned()];
        let make = |n: usize| -> Vec<FaultBar> {
            (0..n)
                .map(|i| bar(i as f64 * 30.0, Some(i as f64 * 30.0 + 20.0), None))
                .collect()
        };
        let height = |faults: &[FaultBar]| {
            let t = Timeline {
                title: "t",
                end_s: 3600.0,
                strips: &strips,
                kinds: &kinds,
                faults,
            };
            let figure = prepare(&t);
            (figure.height, figure.rows, figure.labelled)
        };
        assert_eq!(height(&make(1)), (HEIGHT, 1, true));
        let (tall, rows, labelled) = height(&make(MAX_LABELLED));
        assert!(tall > HEIGHT && tall <= MAX_HEIGHT && rows == MAX_LABELLED && labelled);
        // 60 faults 30 s apart, each over after 95 s (its detection): four lanes.
        let (h, rows, labelled) = height(&make(60));
        assert!(!labelled && rows == 4 && h <= MAX_HEIGHT, "{h} {rows}");
    }
}
