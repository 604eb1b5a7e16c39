//! What the rules need to know about one account: its settings, time zone, working-day calendar and
//! language, loaded once per automation pass or API request.

use anyhow::{Context, Result};
use leakguard_core::dates::{Calendar, FixedOffset, UtcOffset};
use leakguard_core::deal::Account as RuleAccount;
use leakguard_core::locale::Lang;
use leakguard_core::settings::Settings;

use crate::account_settings;
use crate::accounts::{self, Account};
use crate::db::Db;

/// The account's time zone from the tz database, Moscow time when unknown (amoCRM's default).
pub enum AccountZone {
    Named(jiff::tz::TimeZone),
    Fixed(FixedOffset),
}

impl AccountZone {
    pub fn new(name: Option<&str>) -> AccountZone {
        match name.and_then(|name| jiff::tz::TimeZone::get(name).ok()) {
            Some(zone) => AccountZone::Named(zone),
            None => AccountZone::Fixed(FixedOffset(3 * 3600)),
        }
    }
}

impl UtcOffset for AccountZone {
    fn offset_seconds_at(&self, utc_seconds: i64) -> i32 {
        match self {
            AccountZone::Named(zone) => jiff::Timestamp::from_second(utc_seconds)
                .map(|instant| zone.to_offset(instant).seconds())
                .unwrap_or(0),
            AccountZone::Fixed(offset) => offset.offset_seconds_at(utc_seconds),
        }
    }
}

/// The language of an account: the one stored by the sync, else Russian for Russian accounts,
/// else English.
pub fn account_lang(account: &Account) -> Lang {
    match (&account.lang, &account.country) {
        (Some(lang), _) if !lang.is_empty() => Lang::from_code(lang),
        (_, Some(country)) if country.eq_ignore_ascii_case("ru") => Lang::Ru,
        _ => Lang::En,
    }
}

/// One account's rule inputs.
pub struct AccountEnv {
    pub account: Account,
    pub settings: Settings,
    pub zone: AccountZone,
    pub calendar: Calendar,
    pub lang: Lang,
}

impl AccountEnv {
    /// Loads the account, its settings and its calendar.
    pub async fn load(db: &Db, account_id: i64) -> Result<AccountEnv> {
        let account = accounts::get(db, account_id)
            .await?
            .with_context(|| format!("account {account_id} is unknown"))?;
        let settings = account_settings::load(db, account_id).await?;
        let calendar = settings
            .calendar
            .build(account.country.as_deref())
            .unwrap_or_else(|error| {
                tracing::warn!(
                    account_id,
                    ?error,
                    "the configured calendar is invalid; using the Russian one"
                );
                Calendar::russian()
            });
        Ok(AccountEnv {
            zone: AccountZone::new(account.timezone.as_deref()),
            lang: account_lang(&account),
            account,
            settings,
            calendar,
        })
    }

    /// The view the core's rules take.
    pub fn rules(&self) -> RuleAccount<'_> {
        RuleAccount {
            tz: &self.zone,
            calendar: &self.calendar,
            lang: self.lang,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_come_from_the_tz_database_with_a_moscow_fallback() {
        // 2026-07-01T00:00:00Z: New York is on daylight time (UTC−4).
        let summer = 1_782_864_000;
        assert_eq!(
            AccountZone::new(Some("America/New_York")).offset_seconds_at(summer),
            -4 * 3600
        );
        assert_eq!(
            AccountZone::new(Some("Europe/Moscow")).offset_seconds_at(summer),
            3 * 3600
        );
        assert_eq!(
            AccountZone::new(Some("Not/AZone")).offset_seconds_at(summer),
            3 * 3600
        );
        assert_eq!(AccountZone::new(None).offset_seconds_at(summer), 3 * 3600);
    }
}
