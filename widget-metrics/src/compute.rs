//! Running the core's metrics on a loaded dataset: the account's settings, working-day calendar
//! and zone, and the benchmark entry point that times decoding and computing together.

use leakguard_core::dates::{Calendar, UtcOffset};
use leakguard_core::deal::Account;
use leakguard_core::locale::Lang;
use leakguard_core::metrics::{key_metrics, Filter, KeyMetrics, MetricsInput};
use leakguard_core::settings::{CalendarSettings, Settings};

use crate::data::Dataset;

/// What the metrics depend on besides the data: stage limits, calendar, zone and language.
pub struct Context<Z> {
    pub settings: Settings,
    pub calendar: Calendar,
    pub zone: Z,
    pub lang: Lang,
}

impl<Z: UtcOffset> Context<Z> {
    /// The context of an account: `config` is the widget's saved settings (JSON; defaults when
    /// absent or unreadable), `country` picks the calendar, `zone` gives the offsets.
    pub fn new(config: Option<&str>, country: Option<&str>, zone: Z, lang: Lang) -> Context<Z> {
        let settings: Settings = config
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default();
        let calendar = settings
            .calendar
            .build(country)
            .or_else(|_| CalendarSettings::default().build(country))
            .unwrap_or_else(|_| Calendar::russian());
        Context {
            settings,
            calendar,
            zone,
            lang,
        }
    }

    /// The key metrics of `data` for `filter` at `now`. Overdue payments are not counted here:
    /// the page counts them from the payments report's data, which it reads separately.
    pub fn compute(&self, data: &Dataset, filter: &Filter, now: i64) -> KeyMetrics {
        let account = Account {
            tz: &self.zone,
            calendar: &self.calendar,
            lang: self.lang,
        };
        let input = MetricsInput {
            deals: &data.deals,
            tasks: &data.tasks,
            overdue_payments: &[],
        };
        key_metrics(&input, filter, &self.settings.stuck, now, &account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::List;
    use crate::scope::Scope;
    use leakguard_core::dates::FixedOffset;
    use leakguard_core::metrics::Period;
    use std::collections::BTreeSet;

    #[test]
    fn settings_pick_the_stage_limits_and_calendar() {
        // Custom calendar without weekends: five days are exactly five days.
        let config = r#"{"stuck":{"default_limit":{"working_days":5}},"calendar":{"kind":"custom","weekend":[]}}"#;
        let context = Context::new(Some(config), Some("RU"), FixedOffset(0), Lang::Ru);
        let day = 86_400;
        let now = 100 * day;
        let lead = |id: u64, updated: i64| {
            format!(
                r#"{{"id":{id},"name":"D","price":10,"responsible_user_id":1,"group_id":0,"status_id":20,
                "pipeline_id":2,"created_at":0,"updated_at":{updated},"closed_at":null,"is_deleted":false}}"#
            )
        };
        let page = format!(
            r#"{{"_embedded":{{"leads":[{},{}]}}}}"#,
            lead(1, now - 5 * day),
            lead(2, now - 5 * day + 1)
        );
        let filter = Filter::period(Period { from: 0, to: now });
        let scope = Scope::for_filter(&filter, |_| BTreeSet::new());
        let mut data = Dataset::default();
        data.add_page(List::OpenDeals, Some(page.as_bytes()), &scope)
            .unwrap();
        let metrics = context.compute(&data, &filter, now);
        assert_eq!(metrics.stuck.stuck.total.deal_ids, [1]);
        assert_eq!(metrics.without_task.total.count, 2);
        // Unreadable settings fall back to the defaults.
        let fallback = Context::new(Some("{oops"), None, FixedOffset(0), Lang::En);
        assert_eq!(fallback.settings, Settings::default());
    }
}
