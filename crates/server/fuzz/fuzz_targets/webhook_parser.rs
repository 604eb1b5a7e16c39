//! Fuzz target: any byte string given to the webhook parser either parses or is refused, never panics.
#![no_main]

use leakguard_server::webhook::parser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(hook) = parser::parse(data) {
        let account_id = hook.account_id().unwrap_or(0);
        for event in &hook.events {
            let key = event.dedup_key(account_id);
            assert!(key.starts_with(&account_id.to_string()));
            // Events are stored as JSON and read back by the job engine.
            let json = serde_json::to_string(event).unwrap();
            let back: parser::Event = serde_json::from_str(&json).unwrap();
            assert_eq!(&back, event);
        }
    }
});
