//! What the section and the stage gate know about the page and the deal: the settings, the account's
//! currency, zone and language, the user, and the deal's records read with exactly two requests.

use amo_api::payments::record_of;
use leakguard_core::deal::UserContext;
use leakguard_core::locale::Lang;
use leakguard_core::payments::store::{Record, RecordKind};
use leakguard_core::payments::Currency;
use leakguard_core::settings::{PaymentStore, Settings};
use web_sys::AbortSignal;

use crate::host::{self, AccountInfo, Widget};
use crate::http::{self, HttpError};
use leakguard_widget_shared::Zone;

/// The page facts every action of the section uses.
#[derive(Debug)]
pub struct Context {
    pub widget: Widget,
    pub lead_id: u64,
    /// `None` when the stored settings cannot be read.
    pub settings: Option<Settings>,
    pub account: AccountInfo,
    pub currency: Currency,
    pub lang: Lang,
    pub zone: Zone,
    pub user: UserContext,
    pub user_name: String,
}

impl Context {
    pub fn new(widget: Widget, lead_id: u64) -> Context {
        let account = host::account();
        let (user, user_name) = host::current_user();
        Context {
            settings: widget.settings(),
            currency: account
                .currency
                .as_deref()
                .and_then(Currency::from_code)
                .unwrap_or(Currency::RUB),
            lang: Lang::from_code(&host::language().unwrap_or_default()),
            zone: Zone::new(account.timezone.as_deref()),
            account,
            user,
            user_name,
            widget,
            lead_id,
        }
    }

    /// Where the records live, once an administrator has saved the settings.
    pub fn store(&self) -> Option<PaymentStore> {
        self.settings
            .as_ref()?
            .payments
            .store
            .filter(|store| store.catalog_id != 0)
    }
}

/// The deal facts the section uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deal {
    pub name: String,
    /// The budget in major units.
    pub price: i64,
    pub responsible_user_id: u64,
}

/// The deal and its live records: `GET /api/v4/leads/{id}?with=catalog_elements`, then
/// `GET /api/v4/catalogs/{id}/elements?filter[id][]=…` for the elements of our catalog (skipped
/// when there are none).
pub async fn load(
    context: &Context,
    store: &PaymentStore,
    signal: &AbortSignal,
) -> Result<(Deal, Vec<Record>), HttpError> {
    let lead = http::lead(context.lead_id, signal).await?;
    let ids: Vec<u64> = lead
        .embedded
        .catalog_elements
        .iter()
        .filter(|link| {
            link.metadata
                .catalog_id
                .is_none_or(|id| id == store.catalog_id)
        })
        .map(|link| link.id)
        .collect();
    let deal = Deal {
        name: lead.name,
        price: lead.price,
        responsible_user_id: lead.responsible_user_id,
    };
    if ids.is_empty() {
        return Ok((deal, Vec::new()));
    }
    let elements = http::elements(store.catalog_id, &ids, signal).await?;
    let records = elements
        .iter()
        .filter_map(|element| record_of(element, store, context.currency, &context.zone))
        .filter(|record| record.lead_id == context.lead_id && record.kind != RecordKind::Void)
        .collect();
    Ok((deal, records))
}
