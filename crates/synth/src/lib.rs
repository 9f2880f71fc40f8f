//! Seeded, reproducible city generator (placeholder).
