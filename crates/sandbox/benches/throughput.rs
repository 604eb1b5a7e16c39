//! Throughput benchmark of the sandbox.
fn main() {}
