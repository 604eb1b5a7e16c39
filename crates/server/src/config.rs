//! Server configuration: documented defaults, an optional TOML file, then environment variables.
//!
//! Precedence, lowest first: the defaults below, the TOML file named by `LEAKGUARD_CONFIG`
//! (or `leakguard.toml` in the working directory when it exists), then the environment.
//!
//! | key (TOML) | environment | default |
//! | --- | --- | --- |
//! | `listen` | `LEAKGUARD_LISTEN` | `127.0.0.1:8400` |
//! | `data_dir` | `LEAKGUARD_DATA_DIR` | `./data` |
//! | `database_url` | `DATABASE_URL` | `sqlite://<data_dir>/leakguard.db` |
//! | `client_id` | `LEAKGUARD_CLIENT_ID` | empty (OAuth install disabled) |
//! | `client_secret` | `LEAKGUARD_CLIENT_SECRET` | empty |
//! | `redirect_uri` | `LEAKGUARD_REDIRECT_URI` | `http://<listen>/oauth/callback` |
//! | `token_key` | `LEAKGUARD_TOKEN_KEY` | generated into `<data_dir>/token.key` |
//! | `amo_base_url` | `LEAKGUARD_AMO_BASE_URL` | none: `https://<referer>` |
//! | `workers` | `LEAKGUARD_WORKERS` | `4` |
//! | `rate_limit_per_second` | `LEAKGUARD_RATE_LIMIT` | `7` |
//! | `lease_seconds` | `LEAKGUARD_LEASE_SECONDS` | `60` |
//! | `poll_interval_ms` | `LEAKGUARD_POLL_MS` | `250` |
//! | `refresh_margin_seconds` | `LEAKGUARD_REFRESH_MARGIN` | `3600` |
//! | `sync_interval_seconds` | `LEAKGUARD_SYNC_INTERVAL` | `300`: the `updated_at` reconciliation (0 disables every schedule) |
//! | `full_scan_interval_seconds` | `LEAKGUARD_FULL_SCAN_INTERVAL` | `86400` |
//! | `automation_interval_seconds` | `LEAKGUARD_AUTOMATION_INTERVAL` | `60` |
//! | `delta_debounce_ms` | `LEAKGUARD_DELTA_DEBOUNCE_MS` | `2000`: webhooks → reconciliation delay |
//! | `lost_settle_seconds` | `LEAKGUARD_LOST_SETTLE` | `120` |
//! | `clock` | `LEAKGUARD_CLOCK` | `system`; `fixed:<t>`, `offset:<s>`, `sandbox:<origin>` |
//! | `public_url` | `LEAKGUARD_PUBLIC_URL` | `http://<bound address>`: where amoCRM sends webhooks |
//! | `widget_code` | `LEAKGUARD_WIDGET_CODE` | `leakguard` |
//! | `webhook_token` | `LEAKGUARD_WEBHOOK_TOKEN` | none: webhooks need no `?token=` |
//! | `[[long_lived_tokens]]` | `LEAKGUARD_LLT_ACCOUNT_ID`, `LEAKGUARD_LLT_BASE_URL`, `LEAKGUARD_LLT_TOKEN` | none |

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

/// A long-lived token of a private integration, configured for one account (no refresh token).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LongLivedToken {
    /// The amoCRM account id the token belongs to.
    pub account_id: i64,
    /// The account's origin, e.g. `https://example.amocrm.ru`.
    pub base_url: String,
    /// The token itself.
    pub token: String,
}

/// Everything the server reads at start.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The address to listen on; only loopback by default.
    pub listen: SocketAddr,
    /// Where the SQLite database and the generated token key live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to a SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// The integration id (`client_id`) from the integration's keys tab.
    pub client_id: String,
    /// The integration secret: signs widget JWTs and the revoke hook, and authenticates token exchanges.
    pub client_secret: String,
    /// The Redirect URI registered in the integration; sent verbatim in token exchanges.
    pub redirect_uri: Option<String>,
    /// A base64 (standard alphabet) 32-byte key that encrypts tokens at rest.
    pub token_key: Option<String>,
    /// When set, token exchanges and API calls go to this origin instead of `https://<referer>` (the sandbox).
    pub amo_base_url: Option<String>,
    /// How many job workers run in this process; 0 makes an HTTP-only instance.
    pub workers: usize,
    /// The most amoCRM requests per second for one account, shared by every worker of the process.
    pub rate_limit_per_second: u32,
    /// How long a claimed job stays leased before another worker may take it over.
    pub lease_seconds: u64,
    /// How often an idle worker looks for due jobs.
    pub poll_interval_ms: u64,
    /// Access tokens that expire within this many seconds are refreshed before use.
    pub refresh_margin_seconds: u64,
    /// How often each installed account is reconciled with `filter[updated_at][from]`; 0 disables
    /// every schedule (scans and automation passes), leaving only webhook and enqueued jobs.
    pub sync_interval_seconds: u64,
    /// How often the full scan of an account is repeated (the first one runs at once).
    pub full_scan_interval_seconds: u64,
    /// How often the automations look at each account's synced copy.
    pub automation_interval_seconds: u64,
    /// How long after a webhook the reconciliation runs (webhooks within it share one).
    pub delta_debounce_ms: u64,
    /// How long (business time) a lost deal is left alone before "lost anywhere" acts, so a refusal
    /// made in the card can finish its own follow-up first.
    pub lost_settle_seconds: u64,
    /// The business clock: `system`, `fixed:<unix>`, `offset:<seconds>` or `sandbox:<origin>`.
    pub clock: String,
    /// The origin amoCRM reaches this server at; webhooks are subscribed to `<it>/webhooks/amocrm`.
    pub public_url: Option<String>,
    /// The widget's code, to read its settings from amoCRM (`GET /api/v4/widgets/{code}`).
    pub widget_code: String,
    /// When set, webhooks must arrive as `POST /webhooks/amocrm?token=<this>` (amoCRM signs nothing).
    pub webhook_token: Option<String>,
    /// Long-lived tokens of private integrations, one per account.
    pub long_lived_tokens: Vec<LongLivedToken>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8400)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            client_id: String::new(),
            client_secret: String::new(),
            redirect_uri: None,
            token_key: None,
            amo_base_url: None,
            workers: 4,
            rate_limit_per_second: 7,
            lease_seconds: 60,
            poll_interval_ms: 250,
            refresh_margin_seconds: 3600,
            sync_interval_seconds: 300,
            full_scan_interval_seconds: 86_400,
            automation_interval_seconds: 60,
            delta_debounce_ms: 2000,
            lost_settle_seconds: 120,
            clock: "system".to_owned(),
            public_url: None,
            widget_code: "leakguard".to_owned(),
            webhook_token: None,
            long_lived_tokens: Vec::new(),
        }
    }
}

impl Config {
    /// Reads the TOML file (if any) and the process environment.
    pub fn load() -> Result<Config> {
        Config::load_with(|name| std::env::var(name).ok())
    }

    /// Like [`Config::load`], reading variables through `env` (tests pass a map).
    pub fn load_with(env: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let mut config = match env("LEAKGUARD_CONFIG") {
            Some(path) => Config::from_file(Path::new(&path))?,
            None if Path::new("leakguard.toml").exists() => {
                Config::from_file(Path::new("leakguard.toml"))?
            }
            None => Config::default(),
        };
        config.apply_env(env)?;
        Ok(config)
    }

    /// Parses a TOML file; missing keys keep their defaults.
    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing the config file {}", path.display()))
    }

    /// Overrides fields from environment variables.
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<()> {
        fn parse<T: std::str::FromStr>(name: &str, value: String) -> Result<T>
        where
            T::Err: std::fmt::Display,
        {
            value
                .trim()
                .parse()
                .map_err(|error| anyhow::anyhow!("{name}={value:?}: {error}"))
        }
        if let Some(value) = env("LEAKGUARD_LISTEN") {
            self.listen = parse("LEAKGUARD_LISTEN", value)?;
        }
        if let Some(value) = env("LEAKGUARD_DATA_DIR") {
            self.data_dir = PathBuf::from(value);
        }
        if let Some(value) = env("DATABASE_URL") {
            self.database_url = Some(value);
        }
        if let Some(value) = env("LEAKGUARD_CLIENT_ID") {
            self.client_id = value;
        }
        if let Some(value) = env("LEAKGUARD_CLIENT_SECRET") {
            self.client_secret = value;
        }
        if let Some(value) = env("LEAKGUARD_REDIRECT_URI") {
            self.redirect_uri = Some(value);
        }
        if let Some(value) = env("LEAKGUARD_TOKEN_KEY") {
            self.token_key = Some(value);
        }
        if let Some(value) = env("LEAKGUARD_AMO_BASE_URL") {
            self.amo_base_url = Some(value);
        }
        if let Some(value) = env("LEAKGUARD_WORKERS") {
            self.workers = parse("LEAKGUARD_WORKERS", value)?;
        }
        if let Some(value) = env("LEAKGUARD_RATE_LIMIT") {
            self.rate_limit_per_second = parse("LEAKGUARD_RATE_LIMIT", value)?;
        }
        if let Some(value) = env("LEAKGUARD_LEASE_SECONDS") {
            self.lease_seconds = parse("LEAKGUARD_LEASE_SECONDS", value)?;
        }
        if let Some(value) = env("LEAKGUARD_POLL_MS") {
            self.poll_interval_ms = parse("LEAKGUARD_POLL_MS", value)?;
        }
        if let Some(value) = env("LEAKGUARD_REFRESH_MARGIN") {
            self.refresh_margin_seconds = parse("LEAKGUARD_REFRESH_MARGIN", value)?;
        }
        if let Some(value) = env("LEAKGUARD_SYNC_INTERVAL") {
            self.sync_interval_seconds = parse("LEAKGUARD_SYNC_INTERVAL", value)?;
        }
        if let Some(value) = env("LEAKGUARD_FULL_SCAN_INTERVAL") {
            self.full_scan_interval_seconds = parse("LEAKGUARD_FULL_SCAN_INTERVAL", value)?;
        }
        if let Some(value) = env("LEAKGUARD_AUTOMATION_INTERVAL") {
            self.automation_interval_seconds = parse("LEAKGUARD_AUTOMATION_INTERVAL", value)?;
        }
        if let Some(value) = env("LEAKGUARD_DELTA_DEBOUNCE_MS") {
            self.delta_debounce_ms = parse("LEAKGUARD_DELTA_DEBOUNCE_MS", value)?;
        }
        if let Some(value) = env("LEAKGUARD_LOST_SETTLE") {
            self.lost_settle_seconds = parse("LEAKGUARD_LOST_SETTLE", value)?;
        }
        if let Some(value) = env("LEAKGUARD_CLOCK") {
            self.clock = value;
        }
        if let Some(value) = env("LEAKGUARD_PUBLIC_URL") {
            self.public_url = Some(value).filter(|url| !url.is_empty());
        }
        if let Some(value) = env("LEAKGUARD_WIDGET_CODE") {
            self.widget_code = value;
        }
        if let Some(value) = env("LEAKGUARD_WEBHOOK_TOKEN") {
            self.webhook_token = Some(value).filter(|token| !token.is_empty());
        }
        let llt = (
            env("LEAKGUARD_LLT_ACCOUNT_ID"),
            env("LEAKGUARD_LLT_BASE_URL"),
            env("LEAKGUARD_LLT_TOKEN"),
        );
        match llt {
            (Some(account_id), Some(base_url), Some(token)) => {
                let account_id = parse("LEAKGUARD_LLT_ACCOUNT_ID", account_id)?;
                self.long_lived_tokens
                    .retain(|existing| existing.account_id != account_id);
                self.long_lived_tokens.push(LongLivedToken {
                    account_id,
                    base_url,
                    token,
                });
            }
            (None, None, None) => {}
            _ => anyhow::bail!(
                "LEAKGUARD_LLT_ACCOUNT_ID, LEAKGUARD_LLT_BASE_URL and LEAKGUARD_LLT_TOKEN go together"
            ),
        }
        Ok(())
    }

    /// The database URL in force: the configured one or a SQLite file under `data_dir`.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("leakguard.db").display()
            ),
        }
    }

    /// The business clock this configuration asks for.
    pub fn clock_source(&self) -> Result<crate::clock::ClockSource> {
        crate::clock::ClockSource::parse(&self.clock)
    }

    /// The Redirect URI sent in token exchanges.
    pub fn redirect_uri(&self) -> String {
        self.redirect_uri
            .clone()
            .unwrap_or_else(|| format!("http://{}/oauth/callback", self.listen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn no_configuration_gives_the_documented_defaults() {
        let config = Config::load_with(env_of(&[])).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8400");
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(
            config.database_url(),
            "sqlite://./data/leakguard.db?mode=rwc"
        );
        assert_eq!(
            config.redirect_uri(),
            "http://127.0.0.1:8400/oauth/callback"
        );
        assert_eq!(config.rate_limit_per_second, 7);
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nworkers = 2\nclient_id = \"file\"\n\n[[long_lived_tokens]]\naccount_id = 5\nbase_url = \"http://a\"\ntoken = \"t\"\n",
        )
        .unwrap();
        let path = path.display().to_string();
        let config = Config::load_with(env_of(&[
            ("LEAKGUARD_CONFIG", path.as_str()),
            ("LEAKGUARD_CLIENT_ID", "env"),
            ("DATABASE_URL", "postgres://x/y"),
        ]))
        .unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.workers, 2);
        assert_eq!(config.client_id, "env");
        assert_eq!(config.database_url(), "postgres://x/y");
        assert_eq!(config.long_lived_tokens.len(), 1);
    }

    #[test]
    fn bad_values_and_unknown_keys_are_errors() {
        assert!(Config::load_with(env_of(&[("LEAKGUARD_WORKERS", "many")])).is_err());
        assert!(Config::load_with(env_of(&[("LEAKGUARD_LLT_TOKEN", "t")])).is_err());
        assert!(toml::from_str::<Config>("lisen = \"x\"").is_err());
        let bad_clock = Config::load_with(env_of(&[("LEAKGUARD_CLOCK", "tomorrow")])).unwrap();
        assert!(bad_clock.clock_source().is_err());
    }
}
