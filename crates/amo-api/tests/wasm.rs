//! Decodes every fixture through `serde-wasm-bindgen` from a parsed JavaScript value, as the widget does.
//!
//! Run with `cargo test -p amo-api --target wasm32-unknown-unknown --test wasm` and `wasm-bindgen-test-runner` as the runner.
#![cfg(target_arch = "wasm32")]

mod common;

use amo_api::{Lead, Page, Saved, Task};
use common::{check_every_fixture, Decoder};
use serde::de::DeserializeOwned;
use wasm_bindgen_test::wasm_bindgen_test;

struct Js;

impl Decoder for Js {
    fn decode<T: DeserializeOwned>(&self, json: &str) -> Result<T, String> {
        let value = js_sys::JSON::parse(json).map_err(|error| format!("{error:?}"))?;
        serde_wasm_bindgen::from_value(value).map_err(|error| error.to_string())
    }
}

#[wasm_bindgen_test]
fn every_fixture_decodes_with_serde_wasm_bindgen() {
    check_every_fixture(&Js);
}

#[wasm_bindgen_test]
fn quirks_decode_from_javascript_values() {
    let page: Page<Task> = Js.decode(r#"{"_embedded":{"tasks":[{"id":"5","result":[],"entity_id":null,"complete_till":1.7e9}]}}"#).unwrap();
    assert_eq!(
        (
            page.items[0].id,
            page.items[0].result.clone(),
            page.items[0].complete_till
        ),
        (5, None, 1_700_000_000)
    );
    let page: Page<Lead> = Js.decode(r#"{"_embedded":[]}"#).unwrap();
    assert!(page.items.is_empty());
    let saved: Saved<Lead> = Js.decode(r#"{"id":7,"request_id":0}"#).unwrap();
    assert_eq!(saved.request_id.as_deref(), Some("0"));
    assert!(Js
        .decode::<Page<Lead>>(r#"{"_embedded":{"leads":[{"id":1.5}]}}"#)
        .is_err());
}
