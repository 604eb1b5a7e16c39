//! Decodes every JSON fixture with `serde_json`, checks the fixture list, and covers the HTTP 204 empty list.

mod common;

use std::collections::BTreeSet;

use amo_api::{Lead, Page, Task};
use common::{check_every_fixture, Decoder, FIXTURES};
use serde::de::DeserializeOwned;

struct Json;

impl Decoder for Json {
    fn decode<T: DeserializeOwned>(&self, json: &str) -> Result<T, String> {
        serde_json::from_str(json).map_err(|error| error.to_string())
    }
}

#[test]
fn every_fixture_decodes_with_serde_json() {
    check_every_fixture(&Json);
}

#[test]
fn the_fixture_list_names_every_file() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    let listed: BTreeSet<String> = FIXTURES.iter().map(|(name, _)| name.to_string()).collect();
    assert_eq!(on_disk, listed);
}

#[test]
fn no_content_is_an_empty_page_without_decoding() {
    let page = Page::<Task>::from_response(204, || -> Result<Page<Task>, serde_json::Error> {
        panic!("a 204 has no body to decode")
    });
    let page = page.unwrap();
    assert!(page.items.is_empty());
    assert_eq!((page.next.as_deref(), page.page), (None, None));
    assert_eq!(page, Page::empty());
}

#[test]
fn other_statuses_decode_the_body() {
    let body = r#"{"_page":1,"_embedded":{"leads":[{"id":1,"name":"x"}]}}"#;
    let page = Page::<Lead>::from_response(200, || serde_json::from_str(body)).unwrap();
    assert_eq!(
        (page.items.len(), page.items[0].id, page.page),
        (1, 1, Some(1))
    );
    let broken = Page::<Lead>::from_response(200, || serde_json::from_str("")).unwrap_err();
    assert!(broken.is_eof());
}

#[test]
fn envelopes_tolerate_missing_and_empty_parts() {
    let page: Page<Lead> = serde_json::from_str(r#"{"_embedded":[]}"#).unwrap();
    assert!(page.items.is_empty());
    let page: Page<Lead> =
        serde_json::from_str(r#"{"_links":[],"_embedded":{"leads":null,"other":[1]}}"#).unwrap();
    assert!(page.items.is_empty());
    let page: Page<Lead> = serde_json::from_str(r#"{"_embedded":{"tasks":[{"id":1}]}}"#).unwrap();
    assert!(
        page.items.is_empty(),
        "another collection's items are not leads"
    );
    let page: Page<Lead> = serde_json::from_str(r#"{"_page":"3","_total_items":"10"}"#).unwrap();
    assert_eq!((page.page, page.total_items), (Some(3), Some(10)));
    assert!(serde_json::from_str::<Page<Lead>>(r#"{"_embedded":{"leads":[{"id":"x"}]}}"#).is_err());
    assert_eq!(
        serde_json::from_str::<Page<Lead>>("[]").unwrap(),
        Page::empty()
    );
    assert_eq!(
        serde_json::from_str::<Page<Lead>>("null").unwrap(),
        Page::empty()
    );
    assert!(serde_json::from_str::<Page<Lead>>("[1]").is_err());
    assert!(serde_json::from_str::<Page<Lead>>(r#""leads""#).is_err());
}

#[test]
fn a_write_result_without_an_id_is_an_error() {
    assert!(serde_json::from_str::<amo_api::Saved<Lead>>(r#"{"updated_at":1}"#).is_err());
    assert!(serde_json::from_str::<amo_api::Saved<Lead>>(r#"{"_embedded":{"leads":[]}}"#).is_err());
}
