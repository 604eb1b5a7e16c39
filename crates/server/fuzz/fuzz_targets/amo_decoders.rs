//! Fuzz target: the amoCRM answers the server decodes (lists, leads, tasks, write results, the
//! account, token responses, problem bodies and widget token claims) never panic on any input.
#![no_main]

use amo_api::{Account, Lead, Page, Problem, Saved, Task, TokenResponse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<Page<Lead>>(data);
    let _ = serde_json::from_slice::<Page<Task>>(data);
    let _ = serde_json::from_slice::<Page<Saved<Task>>>(data);
    let _ = serde_json::from_slice::<Lead>(data);
    let _ = serde_json::from_slice::<Account>(data);
    let _ = serde_json::from_slice::<TokenResponse>(data);
    let _ = serde_json::from_slice::<Problem>(data);
    let _ = serde_json::from_slice::<leakguard_server::auth::WidgetClaims>(data);
    let _ = leakguard_server::amo::retry_after_seconds(&Default::default(), data);
});
