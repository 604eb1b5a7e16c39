//! Preparing the payments store when an admin saves: finds LeakGuard's catalog (or creates it) and
//! its `LG_*` fields (creating the missing ones), and answers the ids for `payments.store`.
//!
//! Every attempt looks before it creates, so a retry after a failure never makes a second catalog
//! or field: a `regular` catalog named like [`catalog_name`] in any language, or one whose fields
//! include `LG_KIND`, is LeakGuard's. When the saved ids are still those of the catalog's fields,
//! checking them costs one request (`GET /api/v4/catalogs/{id}/custom_fields`).

use amo_api::payments::{catalog_write, field_writes};
use amo_api::{Catalog, CustomField};
use leakguard_core::locale::Lang;
use leakguard_core::payments::store::{catalog_name, StoreField};
use leakguard_core::settings::{PaymentStore, StoreFieldIds};
use web_sys::AbortSignal;

use crate::http::{self, HttpError};

/// The catalog type LeakGuard's catalog has (amocrm-api-v4.md §10.1).
pub const REGULAR: &str = "regular";

/// The ids of the `LG_*` fields among a catalog's fields, and the fields still missing.
pub fn match_fields(fields: &[CustomField]) -> (StoreFieldIds, Vec<StoreField>) {
    let mut ids = StoreFieldIds::default();
    let mut missing = Vec::new();
    for field in StoreField::ALL {
        match fields
            .iter()
            .find(|f| f.code.as_deref() == Some(field.code()))
        {
            Some(found) => ids.set(field, found.id),
            None => missing.push(field),
        }
    }
    (ids, missing)
}

/// Whether `store` still names `fields` exactly: every stored id is there with its code.
pub fn still_valid(store: &PaymentStore, fields: &[CustomField]) -> bool {
    store.catalog_id != 0
        && StoreField::ALL.iter().all(|&field| {
            let id = store.fields.get(field);
            id != 0
                && fields
                    .iter()
                    .any(|f| f.id == id && f.code.as_deref() == Some(field.code()))
        })
}

/// Whether a catalog bears LeakGuard's name in any language.
pub fn has_our_name(catalog: &Catalog) -> bool {
    Lang::ALL
        .iter()
        .any(|&lang| catalog.name.trim() == catalog_name(lang))
}

/// The regular catalogs that may be LeakGuard's, in the order to look at their fields: those with
/// LeakGuard's name first (oldest first), then the others.
pub fn candidates(catalogs: &[Catalog]) -> Vec<&Catalog> {
    let mut list: Vec<&Catalog> = catalogs.iter().filter(|c| c.kind == REGULAR).collect();
    list.sort_by_key(|c| (!has_our_name(c), c.id));
    list
}

/// Whether a candidate is LeakGuard's catalog: it has `LG_KIND`, or it bears LeakGuard's name (an
/// earlier attempt may have created it and failed before its fields).
pub fn is_ours(catalog: &Catalog, fields: &[CustomField]) -> bool {
    has_our_name(catalog)
        || fields
            .iter()
            .any(|f| f.code.as_deref() == Some(StoreField::Kind.code()))
}

/// What a preparation did, for the admin and the measurements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prepared {
    pub store: PaymentStore,
    /// Whether the catalog was created by this preparation.
    pub created_catalog: bool,
    /// How many fields this preparation created.
    pub created_fields: usize,
}

/// Makes sure the payments store exists and answers its ids: one request when `current` still
/// names the catalog's fields; otherwise it looks the catalog up, creates it only when there is
/// none, and creates only the fields it lacks. New names are in `lang`.
pub async fn prepare(
    current: Option<PaymentStore>,
    lang: Lang,
    signal: &AbortSignal,
) -> Result<Prepared, HttpError> {
    if let Some(store) = current.filter(|store| store.catalog_id != 0) {
        match http::catalog_fields(store.catalog_id, signal).await {
            Ok(fields) if still_valid(&store, &fields) => {
                return Ok(Prepared {
                    store,
                    ..Prepared::default()
                })
            }
            // The catalog is there, its fields are not all as saved: complete it.
            Ok(fields) => return complete(store.catalog_id, &fields, false, lang, signal).await,
            // The catalog was deleted: look for another one, else create it.
            Err(HttpError::Status(404)) => {}
            Err(error) => return Err(error),
        }
    }
    let catalogs = http::catalogs(signal).await?;
    for candidate in candidates(&catalogs) {
        let fields = http::catalog_fields(candidate.id, signal).await?;
        if is_ours(candidate, &fields) {
            return complete(candidate.id, &fields, false, lang, signal).await;
        }
    }
    let created: Vec<Catalog> =
        http::create("/api/v4/catalogs", &[catalog_write(lang)], signal).await?;
    let catalog_id = created.first().map_or(0, |catalog| catalog.id);
    if catalog_id == 0 {
        return Err(HttpError::Malformed);
    }
    complete(catalog_id, &[], true, lang, signal).await
}

/// Creates the fields catalog `catalog_id` lacks (having `fields`) and answers the store.
async fn complete(
    catalog_id: u64,
    fields: &[CustomField],
    created_catalog: bool,
    lang: Lang,
    signal: &AbortSignal,
) -> Result<Prepared, HttpError> {
    let (mut ids, missing) = match_fields(fields);
    if !missing.is_empty() {
        let writes: Vec<_> = field_writes(lang)
            .into_iter()
            .filter(|write| missing.iter().any(|field| field.code() == write.code))
            .collect();
        let path = format!("/api/v4/catalogs/{catalog_id}/custom_fields");
        let created: Vec<CustomField> = http::create(&path, &writes, signal).await?;
        // The answer lists the fields in the order of the body; a code in it is preferred.
        for (position, field) in created.iter().enumerate() {
            let which = field
                .code
                .as_deref()
                .and_then(|code| StoreField::ALL.into_iter().find(|f| f.code() == code))
                .or_else(|| missing.get(position).copied());
            if let Some(which) = which {
                ids.set(which, field.id);
            }
        }
    }
    let store = PaymentStore {
        catalog_id,
        fields: ids,
    };
    if StoreField::ALL
        .iter()
        .any(|&field| store.fields.get(field) == 0)
    {
        return Err(HttpError::Malformed);
    }
    Ok(Prepared {
        store,
        created_catalog,
        created_fields: missing.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(id: u64, code: &str) -> CustomField {
        CustomField {
            id,
            code: Some(code.to_owned()),
            ..CustomField::default()
        }
    }

    fn catalog(id: u64, name: &str, kind: &str) -> Catalog {
        Catalog {
            id,
            name: name.to_owned(),
            kind: kind.to_owned(),
            ..Catalog::default()
        }
    }

    fn all_fields() -> Vec<CustomField> {
        StoreField::ALL
            .iter()
            .enumerate()
            .map(|(i, f)| field(100 + i as u64, f.code()))
            .collect()
    }

    #[test]
    fn fields_are_matched_by_code_and_the_missing_listed() {
        let mut fields = all_fields();
        fields.retain(|f| f.code.as_deref() != Some("LG_COMMENT"));
        fields.push(field(7, "SOMETHING_ELSE"));
        let (ids, missing) = match_fields(&fields);
        assert_eq!((ids.kind, ids.lead, ids.comment), (100, 104, 0));
        assert_eq!(missing, [StoreField::Comment]);
        let (_, none) = match_fields(&all_fields());
        assert!(none.is_empty());
    }

    #[test]
    fn stored_ids_are_valid_only_when_every_field_is_there() {
        let (ids, _) = match_fields(&all_fields());
        let store = PaymentStore {
            catalog_id: 5,
            fields: ids,
        };
        assert!(still_valid(&store, &all_fields()));
        let mut renumbered = all_fields();
        renumbered[2].id = 999;
        assert!(!still_valid(&store, &renumbered));
        assert!(!still_valid(&PaymentStore::default(), &all_fields()));
        let recoded: Vec<CustomField> = all_fields()
            .into_iter()
            .map(|mut f| {
                f.code = None;
                f
            })
            .collect();
        assert!(!still_valid(&store, &recoded));
    }

    #[test]
    fn our_catalog_is_found_by_name_first_then_by_its_kind_field() {
        let catalogs = [
            catalog(1, "Products", "products"),
            catalog(2, "Price list", REGULAR),
            catalog(3, "LeakGuard: pagos", REGULAR),
            catalog(4, "Invoices", "invoices"),
            catalog(5, "LeakGuard: платежи", REGULAR),
        ];
        let order: Vec<u64> = candidates(&catalogs).iter().map(|c| c.id).collect();
        assert_eq!(order, [3, 5, 2]);
        assert!(is_ours(&catalogs[2], &[]), "named, fields not yet created");
        assert!(!is_ours(&catalogs[1], &[field(1, "SKU")]));
        assert!(
            is_ours(&catalogs[1], &[field(1, "LG_KIND")]),
            "renamed by an admin"
        );
    }
}
