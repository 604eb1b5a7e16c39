//! `cargo xtask`: the project automation (pack, test, demo).
fn main() {}
