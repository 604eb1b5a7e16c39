//! Every `ui.payments.*` key the payments module and the card's payments hook use exists, as text, in all four language files.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The literal `"ui.payments.…"` keys in the Rust files of `dir`.
fn keys_in(dir: &Path, keys: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            keys_in(&path, keys);
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (at, _) in text.match_indices("\"ui.payments.") {
            let rest = &text[at + 1..];
            let key = &rest[..rest.find('"').unwrap()];
            // Keys built with `format!` are listed in `DYNAMIC` below.
            if !key.contains('{') && !key.ends_with('.') {
                keys.push(key.to_owned());
            }
        }
    }
}

/// The keys the section builds from a name.
const DYNAMIC: &[&str] = &[
    "ui.payments.total.planned",
    "ui.payments.total.paid",
    "ui.payments.total.remaining",
    "ui.payments.total.overdue",
    "ui.payments.total.expenses",
    "ui.payments.total.margin",
    "ui.payments.total.unallocated",
    "ui.payments.table.plans",
    "ui.payments.table.payments",
    "ui.payments.table.expenses",
    "ui.payments.column.due",
    "ui.payments.column.amount",
    "ui.payments.column.paid",
    "ui.payments.column.remaining",
    "ui.payments.column.status",
    "ui.payments.column.actions",
    "ui.payments.column.date",
    "ui.payments.column.planned",
    "ui.payments.column.comment",
    "ui.payments.mode.template",
    "ui.payments.mode.monthly",
    "ui.payments.mode.manual",
];

#[test]
fn every_payments_key_is_translated() {
    let mut keys: Vec<String> = DYNAMIC.iter().map(|k| (*k).to_owned()).collect();
    keys_in(&root().join("widget-payments/src"), &mut keys);
    keys_in(&root().join("widget/src/payments"), &mut keys);
    keys_in(
        &root().join("crates/leakguard-core/src/payments"),
        &mut keys,
    );
    assert!(keys.len() > 60, "{}", keys.len());
    for lang in ["ru", "en", "es", "pt"] {
        let file = root().join(format!("i18n/{lang}.json"));
        let json: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        for key in &keys {
            let value = key.split('.').fold(&json, |node, part| &node[part]);
            assert!(
                value.as_str().is_some_and(|s| !s.trim().is_empty()),
                "i18n/{lang}.json lacks {key}"
            );
        }
    }
}
