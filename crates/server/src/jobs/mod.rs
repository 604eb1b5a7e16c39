//! The durable job engine: the queue table, the handlers of each job kind, idempotent effects and the workers.

pub mod effects;
pub mod engine;
pub mod handlers;
pub mod queue;
