//! The Recovery section of report.html, for a run with faults: the recovery timeline (each
//! fault and the moments of its recovery, under the capacity out and the tasks running
//! over the same time), the distributions of the faults' durations and the table of
//! faults.

use std::path::Path;

use super::html::{Block, Section};
use super::page::{fig, opt};
use super::plots::{self, FaultBar, Series, Strip, Timeline};
use super::recovery::Phase;
use super::summary::Summary;
use crate::metrics::{Collector, Fault, FaultKind};
use crate::time::Instant;

/// The file stem of the timeline plot.
pub const TIMELINE: &str = "recovery-timeline";

/// A step function of time from its changes `(time, change)`, in any order: zero from the
/// start, both corners of each step, and its level at `end`; `scale` divides the levels.
fn steps(mut changes: Vec<(Instant, i64)>, end: Instant, scale: f64) -> Vec<(f64, f64)> {
    changes.sort_by_key(|c| c.0);
    let mut points = vec![(0.0, 0.0)];
    let mut level = 0i64;
    let mut i = 0;
    while i < changes.len() {
        let at = changes[i].0;
        let mut next = level;
        while i < changes.len() && changes[i].0 == at {
            next += changes[i].1;
            i += 1;
        }
        if next != level {
            let t = at.as_secs_f64();
            points.push((t, level as f64 / scale));
            points.push((t, next as f64 / scale));
            level = next;
        }
    }
    points.push((
        end.as_secs_f64().max(points[points.len() - 1].0),
        level as f64 / scale,
    ));
    points
}

/// The resource whose capacity out the timeline shows: cpus if agents had any, else the
/// first in name order.
fn shown_resource(c: &Collector) -> Option<(usize, String)> {
    let resources = c.resources();
    let cpus = resources.iter().find(|(_, n)| n == "cpus").cloned();
    cpus.or_else(|| resources.into_iter().next())
}

/// The strips above the faults: capacity lost to faults, tasks hit and not running again
/// yet, tasks running.
fn strips(c: &Collector, end: Instant) -> Vec<Strip> {
    let mut out = Vec::new();
    if let Some((i, name)) = shown_resource(c) {
        let changes = c
            .recovery
            .outages
            .iter()
            .flat_map(|o| {
                let amount = o.capacity.get(i) as i64;
                std::iter::once((o.since, amount)).chain(o.until.map(|u| (u, -amount)))
            })
            .collect();
        out.push(Strip {
            y_label: format!("{name} out"),
            areas: vec![Series {
                label: format!("{name} out to faults"),
                // Amounts are in thousandths.
                points: steps(changes, end, 1000.0),
            }],
            lines: vec![],
        });
    }
    let changes = c
        .recovery
        .task_spans
        .iter()
        .flat_map(|s| std::iter::once((s.hit, 1)).chain(s.recovered.map(|r| (r.max(s.hit), -1))))
        .collect();
    out.push(Strip {
        y_label: "tasks hit".into(),
        areas: vec![Series {
            label: "tasks hit, not running".into(),
            points: steps(changes, end, 1.0),
        }],
        lines: vec![],
    });
    out.push(Strip {
        y_label: "running".into(),
        areas: vec![],
        lines: vec![Series {
            label: "tasks running".into(),
            points: c
                .samples()
                .iter()
                .map(|s| (s.at.as_secs_f64(), s.running as f64))
                .collect(),
        }],
    });
    out
}

/// A fault as the timeline draws it.
fn bar(i: usize, f: &Fault, end: Instant) -> FaultBar {
    let secs = |t: Option<Instant>| t.map(Instant::as_secs_f64);
    FaultBar {
        // A burst's target is its figures: the table has them.
        label: match f.kind {
            FaultKind::Network => format!("#{} message loss", i + 1),
            _ => format!("#{} {}", i + 1, f.target),
        },
        kind: FaultKind::ALL
            .iter()
            .position(|&k| k == f.kind)
            .expect("every kind is listed"),
        at_s: f.at.as_secs_f64(),
        healed_s: secs(f.healed.filter(|&h| h <= end)),
        // A master crash is noticed when the next master leads: that mark says it.
        detected_s: secs(f.detected.filter(|_| f.kind != FaultKind::MasterCrashed)),
        elected_s: secs(f.elected),
        back_s: secs(f.restored.or(f.reregistered)),
        recovered_s: secs(
            f.last_recovery
                .filter(|_| f.tasks_affected > 0 && f.tasks_pending == 0),
        ),
        unrecovered: f.tasks_pending > 0,
    }
}

/// The section, with the timeline drawn into `dir`; `None` when the run had no faults.
pub fn section(dir: &Path, summary: &Summary, c: &Collector) -> std::io::Result<Option<Section>> {
    let faults = &c.recovery.faults;
    if faults.is_empty() {
        return Ok(None);
    }
    let end = Instant::ZERO + crate::time::Duration::from_secs_f64(summary.simulated_s);
    let kinds: Vec<String> = FaultKind::ALL.iter().map(|k| k.name().to_owned()).collect();
    let bars: Vec<FaultBar> = faults.iter().enumerate().map(|(i, f)| bar(i, f, end)).collect();
    let timeline = plots::timeline(
        dir,
        TIMELINE,
        &Timeline {
            title: "Recovery from faults",
            end_s: summary.simulated_s,
            strips: &strips(c, end),
            kinds: &kinds,
            faults: &bars,
        },
    )?;
    let packed = if faults.len() > plots::MAX_LABELLED {
        " With this many faults, rows are lanes: a fault goes in the first lane where it overlaps no other; the table below lists them."
    } else {
        " Rows are numbered as in the table below."
    };
    let caption = format!(
        "Each fault as a bar from its start to its end (the machine booted, the partition healed, ...; to the right edge if not within the run), its recovery as a line to its last mark: when the master noticed, when the next master led, when every agent it lost was back, when every task it hit ran again (an arrow: one never did). Above, over the same time: the capacity of agents lost to faults, from the crash (or from being marked unreachable) until an agent registered on the machine again, and the tasks running (as the master counts them, at each sample) with the tasks hit and not running again yet.{packed}"
    );
    let r = &summary.recovery;
    let spread_rows = Phase::ALL
        .iter()
        .filter_map(|phase| {
            let d = phase.spread(r)?;
            let show = |v: f64| if d.count > 0 { fig(v) } else { "–".to_owned() };
            Some(vec![
                phase.name().to_owned(),
                phase.until().to_owned(),
                d.count.to_string(),
                show(d.p50),
                show(d.p95),
                show(d.max),
                show(d.mean),
            ])
        })
        .collect();
    let rows = r
        .events
        .iter()
        .enumerate()
        .map(|(i, f)| {
            vec![
                (i + 1).to_string(),
                f.kind.to_owned(),
                f.target.clone(),
                fig(f.at_s),
                opt(f.detect_s, ""),
                f.agents_lost.to_string(),
                opt(f.restored_s.or(f.reregistered_s.flatten()), ""),
                f.tasks_affected.to_string(),
                opt(f.recovered_s, ""),
                f.tasks_unrecovered.to_string(),
                f.capacity_lost
                    .iter()
                    .filter(|(_, v)| **v > 0.0)
                    .map(|(k, v)| format!("{k} {}", fig(*v)))
                    .collect::<Vec<_>>()
                    .join(" · "),
            ]
        })
        .collect();
    Ok(Some(Section {
        heading: "Recovery".into(),
        blocks: vec![
            Block::Plot {
                caption,
                plot: timeline,
            },
            Block::Paragraph(
                "Each duration over the run's faults, from the fault's start (faults without the figure left out: the master noticed nothing, no agent was lost, ...).".into(),
            ),
            Block::Table {
                header: ["duration", "until", "faults", "p50 (s)", "p95 (s)", "max (s)", "mean (s)"]
                    .map(String::from)
                    .to_vec(),
                rows: spread_rows,
            },
            Block::Table {
                header: [
                    "#",
                    "fault",
                    "target",
                    "at (s)",
                    "detected after (s)",
                    "agents lost",
                    "agents back after (s)",
                    "tasks hit",
                    "recovered after (s)",
                    "not recovered",
                    "capacity lost × time",
                ]
                .map(String::from)
                .to_vec(),
                rows,
            },
        ],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    fn at(s: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(s)
    }

    #[test]
    fn steps_rise_and_fall_at_their_changes() {
        // Two agents of 4 cpus out from 10 s and 20 s; the first back at 30 s, the other
        // never; changes at one instant merge.
        let changes = vec![(at(20), 4000), (at(10), 4000), (at(30), -4000), (at(30), 0)];
        assert_eq!(
            steps(changes, at(60), 1000.0),
            [
                (0.0, 0.0),
                (10.0, 0.0),
                (10.0, 4.0),
                (20.0, 4.0),
                (20.0, 8.0),
                (30.0, 8.0),
                (30.0, 4.0),
                (60.0, 4.0)
            ]
        );
        // Out and back at the same instant: no step at all.
        assert_eq!(
            steps(vec![(at(5), 1), (at(5), -1)], at(9), 1.0),
            [(0.0, 0.0), (9.0, 0.0)]
        );
    }
}
