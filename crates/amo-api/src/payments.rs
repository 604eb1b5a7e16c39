//! The wire form of LeakGuard's payment records: catalog elements of its own `regular` catalog.
//!
//! [`element_write`] encodes a [`Record`] as the body item of `POST` / `PATCH
//! /api/v4/catalogs/{id}/elements`, [`record_of`] decodes an element amoCRM returns. The catalog
//! and its fields are created with [`catalog_write`] and [`field_writes`]; an element is tied to
//! its deal with [`link_write`] (`POST /api/v4/leads/{id}/link` and `…/unlink`). The record model,
//! field codes and value formats are the core's (`leakguard_core::payments::store`).

use leakguard_core::dates::{Date, UtcOffset};
use leakguard_core::locale::Lang;
use leakguard_core::payments::store::{
    amount_text, catalog_name, date_of_value, date_value, parse_amount_text, record_name, Record,
    RecordKind, StoreField,
};
use leakguard_core::payments::Currency;
use leakguard_core::settings::PaymentStore;
use serde::Serialize;

use crate::catalogs::CatalogElement;
use crate::custom_fields::{CustomFieldValues, FieldValue};
use crate::value::Value;

/// One item of `POST` (no `id`) or `PATCH` (with `id`) `/api/v4/catalogs/{id}/elements`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ElementWrite {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub name: String,
    pub custom_fields_values: Vec<FieldValuesWrite>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// The values of one field in a write (amocrm-api-v4.md §9.3); `values: null` clears the field.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldValuesWrite {
    pub field_id: u64,
    pub values: Option<Vec<ValueWrite>>,
}

/// One `{"value": …}` of a field write.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ValueWrite {
    pub value: Value,
}

/// One item of `POST /api/v4/catalogs` (§10.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogWrite {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub can_add_elements: bool,
    pub can_link_multiple: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// One item of `POST /api/v4/catalogs/{id}/custom_fields` (§9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CustomFieldWrite {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: &'static str,
    pub code: &'static str,
    pub sort: i64,
}

/// One item of `POST /api/v4/leads/{id}/link` or `…/unlink` for a catalog element (§10.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkWrite {
    pub to_entity_id: u64,
    pub to_entity_type: &'static str,
    pub metadata: LinkMetadataWrite,
}

/// The metadata of a catalog-element link: the catalog the element belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkMetadataWrite {
    pub catalog_id: u64,
}

/// The element body of `record`: its name (with `marker` appended, for a retry to find it) and
/// every field by the ids in `store`. `id` is set when the record is already saved (a `PATCH`);
/// then an empty planned-payment link or comment is sent as `values: null` so that it is cleared.
pub fn element_write(
    record: &Record,
    store: &PaymentStore,
    currency: Currency,
    lang: Lang,
    tz: &(impl UtcOffset + ?Sized),
    marker: Option<&str>,
) -> ElementWrite {
    let patch = record.id != 0;
    let comment = record.comment.trim();
    let values = |field: StoreField| -> Option<Value> {
        match field {
            StoreField::Kind => Some(Value::String(record.kind.code().to_owned())),
            StoreField::Amount => Some(Value::String(amount_text(record.amount, currency))),
            StoreField::Date => Some(Value::Int(date_value(record.date, tz))),
            StoreField::Plan => record.planned_id.map(|id| Value::String(id.to_string())),
            StoreField::Lead => Some(Value::String(record.lead_id.to_string())),
            StoreField::Comment => (!comment.is_empty()).then(|| Value::String(comment.to_owned())),
        }
    };
    let custom_fields_values = StoreField::ALL
        .iter()
        .filter_map(|&field| {
            let field_id = store.fields.get(field);
            match values(field) {
                Some(value) => Some(FieldValuesWrite {
                    field_id,
                    values: Some(vec![ValueWrite { value }]),
                }),
                None if patch => Some(FieldValuesWrite {
                    field_id,
                    values: None,
                }),
                None => None,
            }
        })
        .collect();
    ElementWrite {
        id: patch.then_some(record.id),
        name: record_name(record, currency, lang, marker),
        custom_fields_values,
        request_id: None,
    }
}

/// The record an element of the store's catalog holds; `None` for elements of other catalogs,
/// deleted elements and elements without a readable kind, amount, date and deal (not LeakGuard's).
///
/// A field is found by its id in `store` or, when the ids differ (a copied account, a stale
/// setting), by its `LG_*` code. Amounts are read from text or numbers, dates from Unix seconds
/// as a number or numeric text, or an RFC 3339 text.
pub fn record_of(
    element: &CatalogElement,
    store: &PaymentStore,
    currency: Currency,
    tz: &(impl UtcOffset + ?Sized),
) -> Option<Record> {
    if element.is_deleted || (element.catalog_id != 0 && element.catalog_id != store.catalog_id) {
        return None;
    }
    let first = |field: StoreField| -> Option<&FieldValue> {
        let id = store.fields.get(field);
        let by_id = element
            .custom_fields_values
            .iter()
            .find(|values| id != 0 && values.field_id == id);
        let by_code = || {
            element
                .custom_fields_values
                .iter()
                .find(|values| values.field_code.as_deref() == Some(field.code()))
        };
        by_id
            .or_else(by_code)
            .and_then(|values: &CustomFieldValues| values.values.first())
            .filter(|value| !value.value.is_null())
    };
    let kind = RecordKind::from_code(first(StoreField::Kind)?.value.as_str()?)?;
    let amount = parse_amount_text(&number_text(&first(StoreField::Amount)?.value)?, currency)?;
    let date = date_of(&first(StoreField::Date)?.value, tz)?;
    let lead_id = positive_id(&first(StoreField::Lead)?.value)?;
    let planned_id = first(StoreField::Plan).and_then(|value| positive_id(&value.value));
    let comment = first(StoreField::Comment)
        .and_then(|value| value.value.as_str())
        .unwrap_or_default()
        .to_owned();
    Some(Record {
        id: element.id,
        lead_id,
        kind,
        date,
        amount,
        planned_id,
        comment,
    })
}

/// The body item creating LeakGuard's catalog, named in the account's language.
pub fn catalog_write(lang: Lang) -> CatalogWrite {
    CatalogWrite {
        name: catalog_name(lang).to_owned(),
        kind: "regular",
        can_add_elements: true,
        can_link_multiple: false,
        request_id: None,
    }
}

/// The body creating the catalog's six fields, each with its `LG_*` code, in [`StoreField::ALL`] order.
pub fn field_writes(lang: Lang) -> Vec<CustomFieldWrite> {
    StoreField::ALL
        .iter()
        .zip(1..)
        .map(|(&field, position)| CustomFieldWrite {
            name: field.name(lang).to_owned(),
            field_type: field.field_type(),
            code: field.code(),
            sort: position * 10,
        })
        .collect()
}

/// The body item linking (or unlinking) element `element_id` of catalog `catalog_id` to a deal.
pub fn link_write(element_id: u64, catalog_id: u64) -> LinkWrite {
    LinkWrite {
        to_entity_id: element_id,
        to_entity_type: "catalog_elements",
        metadata: LinkMetadataWrite { catalog_id },
    }
}

/// A numeric field value as decimal text: amoCRM answers `"15000.5"`, a client may have written `15000.5`.
fn number_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Int(number) => Some(number.to_string()),
        Value::Float(number) if number.is_finite() => Some(number.to_string()),
        _ => None,
    }
}

/// A positive id from a numeric field (`"12"`, `12` or `12.0`).
fn positive_id(value: &Value) -> Option<u64> {
    value
        .as_i64()
        .and_then(|id| u64::try_from(id).ok())
        .filter(|&id| id > 0)
}

/// The date of a date field's value: Unix seconds (number or text), or RFC 3339 text whose date part is taken.
fn date_of(value: &Value, tz: &(impl UtcOffset + ?Sized)) -> Option<Date> {
    if let Some(seconds) = value.as_i64() {
        return Some(date_of_value(seconds, tz));
    }
    value.as_str()?.get(..10)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakguard_core::dates::FixedOffset;
    use leakguard_core::settings::StoreFieldIds;
    use serde_json::json;

    fn rub() -> Currency {
        Currency::from_code("RUB").unwrap()
    }

    fn store() -> PaymentStore {
        PaymentStore {
            catalog_id: 7001,
            fields: StoreFieldIds {
                kind: 901,
                amount: 902,
                date: 903,
                plan: 904,
                lead: 905,
                comment: 906,
            },
        }
    }

    fn record() -> Record {
        Record {
            id: 0,
            lead_id: 12,
            kind: RecordKind::Payment,
            date: Date::from_ymd(2026, 12, 27).unwrap(),
            amount: 1_500_050,
            planned_id: Some(55),
            comment: "аванс".into(),
        }
    }

    /// What amoCRM answers for an element written with `write`: the read shape of §9.3, with the
    /// numbers as amoCRM's text, field names and codes added.
    fn answer(
        write: &serde_json::Value,
        id: u64,
        amount: serde_json::Value,
        date_as_text: bool,
    ) -> serde_json::Value {
        let codes = [
            (901, "LG_KIND", "text"),
            (902, "LG_AMOUNT", "numeric"),
            (903, "LG_DATE", "date"),
            (904, "LG_PLAN", "numeric"),
            (905, "LG_LEAD", "numeric"),
            (906, "LG_COMMENT", "textarea"),
        ];
        let fields: Vec<serde_json::Value> = write["custom_fields_values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|field| {
                let id = field["field_id"].as_u64().unwrap();
                let (_, code, kind) = codes.iter().find(|c| c.0 == id).unwrap();
                let mut value = field["values"][0]["value"].clone();
                if *code == "LG_AMOUNT" {
                    value = amount.clone();
                } else if *code == "LG_DATE" && date_as_text {
                    value = json!(value.as_i64().unwrap().to_string());
                }
                json!({"field_id": id, "field_name": code.to_lowercase(), "field_code": code, "field_type": kind, "values": [{"value": value}]})
            })
            .collect();
        json!({
            "id": id, "catalog_id": 7001, "name": write["name"], "created_by": 1, "updated_by": 1,
            "created_at": 1_790_000_000, "updated_at": 1_790_000_000, "is_deleted": null,
            "custom_fields_values": fields, "account_id": 1, "request_id": 0,
            "_links": {"self": {"href": "/api/v4/catalogs/7001/elements/1"}}
        })
    }

    fn decode(json: serde_json::Value) -> CatalogElement {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_new_record_is_written_with_every_field() {
        let tz = FixedOffset(3 * 3600);
        let write = element_write(&record(), &store(), rub(), Lang::Ru, &tz, Some("#lg-e12-1"));
        let json = serde_json::to_value(&write).unwrap();
        assert!(json.get("id").is_none());
        assert!(json["name"].as_str().unwrap().ends_with(" #lg-e12-1"));
        assert_eq!(
            json["custom_fields_values"],
            json!([
                {"field_id": 901, "values": [{"value": "payment"}]},
                {"field_id": 902, "values": [{"value": "15000.50"}]},
                {"field_id": 903, "values": [{"value": 1_798_318_800}]},
                {"field_id": 904, "values": [{"value": "55"}]},
                {"field_id": 905, "values": [{"value": "12"}]},
                {"field_id": 906, "values": [{"value": "аванс"}]}
            ])
        );
        let bare = Record {
            planned_id: None,
            comment: " ".into(),
            ..record()
        };
        let json = serde_json::to_value(element_write(&bare, &store(), rub(), Lang::En, &tz, None))
            .unwrap();
        assert_eq!(json["custom_fields_values"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn a_saved_record_is_patched_and_clears_empty_fields() {
        let tz = FixedOffset(0);
        let saved = Record {
            id: 77,
            planned_id: None,
            comment: String::new(),
            ..record()
        };
        let json =
            serde_json::to_value(element_write(&saved, &store(), rub(), Lang::En, &tz, None))
                .unwrap();
        assert_eq!(json["id"], 77);
        let fields = json["custom_fields_values"].as_array().unwrap();
        assert_eq!(fields.len(), 6);
        assert_eq!(fields[3], json!({"field_id": 904, "values": null}));
        assert_eq!(fields[5], json!({"field_id": 906, "values": null}));
    }

    #[test]
    fn records_round_trip_through_amocrm_answers() {
        for offset in [-5 * 3600, 0, 3 * 3600, 10 * 3600] {
            let tz = FixedOffset(offset);
            let write = serde_json::to_value(element_write(
                &record(),
                &store(),
                rub(),
                Lang::Ru,
                &tz,
                None,
            ))
            .unwrap();
            for (amount, date_as_text) in [
                (json!("15000.5"), false),
                (json!(15000.5), true),
                (json!("15000.50"), true),
            ] {
                let element = decode(answer(&write, 321, amount, date_as_text));
                let read = record_of(&element, &store(), rub(), &tz).expect("a LeakGuard record");
                assert_eq!(
                    read,
                    Record {
                        id: 321,
                        ..record()
                    },
                    "{offset}"
                );
            }
        }
    }

    #[test]
    fn dates_normalised_to_utc_midnight_or_rfc3339_keep_their_day() {
        let tz = FixedOffset(3 * 3600);
        let write = serde_json::to_value(element_write(
            &record(),
            &store(),
            rub(),
            Lang::Ru,
            &tz,
            None,
        ))
        .unwrap();
        let mut json = answer(&write, 5, json!("15000.50"), false);
        json["custom_fields_values"][2]["values"][0]["value"] = json!(1_798_329_600);
        assert_eq!(
            record_of(&decode(json.clone()), &store(), rub(), &tz)
                .unwrap()
                .date,
            record().date
        );
        json["custom_fields_values"][2]["values"][0]["value"] = json!("2026-12-27T00:00:00+03:00");
        assert_eq!(
            record_of(&decode(json), &store(), rub(), &tz).unwrap().date,
            record().date
        );
    }

    #[test]
    fn fields_are_matched_by_code_when_ids_differ() {
        let tz = FixedOffset(0);
        let write = serde_json::to_value(element_write(
            &record(),
            &store(),
            rub(),
            Lang::Ru,
            &tz,
            None,
        ))
        .unwrap();
        let json = answer(&write, 9, json!("15000.50"), false);
        let moved = PaymentStore {
            catalog_id: 7001,
            fields: StoreFieldIds {
                kind: 1,
                amount: 2,
                date: 3,
                plan: 4,
                lead: 5,
                comment: 6,
            },
        };
        assert_eq!(
            record_of(&decode(json), &moved, rub(), &tz),
            Some(Record { id: 9, ..record() })
        );
    }

    #[test]
    fn other_elements_are_not_records() {
        let tz = FixedOffset(0);
        let write = serde_json::to_value(element_write(
            &record(),
            &store(),
            rub(),
            Lang::Ru,
            &tz,
            None,
        ))
        .unwrap();
        let ours = answer(&write, 9, json!("15000.50"), false);

        let mut other_catalog = ours.clone();
        other_catalog["catalog_id"] = json!(8000);
        assert_eq!(
            record_of(&decode(other_catalog), &store(), rub(), &tz),
            None
        );

        let mut deleted = ours.clone();
        deleted["is_deleted"] = json!(true);
        assert_eq!(record_of(&decode(deleted), &store(), rub(), &tz), None);

        let mut no_kind = ours.clone();
        no_kind["custom_fields_values"]
            .as_array_mut()
            .unwrap()
            .remove(0);
        assert_eq!(record_of(&decode(no_kind), &store(), rub(), &tz), None);

        let mut foreign_kind = ours.clone();
        foreign_kind["custom_fields_values"][0]["values"][0]["value"] = json!("invoice");
        assert_eq!(record_of(&decode(foreign_kind), &store(), rub(), &tz), None);

        let mut bad_amount = ours.clone();
        bad_amount["custom_fields_values"][1]["values"][0]["value"] = json!("15 000,50");
        assert_eq!(record_of(&decode(bad_amount), &store(), rub(), &tz), None);

        let plain =
            json!({"id": 3, "catalog_id": 7001, "name": "A product", "custom_fields_values": null});
        assert_eq!(record_of(&decode(plain), &store(), rub(), &tz), None);
    }

    #[test]
    fn catalog_fields_and_links_have_the_documented_shape() {
        assert_eq!(
            serde_json::to_value(catalog_write(Lang::En)).unwrap(),
            json!({"name": "LeakGuard: payments", "type": "regular", "can_add_elements": true, "can_link_multiple": false})
        );
        let fields = serde_json::to_value(field_writes(Lang::Ru)).unwrap();
        assert_eq!(fields.as_array().unwrap().len(), 6);
        assert_eq!(
            fields[1],
            json!({"name": "Сумма", "type": "numeric", "code": "LG_AMOUNT", "sort": 20})
        );
        assert_eq!(fields[2]["type"], "date");
        assert_eq!(fields[5]["type"], "textarea");
        assert_eq!(
            serde_json::to_value([link_write(10, 1026)]).unwrap(),
            json!([{"to_entity_id": 10, "to_entity_type": "catalog_elements", "metadata": {"catalog_id": 1026}}])
        );
    }
}
