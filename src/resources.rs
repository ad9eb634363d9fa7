//! TEMPORARY stub; replaced by the real module on merge.
use serde::{Deserialize, Serialize};
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Resources(Vec<(String, u64)>);
impl Resources {
    pub fn parse(s: &str) -> Result<Resources, String> {
        let mut v = Vec::new();
        for part in s.split(';').filter(|p| !p.is_empty()) {
            let (k, x) = part.split_once(':').ok_or("bad")?;
            let x: f64 = x.parse().map_err(|_| "bad")?;
            v.push((k.to_string(), (x * 1000.0) as u64));
        }
        v.sort();
        Ok(Resources(v))
    }
    pub fn contains(&self, o: &Resources) -> bool {
        o.0.iter()
            .all(|(k, x)| self.0.iter().any(|(k2, y)| k == k2 && y >= x))
    }
}
impl std::fmt::Display for Resources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}
impl std::ops::Add<&Resources> for Resources {
    type Output = Resources;
    fn add(mut self, o: &Resources) -> Resources {
        for (k, x) in &o.0 {
            match self.0.iter_mut().find(|(k2, _)| k2 == k) {
                Some(e) => e.1 += x,
                None => self.0.push((k.clone(), *x)),
            }
        }
        self.0.sort();
        self
    }
}
impl std::ops::SubAssign<&Resources> for Resources {
    fn sub_assign(&mut self, o: &Resources) {
        for (k, x) in &o.0 {
            if let Some(e) = self.0.iter_mut().find(|(k2, _)| k2 == k) {
                e.1 = e.1.saturating_sub(*x)
            }
        }
        self.0.retain(|e| e.1 > 0);
    }
}
