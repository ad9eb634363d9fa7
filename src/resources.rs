//! Mesos-style resources: scalars, ranges and reservations, in Mesos's own text syntax.
//!
//! `cpus:2;mem:1024;ports:[31000-32000];cpus(analytics):4` reads as two unreserved CPUs,
//! 1024 MB of memory, the ports 31000 to 32000 and four CPUs reserved to the role
//! `analytics`. Memory and disk are in MB.
//!
//! Scalars are fixed point: a [`Scalar`] is a `u64` count of thousandths, so sums and
//! differences are exact (`0.1 + 0.2 == 0.3`) and never drift however often an allocator adds
//! and subtracts them. Text is parsed digit by digit, never through `f64`, and rounded half away
//! from zero to three decimals, as Mesos does.
//!
//! A [`Resources`] keeps unreserved cpus, mem, disk and gpus in four inline integers, and
//! every other entry in a sorted `Vec` keyed by (role, name): what tasks and offers mostly
//! hold needs no heap, and the hot operations ([`Resources::contains`], `+=`, `-=`,
//! [`Resources::scalar`]) allocate only for keys not yet present. Its text form ([`fmt::Display`]) is canonical: unreserved
//! entries first, then each role in ascending order; within a group `cpus`, `mem`, `disk`,
//! `gpus`, other scalars by name, then ranges by name.

use std::cmp::Ordering;
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smol_str::SmolStr;

/// Thousandths per unit.
const MILLIS_PER_UNIT: u64 = 1_000;

// ---------------------------------------------------------------------------------------------
// Scalar
// ---------------------------------------------------------------------------------------------

/// A non-negative scalar amount in thousandths (`Scalar::from_millis(500)` is `0.5`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Scalar(u64);

impl Scalar {
    pub const ZERO: Scalar = Scalar(0);
    /// The largest amount, about 1.8e16 units.
    pub const MAX: Scalar = Scalar(u64::MAX);

    /// An amount in thousandths.
    pub const fn from_millis(millis: u64) -> Scalar {
        Scalar(millis)
    }

    /// An amount in whole units; saturates at [`Scalar::MAX`].
    pub const fn from_units(units: u64) -> Scalar {
        Scalar(units.saturating_mul(MILLIS_PER_UNIT))
    }

    /// Rounds to three decimals (half away from zero); negative and NaN become zero, huge
    /// values saturate.
    pub fn from_f64(v: f64) -> Scalar {
        if v.is_nan() || v <= 0.0 {
            return Scalar::ZERO;
        }
        let millis = (v * MILLIS_PER_UNIT as f64).round();
        if millis >= u64::MAX as f64 {
            Scalar::MAX
        } else {
            Scalar(millis as u64)
        }
    }

    /// The amount as a float, for ratios and reports. Never used to order anything.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / MILLIS_PER_UNIT as f64
    }

    /// The amount in thousandths.
    pub const fn millis(self) -> u64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub const fn saturating_sub(self, other: Scalar) -> Scalar {
        Scalar(self.0.saturating_sub(other.0))
    }

    pub const fn checked_add(self, other: Scalar) -> Option<Scalar> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Scalar(v)),
            None => None,
        }
    }

    pub const fn saturating_add(self, other: Scalar) -> Scalar {
        Scalar(self.0.saturating_add(other.0))
    }

    /// Parses a non-negative decimal such as `2`, `0.5` or `.25`, rounding to three decimals.
    pub fn parse(text: &str) -> Result<Scalar, ParseResourcesError> {
        let mut p = Parser::new(text);
        p.skip_ws();
        let v = p.scalar()?;
        p.skip_ws();
        if p.pos < p.end {
            return Err(p.error(p.pos, "unexpected text after the number"));
        }
        Ok(v)
    }
}

impl fmt::Display for Scalar {
    /// Exact decimal, trailing zeros trimmed: `0.5`, `2`, `0.001`, `1024`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = self.0 / MILLIS_PER_UNIT;
        let frac = self.0 % MILLIS_PER_UNIT;
        if frac == 0 {
            write!(f, "{units}")
        } else if frac.is_multiple_of(100) {
            write!(f, "{units}.{}", frac / 100)
        } else if frac.is_multiple_of(10) {
            write!(f, "{units}.{:02}", frac / 10)
        } else {
            write!(f, "{units}.{frac:03}")
        }
    }
}

impl fmt::Debug for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Scalar {
    type Err = ParseResourcesError;
    fn from_str(s: &str) -> Result<Scalar, ParseResourcesError> {
        Scalar::parse(s)
    }
}

impl Add for Scalar {
    type Output = Scalar;
    /// Saturates at [`Scalar::MAX`].
    fn add(self, other: Scalar) -> Scalar {
        self.saturating_add(other)
    }
}

impl AddAssign for Scalar {
    fn add_assign(&mut self, other: Scalar) {
        *self = self.saturating_add(other);
    }
}

impl Sub for Scalar {
    type Output = Scalar;
    /// Saturates at zero.
    fn sub(self, other: Scalar) -> Scalar {
        self.saturating_sub(other)
    }
}

impl SubAssign for Scalar {
    fn sub_assign(&mut self, other: Scalar) {
        *self = self.saturating_sub(other);
    }
}

impl Sum for Scalar {
    fn sum<I: Iterator<Item = Scalar>>(iter: I) -> Scalar {
        iter.fold(Scalar::ZERO, Scalar::saturating_add)
    }
}

// ---------------------------------------------------------------------------------------------
// Roles
// ---------------------------------------------------------------------------------------------

/// The role of unreserved resources in the text syntax.
pub const UNRESERVED_ROLE: &str = "*";

/// Checks a role name for a reservation: ASCII letters, digits and `-_./`, not starting with
/// `.` or `/`, no `//`, not ending with `/`. `*` (unreserved) is not a reservation role.
pub fn validate_role(role: &str) -> Result<(), &'static str> {
    if role.is_empty() {
        return Err("a role may not be empty");
    }
    if !role.bytes().all(is_role_byte) {
        return Err("a role may only hold ASCII letters, digits and `-_./`");
    }
    if role.starts_with(['.', '/']) {
        return Err("a role may not start with `.` or `/`");
    }
    if role.contains("//") {
        return Err("a role may not contain `//`");
    }
    if role.ends_with('/') {
        return Err("a role may not end with `/`");
    }
    Ok(())
}

/// Whether resources reserved to `reserved` may be offered to `role`: the same role or an
/// ancestor of it (`eng` covers `eng/web`, not `engineering`).
pub fn role_covers(reserved: &str, role: &str) -> bool {
    match role.strip_prefix(reserved) {
        Some("") => true,
        Some(rest) => rest.starts_with('/'),
        None => false,
    }
}

fn is_role_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/')
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/')
}

/// `Some("*")` and `None` both mean unreserved.
fn normalize_role(role: Option<&str>) -> Option<&str> {
    role.filter(|r| *r != UNRESERVED_ROLE)
}

// ---------------------------------------------------------------------------------------------
// Entries
// ---------------------------------------------------------------------------------------------

/// Sort rank of an entry inside its role group: the four well-known scalars, other scalars,
/// then ranges. The rank of a well-known scalar implies its name.
/// The well-known scalar names, in their canonical order: `scalars_indexed` numbers them.
pub const WELL_KNOWN: [&str; 4] = ["cpus", "mem", "disk", "gpus"];

const RANK_CPUS: u8 = 0;
const RANK_MEM: u8 = 1;
const RANK_DISK: u8 = 2;
const RANK_GPUS: u8 = 3;
const RANK_OTHER_SCALAR: u8 = 4;
const RANK_RANGES: u8 = 5;

fn scalar_rank(name: &str) -> u8 {
    match name {
        "cpus" => RANK_CPUS,
        "mem" => RANK_MEM,
        "disk" => RANK_DISK,
        "gpus" => RANK_GPUS,
        _ => RANK_OTHER_SCALAR,
    }
}

/// An inclusive range of integers, `first..=last`.
type Range = (u64, u64);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Value {
    Scalar(Scalar),
    /// Sorted, disjoint and non-adjacent ranges.
    Ranges(Vec<Range>),
}

impl Value {
    fn is_empty(&self) -> bool {
        match self {
            Value::Scalar(s) => s.is_zero(),
            Value::Ranges(r) => r.is_empty(),
        }
    }

    fn add(&mut self, other: &Value) {
        match (self, other) {
            (Value::Scalar(a), Value::Scalar(b)) => *a = a.saturating_add(*b),
            (Value::Ranges(a), Value::Ranges(b)) => {
                if !b.is_empty() {
                    *a = ranges_union(a, b);
                }
            }
            _ => unreachable!("the rank of an entry fixes its type"),
        }
    }

    fn sub(&mut self, other: &Value) {
        match (self, other) {
            (Value::Scalar(a), Value::Scalar(b)) => *a = a.saturating_sub(*b),
            (Value::Ranges(a), Value::Ranges(b)) => {
                if !b.is_empty() {
                    *a = ranges_difference(a, b);
                }
            }
            _ => unreachable!("the rank of an entry fixes its type"),
        }
    }

    fn contains(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Scalar(a), Value::Scalar(b)) => a >= b,
            (Value::Ranges(a), Value::Ranges(b)) => ranges_subset(b, a),
            _ => unreachable!("the rank of an entry fixes its type"),
        }
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Entry {
    /// `None` is unreserved.
    role: Option<SmolStr>,
    rank: u8,
    name: SmolStr,
    value: Value,
}

impl Entry {
    fn scalar(name: &str, role: Option<&str>, v: Scalar) -> Entry {
        Entry {
            role: role.map(SmolStr::new),
            rank: scalar_rank(name),
            name: SmolStr::new(name),
            value: Value::Scalar(v),
        }
    }

    fn ranges(name: &str, role: Option<&str>, ranges: Vec<Range>) -> Entry {
        Entry {
            role: role.map(SmolStr::new),
            rank: RANK_RANGES,
            name: SmolStr::new(name),
            value: Value::Ranges(ranges),
        }
    }

    fn role(&self) -> Option<&str> {
        self.role.as_deref()
    }

    /// Compares this entry's key with (role, rank, name): the canonical order.
    #[inline]
    fn cmp_key(&self, role: Option<&str>, rank: u8, name: &str) -> Ordering {
        let by_role = match (self.role.as_deref(), role) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(a), Some(b)) => a.cmp(b),
        };
        by_role.then(self.rank.cmp(&rank)).then_with(|| {
            if rank < RANK_OTHER_SCALAR {
                Ordering::Equal
            } else {
                self.name.as_str().cmp(name)
            }
        })
    }

    #[inline]
    fn cmp_entry(&self, other: &Entry) -> Ordering {
        self.cmp_key(other.role.as_deref(), other.rank, &other.name)
    }
}

/// Advances `*i` past the entries of `entries` (sorted) whose key is below `target`'s and
/// says whether `entries[*i]` has `target`'s key: one comparison per step.
#[inline]
fn seek(entries: &[Entry], i: &mut usize, target: &Entry) -> bool {
    while let Some(e) = entries.get(*i) {
        match e.cmp_entry(target) {
            Ordering::Less => *i += 1,
            Ordering::Equal => return true,
            Ordering::Greater => return false,
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Range sets
// ---------------------------------------------------------------------------------------------

/// Sorts and coalesces overlapping or adjacent ranges.
fn normalize_ranges(ranges: &mut Vec<Range>) {
    ranges.sort_unstable();
    let mut out: usize = 0;
    for i in 0..ranges.len() {
        let (first, last) = ranges[i];
        if out > 0 && first <= ranges[out - 1].1.saturating_add(1) {
            let prev = &mut ranges[out - 1].1;
            *prev = (*prev).max(last);
        } else {
            ranges[out] = (first, last);
            out += 1;
        }
    }
    ranges.truncate(out);
}

fn ranges_union(a: &[Range], b: &[Range]) -> Vec<Range> {
    let mut out: Vec<Range> = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let next = if j == b.len() || (i < a.len() && a[i] <= b[j]) {
            i += 1;
            a[i - 1]
        } else {
            j += 1;
            b[j - 1]
        };
        match out.last_mut() {
            Some(last) if next.0 <= last.1.saturating_add(1) => last.1 = last.1.max(next.1),
            _ => out.push(next),
        }
    }
    out
}

fn ranges_difference(a: &[Range], b: &[Range]) -> Vec<Range> {
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for &(first, last) in a {
        while j < b.len() && b[j].1 < first {
            j += 1;
        }
        let mut cur = first;
        let mut covered_to_end = false;
        let mut k = j;
        while k < b.len() && b[k].0 <= last {
            if b[k].0 > cur {
                out.push((cur, b[k].0 - 1));
            }
            if b[k].1 >= last {
                covered_to_end = true;
                break;
            }
            cur = cur.max(b[k].1 + 1);
            k += 1;
        }
        if !covered_to_end {
            out.push((cur, last));
        }
    }
    out
}

/// Whether every range of `small` lies inside `big` (both normalized).
fn ranges_subset(small: &[Range], big: &[Range]) -> bool {
    let mut j = 0;
    for &(first, last) in small {
        while j < big.len() && big[j].1 < first {
            j += 1;
        }
        match big.get(j) {
            Some(&(f, l)) if f <= first && last <= l => {}
            _ => return false,
        }
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

/// A bundle of resources: scalars and ranges, unreserved or reserved to roles.
///
/// Arithmetic saturates: `a - b` never goes below zero per entry (a scalar that reaches zero
/// disappears, ranges lose their intersection with `b`), and `a + b` saturates at
/// [`Scalar::MAX`]. Ranges are sets: adding overlapping ranges keeps one copy.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Resources {
    /// Unreserved cpus, mem, disk and gpus in thousandths (zero: absent). These four keys
    /// come first in canonical order and are most of what tasks and offers hold, so they are
    /// kept here rather than in `entries`: such resources need no heap at all.
    plain: [u64; 4],
    /// Every other entry, strictly sorted by key (role, rank, name); no zero scalar, no
    /// empty range set, no unreserved well-known scalar.
    entries: Vec<Entry>,
}

/// Whether an entry belongs in [`Resources::plain`].
#[inline]
fn is_plain(role: Option<&str>, rank: u8) -> bool {
    role.is_none() && rank < RANK_OTHER_SCALAR
}

impl Resources {
    /// No resources.
    pub fn new() -> Resources {
        Resources::default()
    }

    /// Parses Mesos's text syntax: `cpus:2;mem:1024;ports:[31000-32000];cpus(eng):4`.
    pub fn parse(text: &str) -> Result<Resources, ParseResourcesError> {
        let mut p = Parser::new(text);
        let mut entries = Vec::new();
        p.resources(&mut entries, false)?;
        Ok(Resources::from_unsorted(entries))
    }

    /// Sorts, merges equal keys and drops empty entries.
    fn from_unsorted(mut entries: Vec<Entry>) -> Resources {
        entries.sort_by(Entry::cmp_entry);
        let mut out: Vec<Entry> = Vec::with_capacity(entries.len());
        for e in entries {
            match out.last_mut() {
                Some(last) if last.cmp_entry(&e) == Ordering::Equal => last.value.add(&e.value),
                _ => out.push(e),
            }
        }
        out.retain(|e| !e.value.is_empty());
        Resources::from_sorted(out)
    }

    /// Resources from canonical entries, the plain ones moved out.
    fn from_sorted(mut entries: Vec<Entry>) -> Resources {
        let mut plain = [0; 4];
        entries.retain(|e| match e.value {
            Value::Scalar(v) if is_plain(e.role(), e.rank) => {
                plain[usize::from(e.rank)] = v.0;
                false
            }
            _ => true,
        });
        Resources { plain, entries }
    }

    /// The plain entries as (rank, amount), non-zero ones only, in canonical order.
    fn plain_entries(&self) -> impl Iterator<Item = (usize, Scalar)> + '_ {
        self.plain
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != 0)
            .map(|(i, v)| (i, Scalar(*v)))
    }

    /// Every entry, the plain ones materialised.
    fn all_entries(&self) -> Vec<Entry> {
        let mut all: Vec<Entry> = self
            .plain_entries()
            .map(|(i, v)| Entry::scalar(WELL_KNOWN[i], None, v))
            .collect();
        all.extend(self.entries.iter().cloned());
        all
    }

    pub fn is_empty(&self) -> bool {
        self.plain == [0; 4] && self.entries.is_empty()
    }

    /// The scalar `name` summed over every role, reserved and unreserved.
    pub fn scalar(&self, name: &str) -> Scalar {
        let rank = scalar_rank(name);
        if rank < RANK_OTHER_SCALAR {
            return self.sum_rank(rank);
        }
        let mut sum = Scalar::ZERO;
        for e in &self.entries {
            if let Value::Scalar(v) = e.value
                && e.rank == rank
                && e.name == name
            {
                sum = sum.saturating_add(v);
            }
        }
        sum
    }

    #[inline]
    fn sum_rank(&self, rank: u8) -> Scalar {
        let mut sum = Scalar(self.plain[usize::from(rank)]);
        for e in &self.entries {
            if let Value::Scalar(v) = e.value
                && e.rank == rank
            {
                sum = sum.saturating_add(v);
            }
        }
        sum
    }

    pub fn cpus(&self) -> Scalar {
        self.sum_rank(RANK_CPUS)
    }

    /// Cpus, mem, disk and gpus, each summed over every role.
    pub fn totals(&self) -> Totals {
        let mut t = Totals(self.plain);
        for e in &self.entries {
            if let Value::Scalar(v) = e.value
                && e.rank < RANK_OTHER_SCALAR
            {
                let slot = &mut t.0[usize::from(e.rank)];
                *slot = slot.saturating_add(v.millis());
            }
        }
        t
    }

    /// The totals, if these resources are nothing but unreserved cpus, mem, disk and gpus:
    /// then `a.contains(b)` for two such is `a.totals().covers(&b.totals())`.
    pub fn plain_totals(&self) -> Option<Totals> {
        self.entries.is_empty().then_some(Totals(self.plain))
    }

    /// Memory in MB.
    pub fn mem(&self) -> Scalar {
        self.sum_rank(RANK_MEM)
    }

    /// Disk in MB.
    pub fn disk(&self) -> Scalar {
        self.sum_rank(RANK_DISK)
    }

    pub fn gpus(&self) -> Scalar {
        self.sum_rank(RANK_GPUS)
    }

    /// Whether every entry of `other` (matched by name and role) fits in ours: scalars are
    /// no larger, ranges are subsets.
    pub fn contains(&self, other: &Resources) -> bool {
        if !Totals(self.plain).covers(&Totals(other.plain)) {
            return false;
        }
        let mine = &self.entries;
        let mut i = 0;
        for o in &other.entries {
            if !seek(mine, &mut i, o) || !mine[i].value.contains(&o.value) {
                return false;
            }
            i += 1;
        }
        true
    }

    /// `self - other`, or `None` unless `self` contains `other`.
    pub fn checked_sub(&self, other: &Resources) -> Option<Resources> {
        self.contains(other).then(|| self - other)
    }

    /// The unreserved part.
    pub fn unreserved(&self) -> Resources {
        let n = self.entries.partition_point(|e| e.role.is_none());
        Resources {
            plain: self.plain,
            entries: self.entries[..n].to_vec(),
        }
    }

    /// What is reserved exactly to `role` (`*` gives the unreserved part).
    pub fn reserved(&self, role: &str) -> Resources {
        let Some(role) = normalize_role(Some(role)) else {
            return self.unreserved();
        };
        Resources {
            plain: [0; 4],
            entries: self
                .entries
                .iter()
                .filter(|e| e.role() == Some(role))
                .cloned()
                .collect(),
        }
    }

    /// The distinct roles holding reservations, in ascending order.
    pub fn reserved_roles(&self) -> impl Iterator<Item = &str> + '_ {
        let mut prev: Option<&str> = None;
        self.entries.iter().filter_map(|e| e.role()).filter(move |r| {
            let fresh = prev != Some(*r);
            prev = Some(r);
            fresh
        })
    }

    /// What a framework in `role` may be offered: the unreserved part plus what is reserved
    /// to `role` or to any of its ancestors.
    pub fn allocatable_to(&self, role: &str) -> Resources {
        Resources {
            plain: self.plain,
            entries: self
                .entries
                .iter()
                .filter(|e| e.role().is_none_or(|r| role_covers(r, role)))
                .cloned()
                .collect(),
        }
    }

    /// The same amounts with every reservation dropped.
    pub fn to_unreserved(&self) -> Resources {
        self.with_role(None)
    }

    /// The same amounts, all reserved to `role` (`*` unreserves). The caller validates `role`.
    pub fn with_reservation(&self, role: &str) -> Resources {
        self.with_role(normalize_role(Some(role)))
    }

    fn with_role(&self, role: Option<&str>) -> Resources {
        let role = role.map(SmolStr::new);
        let entries = self
            .all_entries()
            .into_iter()
            .map(|e| Entry {
                role: role.clone(),
                ..e
            })
            .collect();
        Resources::from_unsorted(entries)
    }

    /// Every scalar entry as (name, role, amount), in canonical order; `None` is unreserved.
    pub fn scalars(&self) -> impl Iterator<Item = (&str, Option<&str>, Scalar)> + '_ {
        let plain = self.plain_entries().map(|(i, v)| (WELL_KNOWN[i], None, v));
        plain.chain(self.entries.iter().filter_map(|e| match e.value {
            Value::Scalar(v) => Some((e.name.as_str(), e.role(), v)),
            Value::Ranges(_) => None,
        }))
    }

    /// Every scalar as (well-known index, name, role, amount): the index is 0, 1, 2, 3 for
    /// cpus, mem, disk, gpus (see [`WELL_KNOWN`]) and `None` for any other name, so that
    /// hot loops can skip comparing names.
    pub fn scalars_indexed(&self) -> impl Iterator<Item = (Option<usize>, &str, Option<&str>, Scalar)> + '_ {
        let plain = self
            .plain_entries()
            .map(|(i, v)| (Some(i), WELL_KNOWN[i], None, v));
        plain.chain(self.entries.iter().filter_map(|e| match e.value {
            Value::Scalar(v) => {
                let known = (usize::from(e.rank) < WELL_KNOWN.len()).then_some(usize::from(e.rank));
                Some((known, e.name.as_str(), e.role(), v))
            }
            Value::Ranges(_) => None,
        }))
    }

    /// Every range entry as (name, role, sorted disjoint inclusive ranges), in canonical order.
    pub fn ranges(&self) -> impl Iterator<Item = (&str, Option<&str>, &[(u64, u64)])> + '_ {
        self.entries.iter().filter_map(|e| match &e.value {
            Value::Ranges(r) => Some((e.name.as_str(), e.role(), r.as_slice())),
            Value::Scalar(_) => None,
        })
    }

    /// The distinct scalar names, in canonical order (`cpus`, `mem`, `disk`, `gpus`, others by
    /// name).
    pub fn scalar_names(&self) -> impl Iterator<Item = &str> + '_ {
        let mut names: Vec<(u8, &str)> = self
            .plain_entries()
            .map(|(i, _)| (i as u8, WELL_KNOWN[i]))
            .chain(
                self.entries
                    .iter()
                    .filter(|e| e.rank < RANK_RANGES)
                    .map(|e| (e.rank, e.name.as_str())),
            )
            .collect();
        names.sort_unstable();
        names.dedup();
        names.into_iter().map(|(_, n)| n)
    }

    fn find(&self, name: &str, role: Option<&str>, rank: u8) -> Result<usize, usize> {
        self.entries.binary_search_by(|e| e.cmp_key(role, rank, name))
    }

    /// Adds `v` to the scalar `name` reserved to `role` (`None` or `*`: unreserved).
    pub fn add_scalar(&mut self, name: &str, role: Option<&str>, v: Scalar) {
        if v.is_zero() {
            return;
        }
        let role = normalize_role(role);
        let rank = scalar_rank(name);
        if is_plain(role, rank) {
            let p = &mut self.plain[usize::from(rank)];
            *p = p.saturating_add(v.0);
            return;
        }
        match self.find(name, role, rank) {
            Ok(i) => self.entries[i].value.add(&Value::Scalar(v)),
            Err(i) => self.entries.insert(i, Entry::scalar(name, role, v)),
        }
    }

    /// Sets the scalar `name` reserved to `role` (`None` or `*`: unreserved); zero removes it.
    pub fn set_scalar(&mut self, name: &str, role: Option<&str>, v: Scalar) {
        let role = normalize_role(role);
        let rank = scalar_rank(name);
        if is_plain(role, rank) {
            self.plain[usize::from(rank)] = v.0;
            return;
        }
        match self.find(name, role, rank) {
            Ok(i) if v.is_zero() => {
                self.entries.remove(i);
            }
            Ok(i) => self.entries[i].value = Value::Scalar(v),
            Err(_) if v.is_zero() => {}
            Err(i) => self.entries.insert(i, Entry::scalar(name, role, v)),
        }
    }

    /// Adds the inclusive range `first..=last` to the range set `name` reserved to `role`
    /// (`None` or `*`: unreserved). Does nothing if `first > last`.
    pub fn add_range(&mut self, name: &str, role: Option<&str>, first: u64, last: u64) {
        if first > last {
            return;
        }
        let role = normalize_role(role);
        let add = Value::Ranges(vec![(first, last)]);
        match self.find(name, role, RANK_RANGES) {
            Ok(i) => self.entries[i].value.add(&add),
            Err(i) => self
                .entries
                .insert(i, Entry::ranges(name, role, vec![(first, last)])),
        }
    }

    /// Scalars multiplied by `num / den`, rounded down to a thousandth (saturating); ranges
    /// untouched. Scalars that round to zero disappear.
    ///
    /// # Panics
    /// If `den` is zero.
    pub fn scaled(&self, num: u64, den: u64) -> Resources {
        assert!(den != 0, "Resources::scaled: zero denominator");
        let scale = |v: u64| {
            let scaled = u128::from(v) * u128::from(num) / u128::from(den);
            u64::try_from(scaled).unwrap_or(u64::MAX)
        };
        let mut entries = self.entries.clone();
        for e in &mut entries {
            if let Value::Scalar(v) = &mut e.value {
                *v = Scalar(scale(v.0));
            }
        }
        entries.retain(|e| !e.value.is_empty());
        Resources {
            plain: self.plain.map(scale),
            entries,
        }
    }

    /// In-place `self += other`; allocates only for keys `self` lacks.
    fn add_in_place(&mut self, other: &Resources) {
        for (mine, theirs) in self.plain.iter_mut().zip(other.plain) {
            *mine = mine.saturating_add(theirs);
        }
        let mut i = 0;
        for o in &other.entries {
            if seek(&self.entries, &mut i, o) {
                self.entries[i].value.add(&o.value);
            } else {
                self.entries.insert(i, o.clone());
            }
            i += 1;
        }
    }

    /// In-place saturating `self -= other`; never allocates for scalars.
    fn sub_in_place(&mut self, other: &Resources) {
        for (mine, theirs) in self.plain.iter_mut().zip(other.plain) {
            *mine = mine.saturating_sub(theirs);
        }
        let mut i = 0;
        let mut emptied = false;
        for o in &other.entries {
            if seek(&self.entries, &mut i, o) {
                let value = &mut self.entries[i].value;
                value.sub(&o.value);
                emptied |= value.is_empty();
                i += 1;
            }
        }
        if emptied {
            self.entries.retain(|e| !e.value.is_empty());
        }
    }
}

impl fmt::Display for Resources {
    /// The canonical text form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (i, v) in self.plain_entries() {
            if !first {
                f.write_str(";")?;
            }
            first = false;
            write!(f, "{}:{v}", WELL_KNOWN[i])?;
        }
        for e in &self.entries {
            if !first {
                f.write_str(";")?;
            }
            first = false;
            f.write_str(&e.name)?;
            if let Some(role) = e.role() {
                write!(f, "({role})")?;
            }
            f.write_str(":")?;
            match &e.value {
                Value::Scalar(v) => write!(f, "{v}")?,
                Value::Ranges(ranges) => {
                    f.write_str("[")?;
                    for (k, (first, last)) in ranges.iter().enumerate() {
                        if k > 0 {
                            f.write_str(",")?;
                        }
                        write!(f, "{first}-{last}")?;
                    }
                    f.write_str("]")?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Resources {
    type Err = ParseResourcesError;
    fn from_str(s: &str) -> Result<Resources, ParseResourcesError> {
        Resources::parse(s)
    }
}

impl AddAssign<&Resources> for Resources {
    fn add_assign(&mut self, other: &Resources) {
        self.add_in_place(other);
    }
}

impl AddAssign<Resources> for Resources {
    fn add_assign(&mut self, other: Resources) {
        self.add_in_place(&other);
    }
}

impl SubAssign<&Resources> for Resources {
    fn sub_assign(&mut self, other: &Resources) {
        self.sub_in_place(other);
    }
}

impl SubAssign<Resources> for Resources {
    fn sub_assign(&mut self, other: Resources) {
        self.sub_in_place(&other);
    }
}

impl Add<&Resources> for Resources {
    type Output = Resources;
    fn add(mut self, other: &Resources) -> Resources {
        self.add_in_place(other);
        self
    }
}

impl Add<Resources> for Resources {
    type Output = Resources;
    fn add(mut self, other: Resources) -> Resources {
        self.add_in_place(&other);
        self
    }
}

impl Add<&Resources> for &Resources {
    type Output = Resources;
    fn add(self, other: &Resources) -> Resources {
        self.clone() + other
    }
}

impl Add<Resources> for &Resources {
    type Output = Resources;
    fn add(self, other: Resources) -> Resources {
        // Ranges are sets and scalars commute, so the sum does not depend on the order.
        other + self
    }
}

impl Sub<&Resources> for Resources {
    type Output = Resources;
    fn sub(mut self, other: &Resources) -> Resources {
        self.sub_in_place(other);
        self
    }
}

impl Sub<Resources> for Resources {
    type Output = Resources;
    fn sub(mut self, other: Resources) -> Resources {
        self.sub_in_place(&other);
        self
    }
}

impl Sub<&Resources> for &Resources {
    type Output = Resources;
    fn sub(self, other: &Resources) -> Resources {
        self.clone() - other
    }
}

impl Sub<Resources> for &Resources {
    type Output = Resources;
    fn sub(self, other: Resources) -> Resources {
        self.clone() - &other
    }
}

impl<'a> Sum<&'a Resources> for Resources {
    fn sum<I: Iterator<Item = &'a Resources>>(iter: I) -> Resources {
        iter.fold(Resources::new(), |acc, r| acc + r)
    }
}

impl Sum for Resources {
    fn sum<I: Iterator<Item = Resources>>(iter: I) -> Resources {
        iter.fold(Resources::new(), |acc, r| acc + r)
    }
}

impl Serialize for Resources {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Resources {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Resources, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Resources;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("resources in Mesos text form, like \"cpus:2;mem:1024\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Resources, E> {
                Resources::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(Visitor)
    }
}

// ---------------------------------------------------------------------------------------------
// Totals
// ---------------------------------------------------------------------------------------------

/// Cpus, mem, disk and gpus in thousandths, reservations summed: resources whose totals do
/// not cover a demand's cannot contain it. Checks on these touch no heap memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Totals(pub [u64; 4]);

impl Totals {
    /// Each of `self` is at least `other`'s.
    #[inline]
    pub fn covers(&self, other: &Totals) -> bool {
        self.0.iter().zip(&other.0).all(|(have, want)| have >= want)
    }
}

// ---------------------------------------------------------------------------------------------
// MinAllocatable
// ---------------------------------------------------------------------------------------------

/// Mesos's `min_allocatable_resources`: alternatives such as `cpus:0.01|mem:32`. Resources
/// are worth offering if, ignoring reservations, they contain any one alternative. The empty
/// list (the default) accepts any non-empty resources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinAllocatable {
    alternatives: Vec<Resources>,
    /// The alternatives as [`Totals`], if none names a scalar beyond cpus, mem, disk and
    /// gpus: checks against an agent's totals then need no walk over its resources.
    totals: Option<Box<[Totals]>>,
}

impl Default for MinAllocatable {
    fn default() -> MinAllocatable {
        MinAllocatable::of(Vec::new())
    }
}

impl MinAllocatable {
    fn of(alternatives: Vec<Resources>) -> MinAllocatable {
        let totals = alternatives.iter().map(Resources::plain_totals).collect();
        MinAllocatable { alternatives, totals }
    }

    /// Mesos's default, `cpus:0.01|mem:32`.
    pub fn mesos_default() -> MinAllocatable {
        MinAllocatable::of(vec![
            Resources {
                plain: [Scalar(10).0, 0, 0, 0],
                entries: Vec::new(),
            },
            Resources {
                plain: [0, Scalar::from_units(32).0, 0, 0],
                entries: Vec::new(),
            },
        ])
    }

    /// Parses alternatives separated by `|`; each may hold only unreserved scalars. Blank
    /// text is the empty list.
    pub fn parse(text: &str) -> Result<MinAllocatable, ParseResourcesError> {
        if text.trim().is_empty() {
            return Ok(MinAllocatable::default());
        }
        let mut alternatives = Vec::new();
        let mut start = 0;
        for piece in text.split('|') {
            let end = start + piece.len();
            let mut p = Parser::new(text);
            p.pos = start;
            p.end = end;
            let mut entries = Vec::new();
            p.resources(&mut entries, true)?;
            let r = Resources::from_unsorted(entries);
            if r.is_empty() {
                return Err(p.error(start, "an alternative is empty"));
            }
            alternatives.push(r);
            start = end + 1;
        }
        Ok(MinAllocatable::of(alternatives))
    }

    /// Whether `r` is worth offering: non-empty and, ignoring reservations, containing at
    /// least one alternative (any non-empty `r` if there are none).
    pub fn is_allocatable(&self, r: &Resources) -> bool {
        if r.is_empty() {
            return false;
        }
        if let Some(alts) = &self.totals {
            let have = r.totals();
            return alts.is_empty() || alts.iter().any(|alt| have.covers(alt));
        }
        self.alternatives
            .iter()
            .any(|alt| alt.scalars().all(|(name, _, v)| r.scalar(name) >= v))
    }

    /// [`MinAllocatable::is_allocatable`] for non-empty resources whose totals are `have`,
    /// if the alternatives name no other scalars (`None`: ask `is_allocatable`).
    pub fn allows(&self, have: &Totals) -> Option<bool> {
        let alts = self.totals.as_deref()?;
        Some(alts.is_empty() || alts.iter().any(|alt| have.covers(alt)))
    }

    pub fn alternatives(&self) -> &[Resources] {
        &self.alternatives
    }

    /// Alternatives as given (quantities: reservations are ignored when checking). An
    /// empty alternative accepts any non-empty resources, like an empty list.
    pub fn new(alternatives: Vec<Resources>) -> MinAllocatable {
        if alternatives.iter().any(Resources::is_empty) {
            return MinAllocatable::default();
        }
        MinAllocatable::of(alternatives)
    }

    /// Whether everything `self` accepts, `other` accepts too: each of `self`'s
    /// alternatives contains one of `other`'s. (A filter replaced by a stricter one can
    /// only offer less; by a looser one, more.)
    pub fn is_stricter_than(&self, other: &MinAllocatable) -> bool {
        if other.alternatives.is_empty() {
            return true;
        }
        !self.alternatives.is_empty()
            && self.alternatives.iter().all(|mine| {
                other
                    .alternatives
                    .iter()
                    .any(|theirs| theirs.scalars().all(|(name, _, v)| mine.scalar(name) >= v))
            })
    }
}

impl fmt::Display for MinAllocatable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, alt) in self.alternatives.iter().enumerate() {
            if i > 0 {
                f.write_str("|")?;
            }
            write!(f, "{alt}")?;
        }
        Ok(())
    }
}

impl FromStr for MinAllocatable {
    type Err = ParseResourcesError;
    fn from_str(s: &str) -> Result<MinAllocatable, ParseResourcesError> {
        MinAllocatable::parse(s)
    }
}

impl Serialize for MinAllocatable {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MinAllocatable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<MinAllocatable, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = MinAllocatable;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("alternatives of scalar resources, like \"cpus:0.01|mem:32\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MinAllocatable, E> {
                MinAllocatable::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(Visitor)
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// Why resources (or a scalar, or min_allocatable alternatives) did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseResourcesError {
    /// The whole text being parsed.
    pub text: String,
    /// Byte offset into `text` where the problem is.
    pub at: usize,
    pub why: String,
}

impl fmt::Display for ParseResourcesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid resources \"{}\": at byte {}: {}",
            self.text, self.at, self.why
        )
    }
}

impl std::error::Error for ParseResourcesError {}

/// A cursor over `text[pos..end]`; errors report offsets into the whole `text`.
struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Parser<'a> {
        Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            end: text.len(),
        }
    }

    fn error(&self, at: usize, why: impl Into<String>) -> ParseResourcesError {
        ParseResourcesError {
            text: self.text.to_owned(),
            at,
            why: why.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        (self.pos < self.end).then(|| self.bytes[self.pos])
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// Advances over bytes matching `keep` and returns them.
    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    /// `entry (';' entry)*`, empty entries allowed. With `scalars_only`, reserved entries and
    /// ranges are errors (for min_allocatable alternatives).
    fn resources(&mut self, out: &mut Vec<Entry>, scalars_only: bool) -> Result<(), ParseResourcesError> {
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Ok(()),
                Some(b';') => {
                    self.pos += 1;
                    continue;
                }
                Some(_) => {}
            }
            let entry_at = self.pos;
            let entry = self.entry()?;
            if scalars_only && (entry.role.is_some() || entry.rank == RANK_RANGES) {
                return Err(self.error(
                    entry_at,
                    "min_allocatable alternatives may only hold unreserved scalars",
                ));
            }
            out.push(entry);
            self.skip_ws();
            match self.peek() {
                None => return Ok(()),
                Some(b';') => self.pos += 1,
                Some(_) => return Err(self.error(self.pos, "expected `;` between resources")),
            }
        }
    }

    /// `name ['(' role ')'] ':' value`
    fn entry(&mut self) -> Result<Entry, ParseResourcesError> {
        let name = self.take_while(is_name_byte);
        if name.is_empty() {
            return Err(self.error(self.pos, "expected a resource name"));
        }
        self.skip_ws();
        let mut role = None;
        if self.peek() == Some(b'(') {
            self.pos += 1;
            self.skip_ws();
            let role_at = self.pos;
            let text =
                self.take_while(|b| !(b.is_ascii_whitespace() || matches!(b, b'(' | b')' | b';' | b':')));
            if text.is_empty() {
                return Err(self.error(role_at, "expected a role"));
            }
            if text != UNRESERVED_ROLE {
                if let Err(why) = validate_role(text) {
                    return Err(self.error(role_at, format!("invalid role \"{text}\": {why}")));
                }
                role = Some(text);
            }
            self.skip_ws();
            if self.peek() != Some(b')') {
                return Err(self.error(self.pos, "expected `)` after the role"));
            }
            self.pos += 1;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error(self.pos, "expected `:` after the role"));
            }
        } else if self.peek() != Some(b':') {
            return Err(self.error(self.pos, "expected `:` or `(` after the resource name"));
        }
        self.pos += 1;
        self.skip_ws();
        match self.peek() {
            Some(b'[') => Ok(Entry::ranges(name, role, self.ranges()?)),
            Some(b'{') => Err(self.error(self.pos, "sets are not supported")),
            _ => Ok(Entry::scalar(name, role, self.scalar()?)),
        }
    }

    /// A non-negative decimal, rounded half away from zero to three decimals.
    fn scalar(&mut self) -> Result<Scalar, ParseResourcesError> {
        let at = self.pos;
        let token = self.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'));
        parse_millis(token).map(Scalar).map_err(|why| self.error(at, why))
    }

    /// `'[' [range (',' range)*] ']'`, returned normalized.
    fn ranges(&mut self) -> Result<Vec<Range>, ParseResourcesError> {
        self.pos += 1; // '['
        let mut ranges = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(ranges);
        }
        loop {
            self.skip_ws();
            let range_at = self.pos;
            let first = self.range_bound()?;
            self.skip_ws();
            if self.peek() != Some(b'-') {
                return Err(self.error(self.pos, "expected `-` in a range"));
            }
            self.pos += 1;
            self.skip_ws();
            let last = self.range_bound()?;
            if first > last {
                return Err(self.error(range_at, "range start is greater than its end"));
            }
            ranges.push((first, last));
            self.skip_ws();
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                Some(b',') => self.pos += 1,
                _ => return Err(self.error(self.pos, "expected `,` or `]` in a range list")),
            }
        }
        normalize_ranges(&mut ranges);
        Ok(ranges)
    }

    fn range_bound(&mut self) -> Result<u64, ParseResourcesError> {
        let at = self.pos;
        let digits = self.take_while(|b| b.is_ascii_digit());
        if digits.is_empty() {
            return Err(self.error(at, "expected a range like 31000-32000"));
        }
        digits
            .bytes()
            .try_fold(0u64, |acc, d| {
                acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            })
            .ok_or_else(|| self.error(at, "range bound too large"))
    }
}

/// Parses a decimal token into thousandths, exactly, rounding half away from zero at the
/// fourth decimal.
fn parse_millis(token: &str) -> Result<u64, &'static str> {
    const NOT_A_NUMBER: &str = "expected a number";
    if let Some(rest) = token.strip_prefix('-')
        && rest.starts_with(|c: char| c.is_ascii_digit() || c == '.')
    {
        return Err("negative values are not allowed");
    }
    if !token.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(NOT_A_NUMBER);
    }
    let (int_part, frac_part) = token.split_once('.').unwrap_or((token, ""));
    if frac_part.contains('.') {
        return Err("a number has at most one decimal point");
    }
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(NOT_A_NUMBER);
    }
    const TOO_LARGE: &str = "number too large";
    let mut millis = int_part
        .bytes()
        .try_fold(0u64, |acc, d| {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .and_then(|units| units.checked_mul(MILLIS_PER_UNIT))
        .ok_or(TOO_LARGE)?;
    let frac = frac_part.as_bytes();
    let mut place = MILLIS_PER_UNIT;
    for &d in frac.iter().take(3) {
        place /= 10;
        millis = millis.checked_add(u64::from(d - b'0') * place).ok_or(TOO_LARGE)?;
    }
    if frac.get(3).is_some_and(|&d| d >= b'5') {
        millis = millis.checked_add(1).ok_or(TOO_LARGE)?;
    }
    Ok(millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(text: &str) -> Resources {
        Resources::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_to_canonical_text() {
        let cases = [
            ("", ""),
            ("   ", ""),
            (
                "cpus:2;mem:1024;disk:512000;gpus:1;foo:3.5",
                "cpus:2;mem:1024;disk:512000;gpus:1;foo:3.5",
            ),
            (
                "foo:3.5;gpus:1;disk:512000;mem:1024;cpus:2",
                "cpus:2;mem:1024;disk:512000;gpus:1;foo:3.5",
            ),
            ("ports:[31000-32000]", "ports:[31000-32000]"),
            (
                "ports:[31010-31020,31000-31005]",
                "ports:[31000-31005,31010-31020]",
            ),
            ("ports:[80-80]", "ports:[80-80]"),
            ("ports:[1-5,6-9]", "ports:[1-9]"),
            ("ports:[1-5,3-4,2-8]", "ports:[1-8]"),
            ("ports:[1-2];ports:[3-4]", "ports:[1-4]"),
            ("ports:[]", ""),
            (
                "cpus(analytics):4;mem(analytics):8192;cpus:2",
                "cpus:2;cpus(analytics):4;mem(analytics):8192",
            ),
            (
                "cpus:2;mem:1024;ports:[31000-32000];cpus(analytics):4;mem(analytics):8192",
                "cpus:2;mem:1024;ports:[31000-32000];cpus(analytics):4;mem(analytics):8192",
            ),
            ("cpus(*):4", "cpus:4"),
            ("cpus(*):4;cpus:1", "cpus:5"),
            ("ports(eng):[1-10]", "ports(eng):[1-10]"),
            (" cpus : 2 ; mem : 1024 ", "cpus:2;mem:1024"),
            ("cpus ( eng ) : 2", "cpus(eng):2"),
            ("ports: [ 1 - 2 , 4 - 5 ]", "ports:[1-2,4-5]"),
            ("cpus:1;cpus:2", "cpus:3"),
            ("cpus:1;;mem:2;", "cpus:1;mem:2"),
            ("cpus:0;mem:1", "mem:1"),
            ("cpus:0.0004", ""),
            ("cpus:0.0005", "cpus:0.001"),
            ("cpus:1.23456", "cpus:1.235"),
            ("cpus:1.2344999", "cpus:1.234"),
            ("cpus:0.9995", "cpus:1"),
            ("cpus:.5", "cpus:0.5"),
            ("cpus:5.", "cpus:5"),
            ("cpus:2.500", "cpus:2.5"),
            ("cpus:007", "cpus:7"),
            ("cpus:0.25;mem:0.001", "cpus:0.25;mem:0.001"),
            (
                "cpus(eng/web):1;cpus(eng):2;cpus(analytics):3",
                "cpus(analytics):3;cpus(eng):2;cpus(eng/web):1",
            ),
            (
                "zeta:1;alpha:2;ports:[1-2];cpus:1;bar:[5-6]",
                "cpus:1;alpha:2;zeta:1;bar:[5-6];ports:[1-2]",
            ),
            ("foo:1;foo:[1-2]", "foo:1;foo:[1-2]"),
            ("cpus(a-b_c.d/e1):1", "cpus(a-b_c.d/e1):1"),
            ("mem:18446744073709551.615", "mem:18446744073709551.615"),
            ("ports:[0-18446744073709551615]", "ports:[0-18446744073709551615]"),
        ];
        for (text, canonical) in cases {
            assert_eq!(r(text).to_string(), canonical, "{text:?}");
            assert_eq!(r(canonical).to_string(), canonical, "{canonical:?}");
        }
    }

    #[test]
    fn rejects_bad_text_with_position_and_reason() {
        let cases = [
            ("cpus:x", 5, "expected a number"),
            ("cpus:", 5, "expected a number"),
            ("cpus: ", 6, "expected a number"),
            ("cpus:-1", 5, "negative values are not allowed"),
            ("cpus:-0.5", 5, "negative values are not allowed"),
            ("cpus:nan", 5, "expected a number"),
            ("cpus:NaN", 5, "expected a number"),
            ("cpus:inf", 5, "expected a number"),
            ("cpus:1e3", 5, "expected a number"),
            ("cpus:.", 5, "expected a number"),
            ("cpus:+1", 5, "expected a number"),
            ("cpus:1.2.3", 5, "a number has at most one decimal point"),
            ("cpus:99999999999999999", 5, "number too large"),
            ("mem:18446744073709551.616", 4, "number too large"),
            ("mem:18446744073709551.6155", 4, "number too large"),
            ("cpus:1 mem:2", 7, "expected `;` between resources"),
            ("cpus:1,mem:2", 6, "expected `;` between resources"),
            (":1", 0, "expected a resource name"),
            ("cpus:1;(eng):1", 7, "expected a resource name"),
            ("cpus", 4, "expected `:` or `(` after the resource name"),
            ("cpus 1", 5, "expected `:` or `(` after the resource name"),
            ("cpus():1", 5, "expected a role"),
            (
                "cpus(eng//web):1",
                5,
                "invalid role \"eng//web\": a role may not contain `//`",
            ),
            (
                "cpus(/eng):1",
                5,
                "invalid role \"/eng\": a role may not start with `.` or `/`",
            ),
            (
                "cpus(.eng):1",
                5,
                "invalid role \".eng\": a role may not start with `.` or `/`",
            ),
            (
                "cpus(eng/):1",
                5,
                "invalid role \"eng/\": a role may not end with `/`",
            ),
            (
                "cpus(en$g):1",
                5,
                "invalid role \"en$g\": a role may only hold ASCII letters, digits and `-_./`",
            ),
            (
                "cpus(**):1",
                5,
                "invalid role \"**\": a role may only hold ASCII letters, digits and `-_./`",
            ),
            ("cpus(eng:1", 8, "expected `)` after the role"),
            ("cpus(eng web):1", 9, "expected `)` after the role"),
            ("cpus(eng)1", 9, "expected `:` after the role"),
            ("ports:[1-2", 10, "expected `,` or `]` in a range list"),
            ("ports:[5-1]", 7, "range start is greater than its end"),
            ("ports:[a-1]", 7, "expected a range like 31000-32000"),
            ("ports:[1:2]", 8, "expected `-` in a range"),
            ("ports:[1-2,]", 11, "expected a range like 31000-32000"),
            ("ports:[1-]", 9, "expected a range like 31000-32000"),
            ("ports:[-1-2]", 7, "expected a range like 31000-32000"),
            ("ports:[1-99999999999999999999]", 9, "range bound too large"),
            ("disks:{a,b}", 6, "sets are not supported"),
        ];
        for (text, at, why) in cases {
            let err = Resources::parse(text).unwrap_err();
            assert_eq!((err.at, err.why.as_str()), (at, why), "{text:?}");
            assert_eq!(err.text, text);
        }
    }

    #[test]
    fn errors_print_text_position_and_reason() {
        let err = Resources::parse("cpus:x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid resources \"cpus:x\": at byte 5: expected a number"
        );
    }

    #[test]
    fn scalars_parse_and_print_exactly() {
        let cases = [
            ("0", 0),
            ("0.5", 500),
            ("2", 2000),
            ("0.001", 1),
            ("1024", 1_024_000),
            ("0.25", 250),
            ("1.0005", 1001),
            ("1.0004999", 1000),
        ];
        for (text, millis) in cases {
            let s: Scalar = text.parse().unwrap();
            assert_eq!(s.millis(), millis, "{text}");
        }
        for (millis, text) in [(500, "0.5"), (2000, "2"), (1, "0.001"), (10, "0.01"), (0, "0")] {
            assert_eq!(Scalar::from_millis(millis).to_string(), text);
            assert_eq!(format!("{:?}", Scalar::from_millis(millis)), text);
        }
        assert_eq!(" 1.5 ".parse::<Scalar>(), Ok(Scalar::from_millis(1500)));
        assert_eq!(
            "1 2".parse::<Scalar>().unwrap_err().why,
            "unexpected text after the number"
        );
        assert_eq!("-1".parse::<Scalar>().unwrap_err().at, 0);
    }

    #[test]
    fn scalar_conversions() {
        assert_eq!(Scalar::from_units(3), Scalar::from_millis(3000));
        assert_eq!(Scalar::from_units(u64::MAX), Scalar::MAX);
        assert_eq!(Scalar::from_f64(0.1), Scalar::from_millis(100));
        assert_eq!(Scalar::from_f64(0.0015), Scalar::from_millis(2));
        assert_eq!(Scalar::from_f64(-1.0), Scalar::ZERO);
        assert_eq!(Scalar::from_f64(f64::NAN), Scalar::ZERO);
        assert_eq!(Scalar::from_f64(f64::INFINITY), Scalar::MAX);
        assert_eq!(Scalar::from_millis(1500).as_f64(), 1.5);
        assert_eq!(Scalar::MAX.checked_add(Scalar::from_millis(1)), None);
        assert_eq!(Scalar::MAX.saturating_add(Scalar::from_millis(1)), Scalar::MAX);
        assert_eq!(
            Scalar::from_millis(1).saturating_sub(Scalar::from_millis(2)),
            Scalar::ZERO
        );
    }

    #[test]
    fn fractional_cpus_do_not_drift() {
        let start = r("cpus:4;mem:1024");
        let tenth = r("cpus:0.1");
        let mut x = start.clone();
        for _ in 0..10_000 {
            x += &tenth;
        }
        assert_eq!(x.cpus(), Scalar::from_units(1004));
        for _ in 0..10_000 {
            x -= &tenth;
        }
        assert_eq!(x, start);
        assert_eq!(r("cpus:0.1") + r("cpus:0.2"), r("cpus:0.3"));
        assert_eq!(
            "0.1".parse::<Scalar>().unwrap() + "0.2".parse::<Scalar>().unwrap(),
            "0.3".parse::<Scalar>().unwrap()
        );
    }

    #[test]
    fn accessors_sum_over_roles() {
        let x = r("cpus:1;mem:100;foo:2;cpus(eng):2;foo(eng):0.5;ports:[1-3];gpus(a):1");
        assert_eq!(x.cpus(), Scalar::from_units(3));
        assert_eq!(x.scalar("cpus"), Scalar::from_units(3));
        assert_eq!(x.mem(), Scalar::from_units(100));
        assert_eq!(x.disk(), Scalar::ZERO);
        assert_eq!(x.gpus(), Scalar::from_units(1));
        assert_eq!(x.scalar("foo"), Scalar::from_millis(2500));
        assert_eq!(x.scalar("ports"), Scalar::ZERO);
        assert_eq!(x.reserved_roles().collect::<Vec<_>>(), ["a", "eng"]);
        assert_eq!(
            x.scalar_names().collect::<Vec<_>>(),
            ["cpus", "mem", "gpus", "foo"]
        );
        assert_eq!(
            x.scalars().collect::<Vec<_>>(),
            [
                ("cpus", None, Scalar::from_units(1)),
                ("mem", None, Scalar::from_units(100)),
                ("foo", None, Scalar::from_units(2)),
                ("gpus", Some("a"), Scalar::from_units(1)),
                ("cpus", Some("eng"), Scalar::from_units(2)),
                ("foo", Some("eng"), Scalar::from_millis(500)),
            ]
        );
        assert_eq!(
            x.ranges().collect::<Vec<_>>(),
            [("ports", None, &[(1u64, 3u64)][..])]
        );
        assert_eq!(x.unreserved(), r("cpus:1;mem:100;foo:2;ports:[1-3]"));
        assert_eq!(x.reserved("eng"), r("cpus(eng):2;foo(eng):0.5"));
        assert_eq!(x.reserved("*"), x.unreserved());
        assert_eq!(x.reserved("nobody"), Resources::new());
        assert_eq!(x.to_unreserved(), r("cpus:3;mem:100;foo:2.5;ports:[1-3];gpus:1"));
        assert_eq!(
            x.with_reservation("z"),
            r("cpus(z):3;mem(z):100;foo(z):2.5;ports(z):[1-3];gpus(z):1")
        );
        assert_eq!(x.with_reservation("*"), x.to_unreserved());
        assert!(Resources::new().is_empty());
        assert!(!x.is_empty());
    }

    #[test]
    fn setters_keep_canonical_order() {
        let mut x = Resources::new();
        x.add_scalar("mem", None, Scalar::from_units(10));
        x.add_scalar("cpus", Some("eng"), Scalar::from_units(1));
        x.add_scalar("cpus", Some("*"), Scalar::from_units(2));
        x.add_scalar("cpus", None, Scalar::from_units(1));
        x.add_scalar("zz", None, Scalar::ZERO);
        x.add_range("ports", None, 10, 20);
        x.add_range("ports", None, 21, 30);
        x.add_range("ports", None, 5, 1);
        assert_eq!(x.to_string(), "cpus:3;mem:10;ports:[10-30];cpus(eng):1");
        x.set_scalar("mem", None, Scalar::ZERO);
        x.set_scalar("disk", None, Scalar::from_units(7));
        x.set_scalar("cpus", Some("eng"), Scalar::from_units(5));
        x.set_scalar("gpus", None, Scalar::ZERO);
        assert_eq!(x.to_string(), "cpus:3;disk:7;ports:[10-30];cpus(eng):5");
        assert_eq!(Resources::parse(&x.to_string()), Ok(x));
    }

    #[test]
    fn subtraction_saturates_and_removes_zeros() {
        assert_eq!(r("cpus:1;mem:10") - r("cpus:2"), r("mem:10"));
        assert_eq!(r("cpus:1;mem:10") - r("cpus(eng):1"), r("cpus:1;mem:10"));
        assert_eq!(r("ports:[1-10]") - r("ports:[3-4,9-12]"), r("ports:[1-2,5-8]"));
        assert_eq!(r("ports:[1-10]") - r("ports:[0-20]"), Resources::new());
        assert_eq!(r("cpus:2").checked_sub(&r("cpus:3")), None);
        assert_eq!(r("cpus:2").checked_sub(&r("cpus:0.5")), Some(r("cpus:1.5")));
        assert!(r("ports:[1-10,20-30]").contains(&r("ports:[2-3,25-30]")));
        assert!(!r("ports:[1-10,20-30]").contains(&r("ports:[9-21]")));
        assert!(!r("cpus(eng):4").contains(&r("cpus:1")));
        assert!(r("cpus:4").contains(&Resources::new()));
    }

    #[test]
    fn scaled_rounds_down_and_keeps_ranges() {
        let x = r("cpus:1;mem:1000;foo:0.001;ports:[1-2]");
        assert_eq!(x.scaled(1, 3), r("cpus:0.333;mem:333.333;ports:[1-2]"));
        assert_eq!(x.scaled(2, 1), r("cpus:2;mem:2000;foo:0.002;ports:[1-2]"));
        assert_eq!(x.scaled(0, 1), r("ports:[1-2]"));
        assert_eq!(r("mem:18446744073709551").scaled(10, 1).mem(), Scalar::MAX);
    }

    #[test]
    fn allocatable_to_follows_role_hierarchy() {
        let x = r("cpus:1;cpus(eng):2;cpus(eng/web):4;cpus(eng/webx):8;\
             cpus(engineering):16;cpus(analytics):32;cpus(eng/web/api):64");
        let cases = [
            ("eng/web", "cpus:1;cpus(eng):2;cpus(eng/web):4"),
            ("eng/web/x", "cpus:1;cpus(eng):2;cpus(eng/web):4"),
            (
                "eng/web/api",
                "cpus:1;cpus(eng):2;cpus(eng/web):4;cpus(eng/web/api):64",
            ),
            ("eng", "cpus:1;cpus(eng):2"),
            ("engineering", "cpus:1;cpus(engineering):16"),
            ("other", "cpus:1"),
        ];
        for (role, want) in cases {
            assert_eq!(x.allocatable_to(role), r(want), "{role}");
        }
        assert!(role_covers("eng", "eng/web"));
        assert!(role_covers("eng", "eng"));
        assert!(!role_covers("eng", "engineering"));
        assert!(!role_covers("eng/web", "eng"));
    }

    #[test]
    fn min_allocatable() {
        let m = MinAllocatable::parse("cpus:0.01|mem:32").unwrap();
        assert_eq!(m, MinAllocatable::mesos_default());
        assert_eq!(m.alternatives(), [r("cpus:0.01"), r("mem:32")]);
        assert_eq!(m.to_string(), "cpus:0.01|mem:32");
        assert!(!m.is_allocatable(&r("cpus:0.005;mem:16")));
        assert!(m.is_allocatable(&r("mem:40")));
        assert!(m.is_allocatable(&r("cpus(r):1")));
        assert!(m.is_allocatable(&r("mem(a):16;mem(b):16")));
        assert!(!m.is_allocatable(&r("ports:[1-100]")));
        assert!(!m.is_allocatable(&Resources::new()));

        let both = MinAllocatable::parse(" cpus:1;mem:64 | gpus:1 ").unwrap();
        assert!(both.is_allocatable(&r("cpus:1;mem:64")));
        assert!(!both.is_allocatable(&r("cpus:1;mem:63")));
        assert!(both.is_allocatable(&r("gpus(x):1")));

        let any = MinAllocatable::default();
        assert_eq!(MinAllocatable::parse("  "), Ok(any.clone()));
        assert!(any.is_allocatable(&r("ports:[1-1]")));
        assert!(!any.is_allocatable(&Resources::new()));

        let errors = [
            (
                "cpus:1|cpus(r):1",
                7,
                "min_allocatable alternatives may only hold unreserved scalars",
            ),
            (
                "ports:[1-2]",
                0,
                "min_allocatable alternatives may only hold unreserved scalars",
            ),
            ("cpus:1| ", 7, "an alternative is empty"),
            ("cpus:1||mem:2", 7, "an alternative is empty"),
            ("cpus:1|mem:x", 11, "expected a number"),
        ];
        for (text, at, why) in errors {
            let err = MinAllocatable::parse(text).unwrap_err();
            assert_eq!((err.at, err.why.as_str(), err.text.as_str()), (at, why, text));
        }
    }

    #[test]
    fn min_allocatable_strictness() {
        let m = |t: &str| MinAllocatable::parse(t).unwrap();
        let any = MinAllocatable::default();
        // Raising a bound, or dropping an alternative, is stricter; the reverse is looser.
        assert!(m("cpus:2;mem:64").is_stricter_than(&m("cpus:1;mem:64")));
        assert!(!m("cpus:1;mem:64").is_stricter_than(&m("cpus:2;mem:64")));
        assert!(m("cpus:1").is_stricter_than(&m("cpus:1|mem:32")));
        assert!(!m("cpus:1|mem:32").is_stricter_than(&m("cpus:1")));
        assert!(m("cpus:1;mem:32").is_stricter_than(&m("mem:32")));
        assert!(!m("cpus:1").is_stricter_than(&m("mem:32")));
        // Accepting anything is the loosest filter.
        assert!(m("cpus:1").is_stricter_than(&any));
        assert!(any.is_stricter_than(&any));
        assert!(!any.is_stricter_than(&m("cpus:0.01")));
        // An empty alternative accepts anything.
        assert_eq!(MinAllocatable::new(vec![r("cpus:1"), Resources::new()]), any);
    }

    #[test]
    fn serde_uses_the_text_form() {
        let x = r("cpus:2;ports:[1-2];mem(eng):0.5");
        let json = serde_json::to_string(&x).unwrap();
        assert_eq!(json, "\"cpus:2;ports:[1-2];mem(eng):0.5\"");
        assert_eq!(serde_json::from_str::<Resources>(&json).unwrap(), x);
        let err = serde_json::from_str::<Resources>("\"cpus:x\"").unwrap_err();
        assert!(err.to_string().contains("at byte 5: expected a number"), "{err}");

        let m = MinAllocatable::mesos_default();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, "\"cpus:0.01|mem:32\"");
        assert_eq!(serde_json::from_str::<MinAllocatable>(&json).unwrap(), m);
    }

    #[test]
    fn validates_roles() {
        assert_eq!(validate_role("eng/web-1_a.b"), Ok(()));
        assert!(validate_role("").is_err());
        assert!(validate_role("*").is_err());
        assert!(validate_role("a b").is_err());
    }

    // ----- property tests -----

    const NAMES: [&str; 7] = ["cpus", "mem", "disk", "gpus", "foo", "bar_2", "a.b"];
    const RANGE_NAMES: [&str; 2] = ["ports", "ephemeral"];
    const ROLES: [&str; 5] = ["eng", "eng/web", "analytics", "a-b_c.d/x", "eng/web/api"];

    /// A scalar with 0–3 decimals.
    fn scalar_strategy() -> impl Strategy<Value = Scalar> {
        (0u64..100_000, 0u32..=3, 0u64..1000).prop_map(|(units, decimals, frac)| {
            let step = 10u64.pow(3 - decimals);
            let frac = if decimals == 0 { 0 } else { frac / step * step };
            Scalar::from_millis(units * 1000 + frac)
        })
    }

    #[derive(Clone, Debug)]
    enum Item {
        Scalar(&'static str, Option<&'static str>, Scalar),
        Range(&'static str, Option<&'static str>, u64, u64),
    }

    impl Item {
        fn text(&self) -> String {
            let role = |r: &Option<&str>| r.map(|r| format!("({r})")).unwrap_or_default();
            match self {
                Item::Scalar(n, r, v) => format!("{n}{}:{v}", role(r)),
                Item::Range(n, r, a, b) => format!("{n}{}:[{a}-{b}]", role(r)),
            }
        }
    }

    /// Entries over 0–2 roles (some hierarchical), built item by item.
    fn items_strategy() -> impl Strategy<Value = Vec<Item>> {
        proptest::sample::subsequence(ROLES.to_vec(), 0..=2).prop_flat_map(|roles| {
            let mut role_choices: Vec<Option<&'static str>> = vec![None];
            role_choices.extend(roles.into_iter().map(Some));
            let role = proptest::sample::select(role_choices);
            let scalar = (
                proptest::sample::select(NAMES.to_vec()),
                role.clone(),
                scalar_strategy(),
            )
                .prop_map(|(n, r, v)| Item::Scalar(n, r, v));
            let range = (
                proptest::sample::select(RANGE_NAMES.to_vec()),
                role,
                0u64..2000,
                0u64..60,
            )
                .prop_map(|(n, r, a, len)| Item::Range(n, r, a, a + len));
            proptest::collection::vec(prop_oneof![3 => scalar, 1 => range], 0..10)
        })
    }

    fn build(items: &[Item]) -> Resources {
        let mut x = Resources::new();
        for item in items {
            match *item {
                Item::Scalar(n, r, v) => x.add_scalar(n, r, v),
                Item::Range(n, r, a, b) => x.add_range(n, r, a, b),
            }
        }
        x
    }

    fn resources_strategy() -> impl Strategy<Value = Resources> {
        items_strategy().prop_map(|items| build(&items))
    }

    /// A pair where `b` is often contained in `a`.
    fn pair_strategy() -> impl Strategy<Value = (Resources, Resources)> {
        prop_oneof![
            (resources_strategy(), resources_strategy()),
            (resources_strategy(), resources_strategy()).prop_map(|(a, c)| {
                let b = &a - &c;
                (a, b)
            }),
            (resources_strategy(), 0u64..=4).prop_map(|(a, k)| {
                let b = a.scaled(k, 4);
                (a, b)
            }),
        ]
    }

    fn ranges_part(x: &Resources) -> Resources {
        Resources {
            plain: [0; 4],
            entries: x
                .entries
                .iter()
                .filter(|e| e.rank == RANK_RANGES)
                .cloned()
                .collect(),
        }
    }

    fn assert_invariants(x: &Resources) {
        for w in x.entries.windows(2) {
            assert_eq!(w[0].cmp_entry(&w[1]), Ordering::Less, "{x}");
        }
        for e in &x.entries {
            assert!(!e.value.is_empty(), "{x}");
            assert!(
                !(is_plain(e.role(), e.rank) && matches!(e.value, Value::Scalar(_))),
                "{x}: an unreserved well-known scalar outside `plain`"
            );
            if let Value::Ranges(ranges) = &e.value {
                let mut n = ranges.clone();
                normalize_ranges(&mut n);
                assert_eq!(&n, ranges, "{x}");
            }
        }
    }

    proptest! {
        #[test]
        fn print_then_parse_is_identity(x in resources_strategy()) {
            assert_invariants(&x);
            let text = x.to_string();
            prop_assert_eq!(Resources::parse(&text), Ok(x.clone()));
            prop_assert_eq!(Resources::parse(&text).unwrap().to_string(), text);
        }

        #[test]
        fn any_order_and_spacing_parses_to_the_sum(
            items in items_strategy(),
            spaces in proptest::collection::vec(0usize..3, 40),
            order in any::<u64>(),
        ) {
            let want = build(&items);
            let mut texts: Vec<String> = items.iter().map(Item::text).collect();
            // A deterministic shuffle from the drawn seed.
            let mut seed = order;
            for i in (1..texts.len()).rev() {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                texts.swap(i, (seed >> 33) as usize % (i + 1));
            }
            let mut text = String::new();
            for (i, t) in texts.iter().enumerate() {
                let pad = " ".repeat(spaces[i % spaces.len()]);
                if i > 0 {
                    text.push_str(&pad);
                    text.push(';');
                }
                text.push_str(&pad);
                text.push_str(&t.replace(':', &format!("{pad}:{pad}")));
            }
            prop_assert_eq!(Resources::parse(&text), Ok(want));
        }

        #[test]
        fn subtraction_never_goes_negative((a, b) in pair_strategy()) {
            let d = &a - &b;
            assert_invariants(&d);
            for (name, role, v) in d.scalars() {
                let mut only = Resources::new();
                only.set_scalar(name, role, v);
                prop_assert!(a.contains(&only));
            }
            prop_assert!(a.contains(&d));
            for name in d.scalar_names() {
                prop_assert!(d.scalar(name) <= a.scalar(name));
            }
        }

        #[test]
        fn contains_agrees_with_subtraction((a, b) in pair_strategy()) {
            let round_trip = (a.clone() - &b) + &b;
            prop_assert_eq!(a.contains(&b), round_trip == a);
            prop_assert_eq!(a.contains(&b), a.checked_sub(&b).is_some());
            if let Some(d) = a.checked_sub(&b) {
                prop_assert_eq!(d + &b, a);
            }
        }

        #[test]
        fn addition_undoes_and_commutes(
            a in resources_strategy(),
            b in resources_strategy(),
            c in resources_strategy(),
        ) {
            let sum = &a + &b;
            assert_invariants(&sum);
            prop_assert!(sum.contains(&a) && sum.contains(&b));
            prop_assert_eq!(&sum, &(&b + &a));
            prop_assert_eq!((&a + &b) + &c, &a + &(&b + &c));
            // Ranges are sets: (a + b) - b gives back a when b's ranges miss a's.
            let b_disjoint = &b - &ranges_part(&a);
            prop_assert_eq!((&a + &b_disjoint) - &b_disjoint, a.clone());
            let mut in_place = a.clone();
            in_place += &b_disjoint;
            in_place -= &b_disjoint;
            prop_assert_eq!(in_place, a);
        }

        #[test]
        fn plain_totals_decide_containment((a, b) in pair_strategy()) {
            match (a.plain_totals(), b.plain_totals()) {
                (Some(ta), Some(tb)) => prop_assert_eq!(ta.covers(&tb), a.contains(&b)),
                (Some(_), None) => prop_assert!(!a.contains(&b)),
                (None, _) => {}
            }
            let t = a.totals();
            for (i, name) in ["cpus", "mem", "disk", "gpus"].into_iter().enumerate() {
                prop_assert_eq!(t.0[i], a.scalar(name).millis());
            }
        }

        #[test]
        fn min_allocatable_by_totals_matches_by_names(
            alts in proptest::collection::vec(resources_strategy(), 0..4),
            r in resources_strategy(),
        ) {
            let scalars_only = |a: Resources| Resources {
                plain: a.plain,
                entries: a.entries.into_iter().filter(|e| e.rank < RANK_RANGES).collect(),
            };
            let alts: Vec<Resources> = alts.into_iter().map(scalars_only).collect();
            let m = MinAllocatable::new(alts.clone());
            let by_names = !r.is_empty()
                && (m.alternatives().is_empty()
                    || m.alternatives()
                        .iter()
                        .any(|alt| alt.scalars().all(|(name, _, v)| r.scalar(name) >= v)));
            prop_assert_eq!(m.is_allocatable(&r), by_names);
            if !r.is_empty()
                && let Some(allowed) = m.allows(&r.totals())
            {
                prop_assert_eq!(allowed, by_names);
            }
        }

        #[test]
        fn scalars_round_trip_through_text(m in any::<u64>()) {
            let s = Scalar::from_millis(m);
            prop_assert_eq!(s.to_string().parse::<Scalar>(), Ok(s));
        }

        #[test]
        fn range_set_operations_match_a_bitmap(
            a in proptest::collection::vec((0u64..64, 0u64..8), 0..6),
            b in proptest::collection::vec((0u64..64, 0u64..8), 0..6),
        ) {
            let to_set = |v: &[(u64, u64)]| {
                let mut ranges: Vec<Range> = v.iter().map(|&(s, l)| (s, s + l)).collect();
                normalize_ranges(&mut ranges);
                ranges
            };
            let bits = |v: &[Range]| v.iter().fold(0u128, |acc, &(s, e)| {
                (s..=e).fold(acc, |acc, i| acc | (1u128 << i))
            });
            let (ra, rb) = (to_set(&a), to_set(&b));
            let (ba, bb) = (bits(&ra), bits(&rb));
            prop_assert_eq!(bits(&ranges_union(&ra, &rb)), ba | bb);
            prop_assert_eq!(bits(&ranges_difference(&ra, &rb)), ba & !bb);
            prop_assert_eq!(ranges_subset(&rb, &ra), bb & !ba == 0);
            let mut u = ranges_union(&ra, &rb);
            let normalized = u.clone();
            normalize_ranges(&mut u);
            prop_assert_eq!(u, normalized);
        }
    }
}
