//! compare.html: allocators side by side over seeds, their curves overlaid.

use std::path::Path;

use super::html::{Block, Page, Section};
use super::plots::{self, CdfChart, LineChart, Series};
use super::recovery::Phase;
use crate::sweep::compare::Comparison;
use crate::sweep::record::{Curves, RunRecord};

/// Each allocator's mean curve over its seeds: `pick` chooses the curve from a run's
/// [`Curves`]; points where no seed has a value are left out.
fn mean_series(
    allocators: &[String],
    runs: &[Vec<&Curves>],
    pick: impl Fn(&Curves) -> Vec<Option<f64>>,
) -> Vec<Series> {
    allocators
        .iter()
        .zip(runs)
        .map(|(name, curves)| {
            let longest = curves.iter().max_by_key(|c| c.time_s.len());
            let times = longest.map(|c| c.time_s.clone()).unwrap_or_default();
            let picked: Vec<Vec<Option<f64>>> = curves.iter().map(|c| pick(c)).collect();
            let points = times
                .iter()
                .enumerate()
                .filter_map(|(k, &t)| {
                    let values: Vec<f64> = picked
                        .iter()
                        .filter_map(|p| p.get(k).copied().flatten())
                        .collect();
                    (!values.is_empty()).then(|| (t, values.iter().sum::<f64>() / values.len() as f64))
                })
                .collect();
            Series {
                label: name.clone(),
                points,
            }
        })
        .collect()
}

/// Writes compare.html and its plots into `dir`.
pub fn write(
    dir: &Path,
    scenario: &str,
    comparison: &Comparison,
    records: &[RunRecord],
) -> std::io::Result<()> {
    let allocators = &comparison.allocators;
    // Records are in run order: allocator-major, seeds innermost.
    let seeds = comparison.seeds.max(1);
    let runs: Vec<Vec<&Curves>> = (0..allocators.len())
        .map(|a| {
            records
                .iter()
                .filter(|r| r.run / seeds == a)
                .filter_map(|r| r.curves.as_ref())
                .collect()
        })
        .collect();
    let some = |v: &[f64]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
    let cpus = plots::line_chart(
        dir,
        "compare-cpus",
        &LineChart {
            title: "cpus allocated, mean over seeds",
            y_label: "fraction of the cluster's cpus",
            series: &mean_series(allocators, &runs, |c| some(&c.cpus_allocated)),
            y_range: Some((0.0, 1.0)),
        },
    )?;
    let mem = plots::line_chart(
        dir,
        "compare-mem",
        &LineChart {
            title: "mem allocated, mean over seeds",
            y_label: "fraction of the cluster's mem",
            series: &mean_series(allocators, &runs, |c| some(&c.mem_allocated)),
            y_range: Some((0.0, 1.0)),
        },
    )?;
    let queued = plots::line_chart(
        dir,
        "compare-waiting",
        &LineChart {
            title: "Tasks waiting, mean over seeds",
            y_label: "tasks",
            series: &mean_series(allocators, &runs, |c| some(&c.queued)),
            y_range: None,
        },
    )?;
    let jain = plots::line_chart(
        dir,
        "compare-jain",
        &LineChart {
            title: "Jain's index over the roles' dominant shares, mean over seeds",
            y_label: "Jain's index (1: equal weighted shares)",
            series: &mean_series(allocators, &runs, |c| c.jain.clone()),
            y_range: Some((0.0, 1.0)),
        },
    )?;
    let delays: Vec<(String, Vec<f64>)> = allocators
        .iter()
        .zip(&runs)
        .map(|(name, curves)| {
            let mut all: Vec<f64> = curves
                .iter()
                .flat_map(|c| c.delay_quantiles.iter().copied())
                .collect();
            all.sort_by(f64::total_cmp);
            (name.clone(), all)
        })
        .collect();
    let positive = delays.iter().all(|(_, d)| d.first().is_none_or(|&x| x > 0.0));
    let delay = plots::cdf_chart(
        dir,
        "compare-queue-delay",
        &CdfChart {
            title: "Queue delay, seeds pooled",
            x_label: "queue delay (s)",
            series: &delays,
            log_x: positive,
        },
    )?;
    let recovery = recovery_section(dir, comparison, records)?;
    let mut header = vec!["metric".to_owned()];
    header.extend(allocators.iter().cloned());
    let failed = records.iter().filter(|r| r.summary.is_none()).count();
    let mut intro = format!(
        "{scenario} under {} allocators × {} seeds. Each cell is the mean over seeds ± the half-width of its 95% confidence interval (Student's t); * marks the best where the quality gate knows which way is better. compare.csv has every metric; results.csv every run.",
        allocators.len(),
        comparison.seeds
    );
    if failed > 0 {
        intro.push_str(&format!(" {failed} runs did not finish and are left out."));
    }
    let mut page = Page {
        title: format!("mesosim compare: {scenario}"),
        sections: vec![
            Section {
                heading: "Side by side".into(),
                blocks: vec![
                    Block::Paragraph(intro),
                    Block::Table {
                        header,
                        // The terminal's marks, without the padding that aligns them there.
                        rows: comparison
                            .key_table()
                            .into_iter()
                            .map(|row| row.into_iter().map(|cell| cell.trim_end().to_owned()).collect())
                            .collect(),
                    },
                ],
            },
            Section {
                heading: "Utilisation".into(),
                blocks: vec![
                    Block::Plot {
                        caption: "Allocated (offered or used) fraction of the cluster's cpus, the mean of each sample interval, averaged over seeds.".into(),
                        plot: cpus,
                    },
                    Block::Plot {
                        caption: "The same for mem.".into(),
                        plot: mem,
                    },
                ],
            },
            Section {
                heading: "Tasks".into(),
                blocks: vec![
                    Block::Plot {
                        caption: "Tasks waiting for their first launch, averaged over seeds.".into(),
                        plot: queued,
                    },
                    Block::Plot {
                        caption: "Fraction of launched tasks that waited at most so long, all seeds pooled (200 ranks per run).".into(),
                        plot: delay,
                    },
                ],
            },
            Section {
                heading: "Fairness".into(),
                blocks: vec![Block::Plot {
                    caption: "Jain's index over the weighted dominant shares of the roles with demand, per sample interval, averaged over seeds (gaps: no two roles competed).".into(),
                    plot: jain,
                }],
            },
        ],
    };
    page.sections.extend(recovery);
    super::write_atomic(&dir.join("compare.html"), page.render().as_bytes())
}

/// The Recovery section, when some run had faults: the recovery table and the CDF of the
/// time until every task a fault hit ran again, each allocator's faults of all seeds
/// pooled.
fn recovery_section(
    dir: &Path,
    comparison: &Comparison,
    records: &[RunRecord],
) -> std::io::Result<Option<Section>> {
    let Some(rows) = comparison.recovery_table() else {
        return Ok(None);
    };
    let seeds = comparison.seeds.max(1);
    let recovered: Vec<(String, Vec<f64>)> = comparison
        .allocators
        .iter()
        .enumerate()
        .map(|(a, name)| {
            let mut all: Vec<f64> = records
                .iter()
                .filter(|r| r.run / seeds == a)
                .filter_map(|r| r.summary.as_ref()?.pointer("/recovery/events")?.as_array())
                .flatten()
                .filter_map(|fault| Phase::Recovered.of_json(fault))
                .collect();
            all.sort_by(f64::total_cmp);
            (name.clone(), all)
        })
        .collect();
    let mut header = vec![String::new()];
    header.extend(comparison.allocators.iter().cloned());
    let mut blocks = vec![
        Block::Paragraph(format!(
            "Every fault of every seed ({} per allocator), pooled. Faults: how many, and in brackets how many left a task they hit neither running again nor ended for good; tasks hit: how many, and how many never recovered. Each duration from the fault's start, over the faults that have it, as count · p50 · p95 · max in seconds (exact nearest ranks). recovery.csv has them all, with means and p99.",
            comparison.seeds
        )),
        Block::Table { header, rows },
    ];
    if recovered.iter().any(|(_, v)| !v.is_empty()) {
        let low = recovered
            .iter()
            .filter_map(|(_, v)| v.first())
            .fold(f64::INFINITY, |a, &b| a.min(b));
        let high = recovered
            .iter()
            .filter_map(|(_, v)| v.last())
            .fold(0.0, |a: f64, &b| a.max(b));
        let plot = plots::cdf_chart(
            dir,
            "compare-recovery",
            &CdfChart {
                title: "Time until every task a fault hit ran again, seeds pooled",
                x_label: "recovered after (s)",
                series: &recovered,
                log_x: low > 0.0 && high > 100.0 * low,
            },
        )?;
        blocks.push(Block::Plot {
            caption: "Fraction of the faults that hit tasks whose tasks all ran again within so long, all seeds' faults pooled; a fault whose tasks never all did is left out (see the table).".into(),
            plot,
        });
    }
    Ok(Some(Section {
        heading: "Recovery".into(),
        blocks,
    }))
}
