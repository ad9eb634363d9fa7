//! Draws every kind of report chart from synthetic data of report size, writes an HTML page
//! that shows them, and prints how long each chart took to draw.
//!
//! ```sh
//! cargo run --release --example plots -- target/plots-example
//! ```
//!
//! The data: four 100,000-point lines over a day; a stacked chart of 15 roles over 30 days
//! (the 12 biggest in colour, the rest as "other"); 20 lines over 20 minutes (8 of them grey);
//! CDFs of 1,000,000 samples each on a log axis and on a linear one; and a heatmap of 50
//! agents over 30 days in 720 bins, with two agents that never registered; and a chart with
//! no data at all.

use std::path::PathBuf;

use mesosim::report::html::{Block, Page, Section};
use mesosim::report::plots::{
    CdfChart, Heatmap, LineChart, Plot, Series, StackedChart, cdf_chart, heatmap, line_chart, stacked_chart,
};

/// A small deterministic generator of numbers in [0, 1) (xorshift64*).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Runs `draw`, prints how long it took, and returns its plot.
// Wall-clock timing of the drawing itself, for the person running the example; nothing
// simulated reads it.
#[allow(clippy::disallowed_methods)]
fn timed(name: &str, draw: impl FnOnce() -> std::io::Result<Plot>) -> Plot {
    let start = std::time::Instant::now();
    let plot = draw().expect("the chart draws and its files are written");
    println!("{name:<28} {:>8.1} ms", start.elapsed().as_secs_f64() * 1e3);
    plot
}

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/plots-example".to_owned()),
    );
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);

    // Allocation of four resources over one day, 100,000 points each, with spikes.
    let day = 86_400.0;
    let resources = ["cpus", "mem", "disk", "gpus"];
    let allocation: Vec<Series> = resources
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let points = (0..100_000)
                .map(|i| {
                    let t = i as f64 * day / 100_000.0;
                    let base = 0.45 + 0.3 * (t / 9000.0 + k as f64).sin() - 0.08 * k as f64;
                    let spike = if noise.next() < 0.0005 { 0.3 } else { 0.0 };
                    (t, (base + 0.04 * noise.next() + spike).clamp(0.0, 1.0))
                })
                .collect();
            Series {
                label: name.to_string(),
                points,
            }
        })
        .collect();

    // Running tasks per role over 30 days, hourly; 15 roles.
    let month = 30.0 * day;
    let roles: Vec<Series> = (0..15)
        .map(|r| {
            let weight = 40.0 / (1.0 + r as f64);
            let points = (0..=720)
                .map(|h| {
                    let t = h as f64 * 3600.0;
                    let daily = 1.0 + 0.5 * (t / day * std::f64::consts::TAU + r as f64).sin();
                    (t, weight * daily * (0.8 + 0.4 * noise.next()))
                })
                .collect();
            Series {
                label: format!("role-{}", r + 1),
                points,
            }
        })
        .collect();

    // Twenty frameworks' share over 20 minutes.
    let shares: Vec<Series> = (0..20)
        .map(|f| {
            let points = (0..=1200)
                .map(|s| {
                    let t = s as f64;
                    let v = (f as f64 + 1.0) / 25.0 + 0.02 * (t / 60.0 + f as f64).sin();
                    (t, v)
                })
                .collect();
            Series {
                label: format!("framework-with-a-long-name-{}", f + 1),
                points,
            }
        })
        .collect();

    // Queue delays: 1,000,000 samples per allocator, a mass at 0 and a long tail.
    let delays: Vec<(String, Vec<f64>)> = ["drf", "binpack", "random"]
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let mut samples: Vec<f64> = (0..1_000_000)
                .map(|_| {
                    let u = noise.next();
                    if u < 0.1 * (k + 1) as f64 {
                        0.0
                    } else {
                        -(1.0 - noise.next()).ln() * (2.0 + 3.0 * k as f64)
                    }
                })
                .collect();
            samples.sort_by(f64::total_cmp);
            (name.to_string(), samples)
        })
        .collect();

    // 50 agents over 30 days in 720 bins; standard-17 and standard-18 never registered.
    let names: Vec<String> = (1..=50).map(|i| format!("standard-{i}")).collect();
    let cells: Vec<Vec<f64>> = (0..50)
        .map(|a| {
            (0..720)
                .map(|b| {
                    if a == 16 || a == 17 {
                        f64::NAN
                    } else {
                        let t = b as f64 / 24.0;
                        let v = 0.5 + 0.4 * (t * std::f64::consts::TAU + a as f64 * 0.3).sin();
                        (v + 0.2 * noise.next() - 0.1).clamp(0.0, 1.0)
                    }
                })
                .collect()
        })
        .collect();

    println!("drawing into {}", dir.display());
    let plots = vec![
        (
            "Allocation of each resource over a day (100,000 points per line).",
            timed("line (4 × 100k points)", || {
                line_chart(
                    &dir,
                    "allocation",
                    &LineChart {
                        title: "Allocated share of the cluster",
                        y_label: "allocated (fraction of total)",
                        series: &allocation,
                        y_range: Some((0.0, 1.0)),
                    },
                )
            }),
        ),
        (
            "Running tasks by role over 30 days: the 12 biggest roles, the rest as other.",
            timed("stacked (15 × 721 points)", || {
                stacked_chart(
                    &dir,
                    "roles",
                    &StackedChart {
                        title: "Running tasks by role",
                        y_label: "running tasks",
                        series: &roles,
                    },
                )
            }),
        ),
        (
            "Dominant share of twenty frameworks over 20 minutes.",
            timed("line (20 × 1201 points)", || {
                line_chart(
                    &dir,
                    "shares",
                    &LineChart {
                        title: "Dominant share by framework",
                        y_label: "dominant share (fraction)",
                        series: &shares,
                        y_range: None,
                    },
                )
            }),
        ),
        (
            "Queue delay per allocator, log scale (1,000,000 samples each).",
            timed("cdf log (3 × 1M samples)", || {
                cdf_chart(
                    &dir,
                    "queue-delay-log",
                    &CdfChart {
                        title: "Queue delay",
                        x_label: "queue delay (s)",
                        series: &delays,
                        log_x: true,
                    },
                )
            }),
        ),
        (
            "Queue delay per allocator, linear scale.",
            timed("cdf linear (3 × 1M samples)", || {
                cdf_chart(
                    &dir,
                    "queue-delay",
                    &CdfChart {
                        title: "Queue delay",
                        x_label: "queue delay (s)",
                        series: &delays,
                        log_x: false,
                    },
                )
            }),
        ),
        (
            "Allocation of each agent over 30 days.",
            timed("heatmap (50 × 720)", || {
                heatmap(
                    &dir,
                    "agents",
                    &Heatmap {
                        title: "Allocation by agent",
                        y_label: "agents (by name)",
                        row_labels: &names,
                        start_s: 0.0,
                        end_s: month,
                        cells: &cells,
                        value_label: "allocated (busiest resource)",
                    },
                )
            }),
        ),
        (
            "A chart given nothing to draw.",
            timed("line (no data)", || {
                line_chart(
                    &dir,
                    "empty",
                    &LineChart {
                        title: "Nothing yet",
                        y_label: "tasks",
                        series: &[],
                        y_range: None,
                    },
                )
            }),
        ),
    ];

    let page = Page {
        title: "mesosim report charts (synthetic data)".to_owned(),
        sections: vec![
            Section {
                heading: "About".to_owned(),
                blocks: vec![
                    Block::Paragraph("Every chart kind of the report, drawn from synthetic data.".to_owned()),
                    Block::Table {
                        header: vec!["chart".to_owned(), "points drawn from".to_owned()],
                        rows: vec![
                            vec!["allocation".to_owned(), "400,000".to_owned()],
                            vec!["queue delay".to_owned(), "3,000,000".to_owned()],
                            vec!["agents".to_owned(), "36,000".to_owned()],
                        ],
                    },
                ],
            },
            Section {
                heading: "Charts".to_owned(),
                blocks: plots
                    .into_iter()
                    .map(|(caption, plot)| Block::Plot {
                        caption: caption.to_owned(),
                        plot,
                    })
                    .collect(),
            },
            Section {
                heading: "Scenario".to_owned(),
                blocks: vec![Block::Code("name: synthetic\nseed: 1\n".to_owned())],
            },
        ],
    };
    mesosim::report::write_atomic(&dir.join("index.html"), page.render().as_bytes())
        .expect("the page is written");
    println!("page: {}", dir.join("index.html").display());
}
