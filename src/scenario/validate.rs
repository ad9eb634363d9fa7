//! Checks a typed scenario against everything its types cannot express: references between
//! sections, value ranges and combinations of keys. Every error points at the value at fault.

use std::collections::{BTreeMap, BTreeSet};

use super::de::{Error, suggest};
use super::schema::{
    AgentFault, BurstSpec, DurationDist, EVENT_ACTIONS, FAULT_KINDS, FrameworkKind, FrameworkSpec,
    PROCESSING_KINDS, PartitionSpec, ProcessingSpec, Scenario, SchedulerFault, Start, SyntheticSpec,
    TraceSpec, WorkloadSpec,
};
use super::yaml::{Node, Span};
use crate::resources::{self, Resources};
use crate::time::Duration;
use crate::trace::Format;

/// Finds where to point: the node at `path`, or its deepest ancestor present in the file
/// (a defaulted key points at the map that would hold it).
pub fn span_of(doc: &Node, path: &[&str]) -> Span {
    let mut node = doc;
    for key in path {
        match node.at_path(&[key]) {
            Some(child) => node = child,
            None => break,
        }
    }
    node.span
}

struct Checker<'a> {
    doc: &'a Node,
}

impl Checker<'_> {
    fn err(&self, path: &[&str], msg: impl Into<String>) -> Error {
        Error::at(span_of(self.doc, path), msg)
    }
}

/// A name that ends up in file names and CSV cells: letters, digits, `.`, `_`, `-`, not
/// starting with `.`.
pub fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    match suggest(word, candidates) {
        Some(s) => format!(" (did you mean \"{s}\"?)"),
        None => String::new(),
    }
}

/// Quota and min-allocatable sets are plain quantities: unreserved scalars only.
fn quantities_only(r: &Resources) -> Result<(), String> {
    if r.ranges().next().is_some() {
        return Err(format!(
            "\"{r}\" has ranges; only scalar quantities are allowed here"
        ));
    }
    if r.reserved_roles().next().is_some() {
        return Err(format!(
            "\"{r}\" has reservations; only unreserved quantities are allowed here"
        ));
    }
    Ok(())
}

pub fn validate(s: &Scenario, doc: &Node) -> Result<(), Error> {
    let c = Checker { doc };
    if !plain_name(&s.name) {
        return Err(c.err(
            &["name"],
            format!(
                "invalid name \"{}\": use letters, digits, '.', '_' and '-' (it names the report folder)",
                s.name
            ),
        ));
    }
    if s.duration.is_zero() {
        return Err(c.err(&["duration"], "duration must be more than 0s"));
    }
    check_master(s, &c)?;
    let roles = check_roles(s, &c)?;
    check_network(s, &c)?;
    let mut agents = check_cluster(s, &c, &roles)?;
    for (i, f) in s.frameworks.iter().enumerate() {
        if f.instances == Some(0) {
            return Err(c.err(
                &["frameworks", &i.to_string(), "instances"],
                "instances must be at least 1",
            ));
        }
    }
    let expanded = s.expanded_frameworks();
    let frameworks = check_frameworks(&expanded, &c, &roles)?;
    check_events(s, &c, &roles, &mut agents, &frameworks)?;
    check_faults(s, &c, &frameworks)?;
    Ok(())
}

fn check_master(s: &Scenario, c: &Checker) -> Result<(), Error> {
    let m = &s.master;
    if !crate::allocator::NAMES.contains(&m.allocator.as_str()) {
        return Err(c.err(
            &["master", "allocator"],
            format!(
                "unknown allocator \"{}\"{}",
                m.allocator,
                match suggest(&m.allocator, &crate::allocator::NAMES) {
                    Some(s) => format!(" (did you mean \"{s}\"?)"),
                    None => format!(" (expected one of: {})", crate::allocator::NAMES.join(", ")),
                }
            ),
        ));
    }
    if let Some(i) = s.report.sample_interval
        && (i.is_zero() || i.as_nanos() < s.duration.as_nanos() / 1_000_000)
    {
        return Err(c.err(
            &["report", "sample_interval"],
            "sample_interval must be more than 0s and give at most a million samples over duration",
        ));
    }
    if !(1..=9).contains(&m.masters) {
        return Err(c.err(
            &["master", "masters"],
            format!("masters must be 1 to 9, found {}", m.masters),
        ));
    }
    if m.session_timeout.is_zero() {
        return Err(c.err(
            &["master", "session_timeout"],
            "session_timeout must be more than 0s",
        ));
    }
    if m.offer_timeout.is_some_and(|d| d.is_zero()) {
        return Err(c.err(&["master", "offer_timeout"], "offer_timeout must be more than 0s"));
    }
    if m.allocation_interval.is_zero() {
        return Err(c.err(
            &["master", "allocation_interval"],
            "allocation_interval must be more than 0s",
        ));
    }
    if m.agent_ping_timeout.is_zero() {
        return Err(c.err(
            &["master", "agent_ping_timeout"],
            "agent_ping_timeout must be more than 0s",
        ));
    }
    if m.max_agent_ping_timeouts == 0 {
        return Err(c.err(
            &["master", "max_agent_ping_timeouts"],
            "max_agent_ping_timeouts must be at least 1",
        ));
    }
    for alternative in m.min_allocatable.alternatives() {
        quantities_only(alternative).map_err(|e| c.err(&["master", "min_allocatable"], e))?;
    }
    if let Some(p) = &m.processing {
        check_processing(p, c)?;
    }
    Ok(())
}

/// Costs are microseconds: finite, not negative, at most 1,000 s.
fn check_cost(us: f64, c: &Checker, path: &[&str]) -> Result<(), Error> {
    if !(0.0..=1e9).contains(&us) {
        return Err(c.err(
            path,
            format!(
                "{} must be 0 to 1,000,000,000 microseconds, found {us}",
                path[path.len() - 1]
            ),
        ));
    }
    Ok(())
}

fn check_processing(p: &ProcessingSpec, c: &Checker) -> Result<(), Error> {
    check_cost(p.message_us, c, &["master", "processing", "message_us"])?;
    check_cost(p.event_us, c, &["master", "processing", "event_us"])?;
    for (kind, cost) in &p.kinds {
        let path = ["master", "processing", "kinds", kind.as_str()];
        if !PROCESSING_KINDS.contains(&kind.as_str()) {
            return Err(c.err(
                &path,
                format!(
                    "\"{kind}\" is not a kind of message a master handles{}",
                    match suggest(kind, &PROCESSING_KINDS) {
                        Some(s) => format!(" (did you mean \"{s}\"?)"),
                        None => format!(" (expected one of: {})", PROCESSING_KINDS.join(", ")),
                    }
                ),
            ));
        }
        check_cost(
            cost.message_us,
            c,
            &[path[0], path[1], path[2], path[3], "message_us"],
        )?;
        check_cost(
            cost.event_us,
            c,
            &[path[0], path[1], path[2], path[3], "event_us"],
        )?;
    }
    Ok(())
}

/// Declared roles and their parents, for reference checks.
struct Roles {
    declared: BTreeSet<String>,
}

impl Roles {
    fn knows(&self, role: &str) -> bool {
        role == resources::UNRESERVED_ROLE || self.declared.contains(role)
    }

    fn unknown(&self, c: &Checker, path: &[&str], role: &str) -> Error {
        let names: Vec<&str> = self.declared.iter().map(String::as_str).collect();
        c.err(
            path,
            format!(
                "role \"{role}\" is not declared under roles{}",
                did_you_mean(role, &names)
            ),
        )
    }
}

fn check_roles(s: &Scenario, c: &Checker) -> Result<Roles, Error> {
    let mut declared = BTreeSet::new();
    for (i, role) in s.roles.iter().enumerate() {
        let i = i.to_string();
        match role.instances {
            Some(0) => {
                return Err(c.err(
                    &["roles", i.as_str(), "instances"],
                    "instances must be at least 1",
                ));
            }
            Some(_) if !role.name.contains("{i}") => {
                return Err(c.err(
                    &["roles", i.as_str(), "name"],
                    format!(
                        "\"{}\" declares several roles, so its name needs {{i}} for their numbers",
                        role.name
                    ),
                ));
            }
            _ => {}
        }
    }
    for (i, role) in s.expanded_roles() {
        let i = i.to_string();
        let at = |key: &'static str| vec!["roles", i.as_str(), key];
        if role.name == resources::UNRESERVED_ROLE {
            return Err(c.err(&at("name"), "\"*\" is the default role and cannot be declared"));
        }
        resources::validate_role(&role.name)
            .map_err(|why| c.err(&at("name"), format!("invalid role name \"{}\": {why}", role.name)))?;
        if !declared.insert(role.name.clone()) {
            return Err(c.err(&at("name"), format!("role \"{}\" is declared twice", role.name)));
        }
        if !(role.weight.is_finite() && role.weight > 0.0) {
            return Err(c.err(
                &at("weight"),
                format!("weight must be a positive number, found {}", role.weight),
            ));
        }
        if let Some(quota) = &role.quota {
            check_quota(
                c,
                &["roles", i.as_str(), "quota"],
                &role.name,
                &quota.guarantee,
                &quota.limit,
            )?;
        }
    }
    // Parents of hierarchical roles exist implicitly.
    let parents: Vec<String> = declared
        .iter()
        .flat_map(|r| {
            r.match_indices('/')
                .map(|(i, _)| r[..i].to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    declared.extend(parents);
    Ok(Roles { declared })
}

fn check_quota(
    c: &Checker,
    at: &[&str],
    role: &str,
    guarantee: &Option<Resources>,
    limit: &Option<crate::allocator::Limits>,
) -> Result<(), Error> {
    if role.contains('/') {
        return Err(c.err(
            at,
            format!("quota applies to top-level roles only, and \"{role}\" is nested"),
        ));
    }
    let mut path = at.to_vec();
    if let Some(g) = guarantee {
        path.push("guarantee");
        quantities_only(g).map_err(|e| c.err(&path, e))?;
        path.pop();
    }
    if let (Some(g), Some(l)) = (guarantee, limit) {
        for (name, _, amount) in g.scalars() {
            if l.get(name).is_some_and(|cap| cap < amount) {
                path.push("limit");
                return Err(c.err(
                    &path,
                    format!("the limit {l} is below the guarantee {g} for {name}"),
                ));
            }
        }
    }
    Ok(())
}

fn check_network(s: &Scenario, c: &Checker) -> Result<(), Error> {
    let n = &s.network;
    if n.latency.min > n.latency.max {
        return Err(c.err(
            &["network", "latency", "min"],
            format!("latency min {} is above max {}", n.latency.min, n.latency.max),
        ));
    }
    for (key, p) in [
        ("drop_probability", n.drop_probability),
        ("duplicate_probability", n.duplicate_probability),
    ] {
        if !(0.0..1.0).contains(&p) {
            return Err(c.err(&["network", key], format!("{key} must be in [0, 1), found {p}")));
        }
    }
    Ok(())
}

/// Agent names, in the order they come to exist.
type Agents = BTreeSet<String>;

fn check_reserved_roles(c: &Checker, at: &[&str], r: &Resources, roles: &Roles) -> Result<(), Error> {
    for role in r.reserved_roles() {
        if !roles.knows(role) {
            return Err(roles.unknown(c, at, role));
        }
    }
    Ok(())
}

fn check_cluster(s: &Scenario, c: &Checker, roles: &Roles) -> Result<Agents, Error> {
    let mut classes = BTreeSet::new();
    let mut agents = Agents::new();
    for (i, class) in s.cluster.iter().enumerate() {
        let i = i.to_string();
        let at = |key: &'static str| vec!["cluster", i.as_str(), key];
        if !plain_name(&class.class) {
            return Err(c.err(
                &at("class"),
                format!(
                    "invalid class \"{}\": use letters, digits, '.', '_' and '-'",
                    class.class
                ),
            ));
        }
        if !classes.insert(class.class.clone()) {
            return Err(c.err(
                &at("class"),
                format!("class \"{}\" is declared twice", class.class),
            ));
        }
        if class.resources.is_empty() {
            return Err(c.err(&at("resources"), "a machine needs some resources"));
        }
        check_reserved_roles(c, &at("resources"), &class.resources, roles)?;
        if class.racks == 0 {
            return Err(c.err(&at("racks"), "racks must be at least 1"));
        }
        for n in 1..=class.count {
            agents.insert(format!("{}-{n}", class.class));
        }
    }
    Ok(agents)
}

/// Framework name → its spec, for event checks.
type Frameworks<'a> = BTreeMap<&'a str, &'a FrameworkSpec>;

fn check_frameworks<'a>(
    expanded: &'a [(usize, FrameworkSpec)],
    c: &Checker,
    roles: &Roles,
) -> Result<Frameworks<'a>, Error> {
    let mut seen = Frameworks::new();
    for (i, f) in expanded {
        let i = i.to_string();
        let at = |key: &'static str| vec!["frameworks", i.as_str(), key];
        if !plain_name(&f.name) {
            return Err(c.err(
                &at("name"),
                format!(
                    "invalid framework name \"{}\": use letters, digits, '.', '_' and '-'",
                    f.name
                ),
            ));
        }
        if seen.insert(f.name.as_str(), f).is_some() {
            return Err(c.err(&at("name"), format!("framework \"{}\" is declared twice", f.name)));
        }
        if !roles.knows(&f.role) {
            return Err(roles.unknown(c, &at("role"), &f.role));
        }
        let not_for = |key: &'static str| {
            c.err(
                &at(key),
                format!("\"{key}\" does not apply to {} frameworks", f.kind.name()),
            )
        };
        match f.kind {
            FrameworkKind::Scripted => {
                if f.on_offer.is_none() {
                    return Err(c.err(
                        &["frameworks", i.as_str()],
                        "a scripted framework needs on_offer: hold or decline",
                    ));
                }
                if f.workload.is_some() {
                    return Err(not_for("workload"));
                }
                if f.max_tasks_per_offer.is_some() {
                    return Err(not_for("max_tasks_per_offer"));
                }
                if f.suppress_after.is_some() {
                    return Err(not_for("suppress_after"));
                }
                if f.min_revive_interval.is_some() {
                    return Err(not_for("min_revive_interval"));
                }
                if f.offer_filters.is_some() {
                    return Err(not_for("offer_filters"));
                }
                if f.reconcile_interval.is_some() {
                    return Err(not_for("reconcile_interval"));
                }
                if f.partition_aware.is_some() {
                    return Err(not_for("partition_aware"));
                }
                if f.replace_unreachable_after.is_some() {
                    return Err(not_for("replace_unreachable_after"));
                }
                if f.launch_timeout.is_some() {
                    return Err(not_for("launch_timeout"));
                }
            }
            FrameworkKind::Batch => {
                if f.on_offer.is_some() {
                    return Err(not_for("on_offer"));
                }
                if f.max_tasks_per_offer == Some(0) {
                    return Err(c.err(
                        &at("max_tasks_per_offer"),
                        "max_tasks_per_offer must be at least 1",
                    ));
                }
                match &f.workload {
                    None => {
                        return Err(c.err(&["frameworks", i.as_str()], "a batch framework needs a workload"));
                    }
                    Some(WorkloadSpec::Synthetic(syn)) => {
                        check_synthetic(c, &["frameworks", i.as_str(), "workload", "synthetic"], syn)?;
                    }
                    Some(WorkloadSpec::Trace(t)) => {
                        check_trace(c, &["frameworks", i.as_str(), "workload", "trace"], t)?;
                    }
                }
            }
        }
    }
    Ok(seen)
}

fn check_trace(c: &Checker, at: &[&str], t: &TraceSpec) -> Result<(), Error> {
    let path = |key: &'static str| {
        let mut p = at.to_vec();
        p.push(key);
        p
    };
    let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
    let Some(format) = Format::parse(&t.format) else {
        return Err(c.err(
            &path("format"),
            format!(
                "unknown trace format \"{}\"{}: expected one of {}",
                t.format,
                did_you_mean(&t.format, &names),
                Format::names()
            ),
        ));
    };
    let exists = |key: &'static str, file: &str| -> Result<(), Error> {
        if std::path::Path::new(file).is_file() {
            Ok(())
        } else {
            Err(c.err(&path(key), format!("no such file: {file}")))
        }
    };
    exists("path", &t.path)?;
    if let Some(instances) = &t.instances {
        if format != Format::Alibaba2018 {
            return Err(c.err(&path("instances"), "instances applies to format alibaba2018 only"));
        }
        exists("instances", instances)?;
    }
    match t.machines.as_deref() {
        None => {}
        Some(_) if format == Format::Fitted => {
            return Err(c.err(
                &path("machines"),
                "a fitted workload names no machines: give the scenario's cluster",
            ));
        }
        Some("inferred")
            if !matches!(
                format,
                Format::Google2011 | Format::Swf | Format::Alibaba2018 | Format::Csv
            ) =>
        {
            return Err(c.err(
                &path("machines"),
                format!(
                    "format {} names no machines to infer: give its machine file instead",
                    format.name()
                ),
            ));
        }
        Some("inferred") => {}
        Some(file) => {
            if !matches!(
                format,
                Format::Alibaba2017 | Format::Alibaba2018 | Format::Openb2023
            ) {
                return Err(c.err(
                    &path("machines"),
                    format!(
                        "format {} has no machine file: use machines: inferred, or the scenario's cluster",
                        format.name()
                    ),
                ));
            }
            exists("machines", file)?;
        }
    }
    if t.machine.is_some() && t.machines.as_deref() != Some("inferred") {
        return Err(c.err(&path("machine"), "machine applies only with machines: inferred"));
    }
    for (key, r) in [("machine", &t.machine), ("capacity", &t.capacity)] {
        if let Some(r) = r {
            quantities_only(r).map_err(|e| c.err(&path(key), e))?;
        }
    }
    for (key, v) in [
        ("sample", t.sample),
        ("time_scale", t.time_scale),
        ("load_scale", t.load_scale),
    ] {
        let ok = v.is_finite() && v > 0.0 && (key != "sample" || v <= 1.0);
        if !ok {
            let range = if key == "sample" {
                "in (0, 1]"
            } else {
                "a positive number"
            };
            return Err(c.err(&path(key), format!("{key} must be {range}, found {v}")));
        }
    }
    if let (Some(from), Some(to)) = (t.from, t.to)
        && to <= from
    {
        return Err(c.err(&path("to"), format!("to ({to}) must be after from ({from})")));
    }
    if t.lookahead.is_some_and(|l| l.is_zero()) {
        return Err(c.err(&path("lookahead"), "lookahead must be more than 0s"));
    }
    Ok(())
}

fn check_synthetic(c: &Checker, at: &[&str], syn: &SyntheticSpec) -> Result<(), Error> {
    let path = |key: &'static str| {
        let mut p = at.to_vec();
        p.push(key);
        p
    };
    if let Some(tasks) = &syn.tasks {
        for key in ["arrival_rate_per_s", "count", "duration", "task"] {
            let given = match key {
                "arrival_rate_per_s" => syn.arrival_rate_per_s.is_some(),
                "count" => syn.count.is_some(),
                "duration" => syn.duration.is_some(),
                _ => syn.task.is_some(),
            };
            if given {
                return Err(c.err(
                    &path(key),
                    format!("\"{key}\" does not apply with an explicit task list"),
                ));
            }
        }
        for (j, item) in tasks.iter().enumerate() {
            let j = j.to_string();
            let mut p = path("tasks");
            p.push(&j);
            if item.resources.is_empty() {
                p.push("resources");
                return Err(c.err(&p, "a task needs some resources"));
            }
            p.push("duration");
            check_dist(c, &p, &item.duration)?;
        }
        return Ok(());
    }
    let Some(task) = &syn.task else {
        return Err(c.err(
            at,
            "a synthetic workload needs task (the resources of each task) or tasks (a list)",
        ));
    };
    if task.is_empty() {
        return Err(c.err(&path("task"), "a task needs some resources"));
    }
    let Some(dist) = &syn.duration else {
        return Err(c.err(
            at,
            "a synthetic workload needs duration (how long each task runs)",
        ));
    };
    check_dist(c, &path("duration"), dist)?;
    match (syn.arrival_rate_per_s, syn.count) {
        (Some(rate), _) if !(rate.is_finite() && rate > 0.0) => Err(c.err(
            &path("arrival_rate_per_s"),
            format!("arrival_rate_per_s must be a positive number, found {rate}"),
        )),
        (None, None) => Err(c.err(
            at,
            "a synthetic workload needs arrival_rate_per_s, count, or both",
        )),
        _ => Ok(()),
    }
}

fn check_dist(c: &Checker, at: &[&str], dist: &DurationDist) -> Result<(), Error> {
    match dist {
        DurationDist::Exponential { mean } if mean.is_zero() => {
            Err(c.err(at, "an exponential mean must be more than 0s"))
        }
        DurationDist::Lognormal { median, sigma } => {
            if median.is_zero() {
                return Err(c.err(at, "a lognormal median must be more than 0s"));
            }
            if !(sigma.is_finite() && *sigma >= 0.0) {
                return Err(c.err(
                    at,
                    format!("a lognormal sigma must be a non-negative number, found {sigma}"),
                ));
            }
            Ok(())
        }
        DurationDist::Uniform { min, max } if min > max => {
            Err(c.err(at, format!("a uniform min {min} is above its max {max}")))
        }
        _ => Ok(()),
    }
}

fn check_events(
    s: &Scenario,
    c: &Checker,
    roles: &Roles,
    agents: &mut Agents,
    frameworks: &Frameworks,
) -> Result<(), Error> {
    // Events run in time order, same-time events in file order.
    let mut order: Vec<usize> = (0..s.events.len()).collect();
    order.sort_by_key(|&i| (s.events[i].at, i));
    let mut added_frameworks = BTreeSet::new();
    let framework_names: Vec<&str> = frameworks.keys().copied().collect();
    let unknown_framework = |path: &[&str], name: &str| {
        c.err(
            path,
            format!(
                "no framework is named \"{name}\"{}",
                did_you_mean(name, &framework_names)
            ),
        )
    };
    for i in order {
        let e = &s.events[i];
        let i = i.to_string();
        let at = |key: &'static str| vec!["events", i.as_str(), key];
        if e.at > s.duration {
            return Err(c.err(
                &at("at"),
                format!(
                    "at {} is after the end of the scenario (duration {})",
                    e.at, s.duration
                ),
            ));
        }
        let present = e.present();
        match present.as_slice() {
            [] => {
                return Err(c.err(
                    &["events", i.as_str()],
                    format!("an event needs one action: {}", EVENT_ACTIONS.join(", ")),
                ));
            }
            [_] => {}
            many => {
                return Err(c.err(
                    &at(many[1]),
                    format!(
                        "an event has one action, found {}: write them as separate events",
                        many.join(" and ")
                    ),
                ));
            }
        }
        if let Some(add) = &e.add_agent {
            if !plain_name(&add.name) {
                return Err(c.err(
                    &["events", i.as_str(), "add_agent", "name"],
                    format!("invalid agent name \"{}\"", add.name),
                ));
            }
            if !agents.insert(add.name.clone()) {
                return Err(c.err(
                    &["events", i.as_str(), "add_agent", "name"],
                    format!("an agent named \"{}\" already exists", add.name),
                ));
            }
            if add.resources.is_empty() {
                return Err(c.err(
                    &["events", i.as_str(), "add_agent", "resources"],
                    "a machine needs some resources",
                ));
            }
            check_reserved_roles(
                c,
                &["events", i.as_str(), "add_agent", "resources"],
                &add.resources,
                roles,
            )?;
        }
        if let Some(name) = &e.remove_agent
            && !agents.remove(name)
        {
            let names: Vec<&str> = agents.iter().map(String::as_str).collect();
            return Err(c.err(
                &at("remove_agent"),
                format!(
                    "no agent is named \"{name}\" at {}{}",
                    e.at,
                    did_you_mean(name, &names)
                ),
            ));
        }
        if let Some(name) = &e.add_framework {
            let Some(f) = frameworks.get(name.as_str()) else {
                return Err(unknown_framework(&at("add_framework"), name));
            };
            if f.start != Start::Never {
                return Err(c.err(
                    &at("add_framework"),
                    format!(
                        "framework \"{name}\" already starts by itself; give it start: never to add it here"
                    ),
                ));
            }
            if !added_frameworks.insert(name.clone()) {
                return Err(c.err(
                    &at("add_framework"),
                    format!("framework \"{name}\" is added twice"),
                ));
            }
        }
        if let Some(w) = &e.set_weight {
            if !roles.knows(&w.role) || w.role == resources::UNRESERVED_ROLE {
                return Err(roles.unknown(c, &["events", i.as_str(), "set_weight", "role"], &w.role));
            }
            if !(w.weight.is_finite() && w.weight > 0.0) {
                return Err(c.err(
                    &["events", i.as_str(), "set_weight", "weight"],
                    format!("weight must be a positive number, found {}", w.weight),
                ));
            }
        }
        if let Some(q) = &e.set_quota {
            if !roles.knows(&q.role) || q.role == resources::UNRESERVED_ROLE {
                return Err(roles.unknown(c, &["events", i.as_str(), "set_quota", "role"], &q.role));
            }
            check_quota(
                c,
                &["events", i.as_str(), "set_quota"],
                &q.role,
                &q.guarantee,
                &q.limit,
            )?;
        }
        for (key, name) in [("suppress", &e.suppress), ("revive", &e.revive)] {
            if let Some(name) = name
                && !frameworks.contains_key(name.as_str())
            {
                return Err(unknown_framework(&at(key), name));
            }
        }
    }
    Ok(())
}

/// Decline filters over 365 days are clamped, as Mesos does.
pub fn clamp_refuse(d: Duration) -> Duration {
    d.min(Duration::from_days(365))
}

/// What the names in fault selectors and partition groups may refer to.
struct Targets {
    agents: BTreeSet<String>,
    classes: BTreeSet<String>,
    racks: u32,
    frameworks: BTreeSet<String>,
}

/// The words a partition group may use for every node of a kind.
pub const GROUP_WORDS: [&str; 3] = ["master", "agents", "frameworks"];

impl Targets {
    fn new(s: &Scenario, frameworks: &Frameworks) -> Targets {
        let mut agents = BTreeSet::new();
        for class in &s.cluster {
            for n in 1..=class.count {
                agents.insert(format!("{}-{n}", class.class));
            }
        }
        for e in &s.events {
            if let Some(add) = &e.add_agent {
                agents.insert(add.name.clone());
            }
        }
        Targets {
            agents,
            classes: s.cluster.iter().map(|c| c.class.clone()).collect(),
            racks: s.cluster.iter().map(|c| c.racks).max().unwrap_or(0),
            frameworks: frameworks.keys().map(|k| (*k).to_owned()).collect(),
        }
    }

    fn rack(&self, name: &str) -> bool {
        name.strip_prefix("rack-")
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n >= 1 && n <= self.racks)
    }

    /// The kinds of thing `name` names in a partition group.
    fn kinds(&self, name: &str) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        if GROUP_WORDS.contains(&name) {
            kinds.push("word");
        }
        if self.agents.contains(name) {
            kinds.push("agent");
        }
        if self.classes.contains(name) {
            kinds.push("class");
        }
        if self.rack(name) {
            kinds.push("rack");
        }
        if self.frameworks.contains(name) {
            kinds.push("framework");
        }
        kinds
    }

    fn all_names(&self) -> Vec<&str> {
        GROUP_WORDS
            .iter()
            .copied()
            .chain(self.agents.iter().map(String::as_str))
            .chain(self.classes.iter().map(String::as_str))
            .chain(self.frameworks.iter().map(String::as_str))
            .collect()
    }
}

fn check_faults(s: &Scenario, c: &Checker, frameworks: &Frameworks) -> Result<(), Error> {
    let targets = Targets::new(s, frameworks);
    if let Some(r) = &s.faults.random {
        let at = |key: &'static str| vec!["faults", "random", key];
        for (k, kind) in r.kinds.iter().enumerate() {
            if !FAULT_KINDS.contains(&kind.as_str()) {
                return Err(c.err(
                    &["faults", "random", "kinds", &k.to_string()],
                    format!(
                        "unknown fault kind \"{kind}\"{}",
                        match suggest(kind, &FAULT_KINDS) {
                            Some(s) => format!(" (did you mean \"{s}\"?)"),
                            None => format!(" (expected one of: {})", FAULT_KINDS.join(", ")),
                        }
                    ),
                ));
            }
        }
        if r.kinds.is_empty() {
            return Err(c.err(&at("kinds"), "kinds needs at least one fault kind"));
        }
        let from = r.from.unwrap_or(Duration::ZERO);
        let to = r.to.unwrap_or(s.duration);
        if to > s.duration {
            return Err(c.err(
                &at("to"),
                format!(
                    "to {to} is after the end of the scenario (duration {})",
                    s.duration
                ),
            ));
        }
        if from >= to {
            return Err(c.err(&at("from"), format!("from {from} must be before to {to}")));
        }
        if r.max_down.is_zero() {
            return Err(c.err(&at("max_down"), "max_down must be more than 0s"));
        }
        if !(r.max_fraction > 0.0 && r.max_fraction <= 1.0) {
            return Err(c.err(
                &at("max_fraction"),
                format!("max_fraction must be in (0, 1], found {}", r.max_fraction),
            ));
        }
        if targets.agents.is_empty() && r.kinds.iter().any(|k| k.ends_with("_agents")) {
            return Err(c.err(
                &at("kinds"),
                "agent faults need agents declared in cluster or by add_agent events",
            ));
        }
    }
    for (i, f) in s.faults.list.iter().enumerate() {
        let i = i.to_string();
        let path = |keys: &[&'static str]| {
            let mut p = vec!["faults", i.as_str()];
            p.extend_from_slice(keys);
            p
        };
        if f.at > s.duration {
            return Err(c.err(
                &path(&["at"]),
                format!(
                    "at {} is after the end of the scenario (duration {})",
                    f.at, s.duration
                ),
            ));
        }
        match f.present().as_slice() {
            [] => {
                return Err(c.err(
                    &path(&[]),
                    format!("a fault needs one kind: {}", FAULT_KINDS.join(", ")),
                ));
            }
            [_] => {}
            many => {
                return Err(c.err(
                    &path(&[many[1]]),
                    format!(
                        "a fault has one kind, found {}: write them as separate faults",
                        many.join(" and ")
                    ),
                ));
            }
        }
        for (key, a) in [
            ("crash_agents", &f.crash_agents),
            ("restart_agents", &f.restart_agents),
        ] {
            if let Some(a) = a {
                check_agent_fault(c, &targets, &path(&[key]), a)?;
            }
        }
        if let Some(p) = &f.partition {
            check_partition(c, &targets, &path(&["partition"]), p)?;
        }
        if let Some(b) = &f.network {
            check_burst(c, &path(&["network"]), b)?;
        }
        if let Some(sf) = &f.crash_scheduler {
            check_scheduler_fault(c, &targets, &path(&["crash_scheduler"]), sf)?;
        }
        if f.crash_master.is_some() && s.master.masters < 2 {
            return Err(c.err(
                &path(&["crash_master"]),
                "crash_master needs standby masters to take over: set master.masters to 2 or more",
            ));
        }
    }
    Ok(())
}

fn check_scheduler_fault(c: &Checker, t: &Targets, at: &[&str], f: &SchedulerFault) -> Result<(), Error> {
    let key = |k: &'static str| {
        let mut p = at.to_vec();
        p.push(k);
        p
    };
    if !t.frameworks.contains(&f.framework) {
        let known: Vec<&str> = t.frameworks.iter().map(String::as_str).collect();
        return Err(c.err(
            &key("framework"),
            format!(
                "no framework is named \"{}\"{}",
                f.framework,
                did_you_mean(&f.framework, &known)
            ),
        ));
    }
    if f.back_after.is_some_and(|d| d.is_zero()) {
        return Err(c.err(&key("back_after"), "back_after must be more than 0s"));
    }
    Ok(())
}

fn check_agent_fault(c: &Checker, t: &Targets, at: &[&str], a: &AgentFault) -> Result<(), Error> {
    let key = |k: &'static str| {
        let mut p = at.to_vec();
        p.push(k);
        p
    };
    if let Some(names) = &a.names {
        let filters = [
            ("class", a.class.is_some()),
            ("rack", a.rack.is_some()),
            ("count", a.count.is_some()),
            ("fraction", a.fraction.is_some()),
        ];
        if let Some(&(k, _)) = filters.iter().find(|(_, present)| *present) {
            return Err(c.err(&key(k), format!("names picks the agents itself: leave out {k}")));
        }
        if names.is_empty() {
            return Err(c.err(&key("names"), "names needs at least one agent"));
        }
        let known: Vec<&str> = t.agents.iter().map(String::as_str).collect();
        for (n, name) in names.iter().enumerate() {
            if !t.agents.contains(name) {
                let mut p = key("names");
                let n = n.to_string();
                p.push(&n);
                return Err(c.err(
                    &p,
                    format!("no agent is named \"{name}\"{}", did_you_mean(name, &known)),
                ));
            }
        }
    }
    if let Some(class) = &a.class
        && !t.classes.contains(class)
    {
        let known: Vec<&str> = t.classes.iter().map(String::as_str).collect();
        return Err(c.err(
            &key("class"),
            format!(
                "no machine class is named \"{class}\"{}",
                did_you_mean(class, &known)
            ),
        ));
    }
    if let Some(rack) = &a.rack
        && !t.rack(rack)
    {
        return Err(c.err(
            &key("rack"),
            format!(
                "no rack is named \"{rack}\": racks are rack-1 to rack-{}",
                t.racks.max(1)
            ),
        ));
    }
    if a.count.is_some() && a.fraction.is_some() {
        return Err(c.err(&key("fraction"), "give count or fraction, not both"));
    }
    if a.count == Some(0) {
        return Err(c.err(&key("count"), "count must be at least 1"));
    }
    if let Some(f) = a.fraction
        && !(f > 0.0 && f <= 1.0)
    {
        return Err(c.err(&key("fraction"), format!("fraction must be in (0, 1], found {f}")));
    }
    if a.back_after.is_some_and(|d| d.is_zero()) {
        return Err(c.err(&key("back_after"), "back_after must be more than 0s"));
    }
    if t.agents.is_empty() {
        return Err(c.err(
            at,
            "there are no agents to fail: declare a cluster or add_agent events",
        ));
    }
    Ok(())
}

fn check_partition(c: &Checker, t: &Targets, at: &[&str], p: &PartitionSpec) -> Result<(), Error> {
    let mut path = at.to_vec();
    path.push("groups");
    if p.groups.is_empty() {
        return Err(c.err(&path, "groups needs at least one group"));
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (g, group) in p.groups.iter().enumerate() {
        let g_s = g.to_string();
        if group.is_empty() {
            let mut p = path.clone();
            p.push(&g_s);
            return Err(c.err(&p, "a group needs at least one member"));
        }
        for (m, name) in group.iter().enumerate() {
            let m_s = m.to_string();
            let mut p = path.clone();
            p.push(&g_s);
            p.push(&m_s);
            match t.kinds(name).as_slice() {
                [] => {
                    return Err(c.err(
                        &p,
                        format!(
                            "\"{name}\" names no agent, class, rack, framework, master, agents or frameworks{}",
                            did_you_mean(name, &t.all_names())
                        ),
                    ));
                }
                [_] => {}
                many => {
                    return Err(c.err(
                        &p,
                        format!(
                            "\"{name}\" is ambiguous: it names a {}; rename one",
                            many.join(" and a ")
                        ),
                    ));
                }
            }
            if let Some(other) = seen.insert(name, g)
                && other != g
            {
                return Err(c.err(
                    &p,
                    format!("\"{name}\" is in two groups ({} and {})", other + 1, g + 1),
                ));
            }
        }
    }
    if p.duration.is_some_and(|d| d.is_zero()) {
        let mut p = at.to_vec();
        p.push("duration");
        return Err(c.err(&p, "duration must be more than 0s"));
    }
    Ok(())
}

fn check_burst(c: &Checker, at: &[&str], b: &BurstSpec) -> Result<(), Error> {
    let key = |k: &'static str| {
        let mut p = at.to_vec();
        p.push(k);
        p
    };
    for (k, v) in [("drop", b.drop), ("duplicate", b.duplicate)] {
        if !(0.0..=1.0).contains(&v) {
            return Err(c.err(&key(k), format!("{k} is a probability in [0, 1], found {v}")));
        }
    }
    if let Some(d) = &b.delay
        && d.min > d.max
    {
        return Err(c.err(
            &key("delay"),
            format!("delay min {} is above its max {}", d.min, d.max),
        ));
    }
    if b.duration.is_zero() {
        return Err(c.err(&key("duration"), "duration must be more than 0s"));
    }
    Ok(())
}
