//! The report's tables beside summary.json: timeseries.csv, shares.csv and agents.csv,
//! each written whole and atomically once the run is over.

use std::path::Path;

use super::write_atomic;
use crate::metrics::Collector;

/// At most this many machine classes get columns of their own in timeseries.csv.
pub const MAX_CLASS_COLUMNS: usize = 16;

/// A figure as CSV text: six significant digits, no exponent for everyday magnitudes.
pub fn number(v: f64) -> String {
    let r = crate::trace::stats::round_significant(v, 6);
    if r == 0.0 { "0".to_owned() } else { r.to_string() }
}

fn csv_bytes(header: &[String], rows: impl Iterator<Item = Vec<String>>) -> std::io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header)?;
    for row in rows {
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| std::io::Error::other(e.to_string()))
}

/// The time series' column names, in the order `timeseries_rows` fills them.
pub fn timeseries_header(c: &Collector) -> Vec<String> {
    let mut h = vec!["time_s".to_owned()];
    let resources = c.resources();
    for (_, r) in &resources {
        for what in [
            "total",
            "allocated",
            "used",
            "allocated_fraction",
            "used_fraction",
        ] {
            h.push(format!("{r}_{what}"));
        }
    }
    let classes = c.class_names();
    if classes.len() <= MAX_CLASS_COLUMNS {
        for class in &classes {
            for (_, r) in &resources {
                h.push(format!("class_{class}_{r}_allocated_fraction"));
            }
        }
    }
    for role in c.role_names() {
        h.push(format!("share_{role}"));
    }
    h.extend(
        [
            "tasks_queued",
            "tasks_running",
            "offers_made",
            "offers_declined",
            "jain",
        ]
        .map(str::to_owned),
    );
    h
}

/// timeseries.csv: one row per sample; see [`timeseries_header`].
pub fn write_timeseries(dir: &Path, c: &Collector) -> std::io::Result<()> {
    let header = timeseries_header(c);
    let resources = c.resources();
    let classes = c.class_names().len();
    let roles = c.role_names().len();
    let rows = c.samples().iter().map(|s| {
        let mut row = Vec::with_capacity(header.len());
        row.push(s.at.secs_string());
        for (i, _) in &resources {
            let v = s.cluster.get(*i).copied().unwrap_or_default();
            row.extend(v.iter().map(|&x| number(x)));
        }
        if classes <= MAX_CLASS_COLUMNS {
            for k in 0..classes {
                for (i, _) in &resources {
                    let v = s.classes.get(k).and_then(|c| c.get(*i)).copied().unwrap_or(0.0);
                    row.push(number(v));
                }
            }
        }
        for r in 0..roles {
            row.push(number(s.roles.get(r).copied().unwrap_or(0.0)));
        }
        row.push(s.queued.to_string());
        row.push(s.running.to_string());
        row.push(s.offers_made.to_string());
        row.push(s.offers_declined.to_string());
        row.push(s.jain.map(number).unwrap_or_default());
        row
    });
    write_atomic(&dir.join("timeseries.csv"), &csv_bytes(&header, rows)?)
}

/// shares.csv: each framework's mean dominant share per sample interval, in long form
/// (`time_s,framework,role,share`), rows with a zero share left out.
pub fn write_shares(dir: &Path, c: &Collector) -> std::io::Result<()> {
    let header = ["time_s", "framework", "role", "share"].map(str::to_owned);
    let frameworks = c.framework_samples();
    let samples = c.samples();
    let mut rows = Vec::new();
    for (k, s) in samples.iter().enumerate() {
        let time = s.at.secs_string();
        for (name, role, shares) in &frameworks {
            let share = shares.get(k).copied().unwrap_or(0.0);
            if share > 0.0 {
                rows.push(vec![
                    time.clone(),
                    name.clone(),
                    role.clone(),
                    number(f64::from(share)),
                ]);
            }
        }
    }
    write_atomic(&dir.join("shares.csv"), &csv_bytes(&header, rows.into_iter())?)
}

/// agents.csv: one row per agent in name order: its class, resources, seconds it had
/// capacity, per resource the mean allocated and used fraction over that time, and the
/// largest of those allocated means (its busiest resource's).
pub fn write_agents(dir: &Path, c: &Collector) -> std::io::Result<()> {
    let resources = c.resources();
    let mut header: Vec<String> = ["agent", "class", "resources", "up_s"]
        .map(str::to_owned)
        .to_vec();
    for (_, r) in &resources {
        header.push(format!("{r}_allocated_mean"));
        header.push(format!("{r}_used_mean"));
    }
    header.push("busiest_allocated_mean".to_owned());
    let rows = c.agent_rows().into_iter().map(|a| {
        let mut row = vec![a.name, a.class, a.resources, number(a.up_s)];
        for u in &a.utilisation {
            row.push(number(u.allocated_mean));
            row.push(number(u.used_mean));
        }
        row.push(number(a.busiest_mean));
        row
    });
    write_atomic(&dir.join("agents.csv"), &csv_bytes(&header, rows)?)
}

/// Every table above.
pub fn write_tables(dir: &Path, c: &Collector) -> std::io::Result<()> {
    write_timeseries(dir, c)?;
    write_shares(dir, c)?;
    write_agents(dir, c)
}
