//! report.html and its plots: what a person reads first about a run.

use std::path::Path;

use super::html::{Block, Page, Section};
use super::plots::{self, CdfChart, Heatmap, LineChart, Series, StackedChart};
use super::summary::{Distribution, Summary};
use crate::metrics::{Collector, HeatGrid};

/// The stacked shares chart shows this many roles; beyond, the rest are summed as "other".
const MAX_STACKED: usize = 12;
/// The heatmap has at most this many rows; with more agents, a row is the mean of
/// neighbouring agents in name order.
const MAX_HEAT_ROWS: usize = 300;

/// A figure as the page prints it: up to four significant digits after the point.
pub(super) fn fig(v: f64) -> String {
    if v == 0.0 {
        return "0".to_owned();
    }
    if v.abs() >= 1000.0 {
        return format!("{:.0}", v);
    }
    let r = crate::trace::stats::round_significant(v, 4);
    r.to_string()
}

pub(super) fn opt(v: Option<f64>, unit: &str) -> String {
    v.map_or("–".to_owned(), |v| format!("{}{unit}", fig(v)))
}

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

fn dist(d: &Distribution) -> String {
    if d.count == 0 {
        return "–".to_owned();
    }
    format!(
        "mean {} · p50 {} · p95 {} · p99 {} · max {}",
        fig(d.mean),
        fig(d.p50),
        fig(d.p95),
        fig(d.p99),
        fig(d.max)
    )
}

/// The key figures, as (figure, value) rows.
pub fn key_figures(s: &Summary) -> Vec<Vec<String>> {
    let mut rows: Vec<(String, String)> = vec![
        (
            "scenario · seed · allocator".into(),
            format!("{} · {} · {}", s.scenario, s.seed, s.allocator),
        ),
        (
            "simulated".into(),
            format!(
                "{} ({} events)",
                crate::time::Duration::from_secs_f64(s.simulated_s),
                s.events
            ),
        ),
        (
            "agents · frameworks".into(),
            format!(
                "{} registered, {} lost · {}",
                s.agents.registered, s.agents.unreachable, s.frameworks
            ),
        ),
        (
            "tasks".into(),
            format!(
                "{} submitted · {} launched · {} finished · {} failed · {} killed · {} lost",
                s.tasks.submitted,
                s.tasks.launched,
                s.tasks.finished,
                s.tasks.failed,
                s.tasks.killed,
                s.tasks.lost
            ),
        ),
    ];
    for (name, u) in &s.utilisation {
        rows.push((
            format!("{name} utilisation"),
            format!("{} allocated · {} used", pct(u.allocated_mean), pct(u.used_mean)),
        ));
    }
    rows.extend([
        ("queue delay (s)".into(), dist(&s.queue_delay_s)),
        ("run time (s)".into(), dist(&s.tasks.run_time_s)),
        ("bounded slowdown".into(), dist(&s.tasks.slowdown)),
        ("makespan".into(), opt(s.tasks.makespan_s, " s")),
        (
            "jobs".into(),
            format!(
                "{} completed ({} with failures) · completion (s): {}",
                s.jobs.completed,
                s.jobs.failed,
                dist(&s.jobs.completion_s)
            ),
        ),
        (
            "offers".into(),
            format!(
                "{} made ({}/s) · {} declined ({}) · {} rescinded",
                s.offers.made,
                fig(s.offers.per_s),
                s.offers.declined,
                pct(s.offers.decline_ratio),
                s.offers.rescinded
            ),
        ),
        (
            "demand to first offer (s)".into(),
            dist(&s.offers.demand_to_offer_s),
        ),
        (
            "fairness".into(),
            format!(
                "Jain over shares {} · over entitlement {} · max/min share {} · {} s below entitlement",
                fig(s.fairness.jain_dominant_share),
                fig(s.fairness.jain_entitled),
                opt(s.fairness.max_min_share_ratio, ""),
                fig(s.fairness.below_fair_share_s)
            ),
        ),
        (
            "recovery".into(),
            format!(
                "{} faults · {} tasks hit, {} not recovered · slowest detection {} · slowest recovery {}",
                s.recovery.faults,
                s.recovery.tasks_affected,
                s.recovery.tasks_unrecovered,
                opt(s.recovery.detect_s_max, " s"),
                opt(s.recovery.recovered_s_max, " s")
            ),
        ),
    ]);
    rows.into_iter().map(|(a, b)| vec![a, b]).collect()
}

/// Times of the samples, in seconds.
fn times(c: &Collector) -> Vec<f64> {
    c.samples().iter().map(|s| s.at.as_secs_f64()).collect()
}

/// The utilisation plot's lines: allocated and used fraction of each resource something
/// was allocated of.
pub fn utilisation_series(c: &Collector) -> Vec<Series> {
    let t = times(c);
    let mut out = Vec::new();
    for (i, name) in c.resources() {
        let allocated: Vec<(f64, f64)> = t
            .iter()
            .zip(c.samples())
            .map(|(&x, s)| (x, s.cluster.get(i).map_or(0.0, |v| v[3])))
            .collect();
        // A resource nothing asks for (disk in most scenarios) would flatten the chart.
        if name != "cpus" && name != "mem" && allocated.iter().all(|p| p.1 < 0.01) {
            continue;
        }
        let used = t
            .iter()
            .zip(c.samples())
            .map(|(&x, s)| (x, s.cluster.get(i).map_or(0.0, |v| v[4])))
            .collect();
        out.push(Series {
            label: format!("{name} allocated"),
            points: allocated,
        });
        out.push(Series {
            label: format!("{name} used"),
            points: used,
        });
    }
    out
}

/// The stacked shares: roles by mean share, the largest first; past [`MAX_STACKED`], the
/// rest summed as "other".
pub fn share_series(c: &Collector) -> Vec<Series> {
    let t = times(c);
    let names = c.role_names();
    let samples = c.samples();
    let mut roles: Vec<(usize, f64)> = (0..names.len())
        .map(|r| {
            (
                r,
                samples
                    .iter()
                    .map(|s| s.roles.get(r).copied().unwrap_or(0.0))
                    .sum(),
            )
        })
        .filter(|&(_, total)| total > 0.0)
        .collect();
    roles.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let shown = if roles.len() > MAX_STACKED {
        MAX_STACKED - 1
    } else {
        roles.len()
    };
    let series_of = |rs: &[(usize, f64)]| -> Vec<(f64, f64)> {
        t.iter()
            .zip(samples)
            .map(|(&x, s)| {
                (
                    x,
                    rs.iter()
                        .map(|&(r, _)| s.roles.get(r).copied().unwrap_or(0.0))
                        .sum(),
                )
            })
            .collect()
    };
    let mut out: Vec<Series> = roles[..shown]
        .iter()
        .map(|&(r, _)| Series {
            label: names[r].clone(),
            points: series_of(&[(r, 0.0)]),
        })
        .collect();
    if roles.len() > shown {
        out.push(Series {
            label: format!("other ({} roles)", roles.len() - shown),
            points: series_of(&roles[shown..]),
        });
    }
    out
}

/// Tasks waiting and running over time.
pub fn task_series(c: &Collector) -> Vec<Series> {
    let t = times(c);
    let s = c.samples();
    vec![
        Series {
            label: "running".into(),
            points: t.iter().zip(s).map(|(&x, s)| (x, s.running as f64)).collect(),
        },
        Series {
            label: "waiting".into(),
            points: t.iter().zip(s).map(|(&x, s)| (x, s.queued as f64)).collect(),
        },
    ]
}

/// The heatmap's rows: agents in name order, grouped when there are many.
pub fn heat_rows(grid: &HeatGrid) -> (Vec<String>, Vec<Vec<f64>>, f64) {
    let n = grid.agents.len();
    let columns = grid.rows.iter().map(Vec::len).max().unwrap_or(0);
    let per = n.div_ceil(MAX_HEAT_ROWS).max(1);
    let mut labels = Vec::new();
    let mut cells = Vec::new();
    for start in (0..n).step_by(per) {
        let end = (start + per).min(n);
        labels.push(if end - start == 1 {
            grid.agents[start].clone()
        } else {
            format!("{} … {}", grid.agents[start], grid.agents[end - 1])
        });
        let row = (0..columns)
            .map(|k| {
                let values: Vec<f64> = grid.rows[start..end]
                    .iter()
                    .filter_map(|r| r.get(k).copied())
                    .filter(|v| !v.is_nan())
                    .map(f64::from)
                    .collect();
                if values.is_empty() {
                    f64::NAN
                } else {
                    values.iter().sum::<f64>() / values.len() as f64
                }
            })
            .collect();
        cells.push(row);
    }
    let end_s = (columns as f64 * grid.column_s).min(grid.end_s.max(grid.column_s));
    (labels, cells, end_s)
}

/// Draws every plot into `dir` and writes `report.html` there.
pub fn write(dir: &Path, summary: &Summary, c: &Collector, scenario_text: &str) -> std::io::Result<()> {
    let utilisation = plots::line_chart(
        dir,
        "utilisation",
        &LineChart {
            title: "Cluster utilisation",
            y_label: "fraction of the cluster's total",
            series: &utilisation_series(c),
            y_range: Some((0.0, 1.0)),
        },
    )?;
    let shares = plots::stacked_chart(
        dir,
        "shares",
        &StackedChart {
            title: "Dominant share per role (stacked)",
            y_label: "dominant share of the cluster",
            series: &share_series(c),
        },
    )?;
    let tasks = plots::line_chart(
        dir,
        "tasks",
        &LineChart {
            title: "Tasks running and waiting",
            y_label: "tasks",
            series: &task_series(c),
            y_range: None,
        },
    )?;
    let delays = c.sorted_delays();
    let log_x =
        delays.first().is_some_and(|&d| d > 0.0) && delays.last().is_some_and(|&d| d > 100.0 * delays[0]);
    let delay = plots::cdf_chart(
        dir,
        "queue-delay",
        &CdfChart {
            title: "Queue delay (submission to TASK_RUNNING)",
            x_label: "queue delay (s)",
            series: &[("all tasks".to_owned(), delays)],
            log_x,
        },
    )?;
    let grid = c.heat_grid();
    let (labels, cells, end_s) = heat_rows(&grid);
    let heat = plots::heatmap(
        dir,
        "agents-heatmap",
        &Heatmap {
            title: "Allocated fraction of each agent's busiest resource",
            y_label: "agents (by name)",
            row_labels: &labels,
            start_s: 0.0,
            end_s,
            cells: &cells,
            value_label: "allocated fraction",
        },
    )?;

    let mut sections = vec![Section {
        heading: "Key figures".into(),
        blocks: vec![Block::Table {
            header: vec!["figure".into(), "value".into()],
            rows: key_figures(summary),
        }],
    }];
    let mut class_rows = Vec::new();
    for (class, resources) in &summary.utilisation_by_class {
        for (name, u) in resources {
            class_rows.push(vec![
                class.clone(),
                name.clone(),
                pct(u.allocated_mean),
                pct(u.used_mean),
                fig(u.total_mean),
            ]);
        }
    }
    sections.push(Section {
        heading: "Utilisation".into(),
        blocks: vec![
            Block::Plot {
                caption: "Allocated (offered or used) and used fraction of each resource, cluster-wide, as means over each sample interval.".into(),
                plot: utilisation,
            },
            Block::Table {
                header: ["class", "resource", "allocated", "used", "mean total"].map(String::from).to_vec(),
                rows: class_rows,
            },
            Block::Plot {
                caption: format!(
                    "Each agent's busiest resource: allocated fraction over time{} Grey: the agent was not registered or not reachable.",
                    if labels.len() < grid.agents.len() {
                        ", rows averaging neighbouring agents in name order."
                    } else {
                        "."
                    }
                ),
                plot: heat,
            },
        ],
    });
    let role_rows = summary
        .fairness
        .roles
        .iter()
        .map(|(name, r)| {
            vec![
                name.clone(),
                fig(r.weight),
                pct(r.share_mean),
                pct(r.share_max),
                fig(r.demand_s),
                r.share_mean_with_demand.map_or("–".into(), pct),
                fig(r.below_fair_share_s),
            ]
        })
        .collect();
    sections.push(Section {
        heading: "Fairness".into(),
        blocks: vec![
            Block::Plot {
                caption: "Each role's dominant share (the largest fraction of any resource it holds, offered or used), stacked.".into(),
                plot: shares,
            },
            Block::Table {
                header: [
                    "role",
                    "weight",
                    "mean share",
                    "max share",
                    "demand (s)",
                    "mean share with demand",
                    "below entitlement (s)",
                ]
                .map(String::from)
                .to_vec(),
                rows: role_rows,
            },
        ],
    });
    sections.push(Section {
        heading: "Tasks".into(),
        blocks: vec![
            Block::Plot {
                caption: "Tasks running and waiting for their first launch, at each sample.".into(),
                plot: tasks,
            },
            Block::Plot {
                caption: "Fraction of launched tasks that waited at most so long between submission and TASK_RUNNING.".into(),
                plot: delay,
            },
        ],
    });
    if let Some(recovery) = super::recovery_page::section(dir, summary, c)? {
        sections.push(recovery);
    }
    sections.push(Section {
        heading: "Files".into(),
        blocks: vec![Block::Paragraph(
            "summary.json holds every figure; timeseries.csv the sampled cluster state; tasks.csv one row per task; offers.csv one row per offer; shares.csv each framework's share over time; agents.csv each agent's utilisation. Each plot is also a PNG and an SVG file beside this page.".into(),
        )],
    });
    sections.push(Section {
        heading: "Scenario".into(),
        blocks: vec![Block::Code(scenario_text.to_owned())],
    });
    let page = Page {
        title: format!(
            "mesosim: {} (seed {}, {})",
            summary.scenario, summary.seed, summary.allocator
        ),
        sections,
    };
    super::write_atomic(&dir.join("report.html"), page.render().as_bytes())
}
