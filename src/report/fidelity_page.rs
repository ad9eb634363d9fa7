//! `fidelity.html`: what `mesosim live compare` found, for a person to read.

use super::fidelity::{END_FLOOR_WALL_S, END_TOLERANCE, Fidelity, Spread};
use super::html::{Block, Page, Section};

fn percent(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

fn spread_row(name: &str, s: &Spread) -> Vec<String> {
    vec![
        name.to_owned(),
        s.count.to_string(),
        format!("{:.3}", s.p50),
        format!("{:.3}", s.p99),
        format!("{:.3}", s.max),
        format!("{:+.3}", s.mean_signed),
    ]
}

fn figure(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_owned(), |x| format!("{x:.4}"))
}

/// The page.
pub fn render(f: &Fidelity) -> String {
    let verdict = if f.passed {
        "The simulation predicts the live run within the target."
    } else {
        "The simulation does NOT predict the live run within the target."
    };
    let agreement = Section {
        heading: "Agreement".into(),
        blocks: vec![
            Block::Paragraph(format!(
                "{verdict} Tasks are matched by framework and task id. A task's end agrees within {:.0} % of \
                 its simulated time in the system or {:.2} s of wall time ({:.2} scenario s at time scale {}).",
                100.0 * END_TOLERANCE,
                END_FLOOR_WALL_S,
                END_FLOOR_WALL_S * f.time_scale,
                f.time_scale
            )),
            Block::Table {
                header: vec![
                    "measure".into(),
                    "tasks".into(),
                    "agreement".into(),
                    "target".into(),
                ],
                rows: vec![
                    vec![
                        "same agent".into(),
                        f.launched_both.to_string(),
                        percent(f.placement_agreement),
                        percent(f.placement_target),
                    ],
                    vec![
                        "end within tolerance".into(),
                        f.ended_both.to_string(),
                        percent(f.end_agreement),
                        percent(f.end_target),
                    ],
                ],
            },
        ],
    };
    let differences = Section {
        heading: "Differences (live minus simulated, scenario seconds)".into(),
        blocks: vec![
            Block::Table {
                header: ["time", "tasks", "p50 |d|", "p99 |d|", "max |d|", "mean d"]
                    .map(String::from)
                    .to_vec(),
                rows: vec![
                    spread_row("launch", &f.launch_diff_s),
                    spread_row("end", &f.end_diff_s),
                    spread_row("run time", &f.run_time_diff_s),
                ],
            },
            Block::Paragraph("Why they differ:".into()),
        ]
        .into_iter()
        .chain(f.reasons.iter().map(|r| Block::Paragraph(format!("- {r}"))))
        .collect(),
    };
    let figures = Section {
        heading: "Summary figures side by side".into(),
        blocks: vec![Block::Table {
            header: vec!["figure".into(), "simulated".into(), "live".into()],
            rows: f
                .figures
                .iter()
                .map(|x| vec![x.name.clone(), figure(x.simulated), figure(x.live)])
                .collect(),
        }],
    };
    Page {
        title: format!("{}: simulation against a live run", f.scenario),
        sections: vec![agreement, differences, figures],
    }
    .render()
}
