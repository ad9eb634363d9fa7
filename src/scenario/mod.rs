//! Scenario files: YAML with a position on every value, so every error can say where.

pub mod de;
pub mod yaml;
