//! Sandbox configuration: listeners, widget archives, fixture and the switches that imitate account differences.

use std::path::PathBuf;
use std::time::Duration;

/// Which data the sandbox starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fixture {
    /// Pipelines, users, reasons and a few thousand deals with tasks (the showcase).
    Demo,
    /// The account skeleton (pipelines, users, reasons, fields, catalogs) without deals.
    Empty,
}

impl std::str::FromStr for Fixture {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s {
            "demo" => Ok(Fixture::Demo),
            "empty" => Ok(Fixture::Empty),
            other => anyhow::bail!("unknown fixture {other:?} (expected demo or empty)"),
        }
    }
}

/// One widget archive to serve on the CDN origin.
#[derive(Debug, Clone)]
pub struct WidgetSource {
    /// The widget code (`self.params.widget_code`).
    pub code: String,
    /// Path of the `.zip` archive, relative to the current directory or absolute.
    pub path: PathBuf,
    /// When true a missing archive is only a warning (the CLI default `dist/widget.zip`).
    pub optional: bool,
    /// The integration's `client_uuid`; derived from the seed when `None`.
    pub client_uuid: Option<String>,
    /// The integration's secret key used to sign `X-Auth-Token`; derived from the seed when `None`.
    pub secret: Option<String>,
    /// The integration's Redirect URI (install hook target and OAuth `redirect_uri`); `None` for a widget
    /// uploaded without one, which then starts installed and sends no install hook.
    pub redirect_uri: Option<String>,
    /// The integration's revoke hook URL (`revoke_access_hook_uri`), called when the widget is uninstalled.
    pub revoke_uri: Option<String>,
}

impl WidgetSource {
    /// A required archive for `code` at `path`.
    pub fn new(code: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        WidgetSource {
            code: code.into(),
            path: path.into(),
            optional: false,
            client_uuid: None,
            secret: None,
            redirect_uri: None,
            revoke_uri: None,
        }
    }
}

/// What to do when a list is asked for more than 250 rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverLimit {
    /// 422 "Limit 250 per page" (Kommo's documented answer, the default).
    Reject,
    /// Silently serve 250 rows.
    Clamp,
}

/// What happens to a refresh token once it has been used (amocrm-api-v4.md §12.3; the docs disagree).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rotation {
    /// amoCRM RU: the used refresh token dies at once.
    #[default]
    SingleUse,
    /// Kommo: the used refresh token keeps working until the new pair is first used.
    Grace,
}

impl std::str::FromStr for Rotation {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s {
            "single_use" => Ok(Rotation::SingleUse),
            "grace" => Ok(Rotation::Grace),
            other => {
                anyhow::bail!("unknown rotation policy {other:?} (expected single_use or grace)")
            }
        }
    }
}

/// Account behaviours that differ between real accounts or are unconfirmed in the docs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ApiOptions {
    /// When false every `filter[...]` is ignored, like an account without API filter access (amocrm-api-v4.md §2.2).
    pub filters_enabled: bool,
    /// When true `/api/v4/users` answers 403 to non-admin users (amocrm-api-v4.md §8.1).
    pub users_require_admin: bool,
    /// Answer for `limit` above 250 (amocrm-api-v4.md §1.3, §14 item 3).
    pub over_limit: OverLimit,
    /// When true every API call answers 402 "Payment required" (an unpaid account, §14 item 1).
    pub payment_required: bool,
    /// The refresh-token rotation policy of `/oauth2/access_token` (§12.3, §14 item 14).
    pub refresh_rotation: Rotation,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            filters_enabled: true,
            users_require_admin: true,
            over_limit: OverLimit::Reject,
            payment_required: false,
            refresh_rotation: Rotation::SingleUse,
        }
    }
}

/// The per-client request limit of amocrm-api-v4.md §13.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// When false nothing is limited (benchmarks).
    pub enabled: bool,
    /// Requests allowed in any one-second window per client key (7 in amoCRM).
    pub per_second: u32,
    /// How many 429 answers within `violation_window` turn into a ban.
    pub ban_after_violations: u32,
    /// The window in which violations are counted.
    pub violation_window: Duration,
    /// How long a banned client gets 403 on every request.
    pub ban_duration: Duration,
    /// When true the ban answers nginx's HTML page instead of problem+json (observed in ISS#434).
    pub ban_html: bool,
    /// When true a 429 also carries a `Retry-After` header (unconfirmed in the docs, off by default).
    pub retry_after_header: bool,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            enabled: true,
            per_second: 7,
            ban_after_violations: 20,
            violation_window: Duration::from_secs(60),
            ban_duration: Duration::from_secs(60),
            ban_html: false,
            retry_after_header: false,
        }
    }
}

/// Everything `start` needs; `Default` equals the CLI defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// Port of the account origin on 127.0.0.1 (0 = any free port).
    pub port: u16,
    /// Port of the CDN origin on 127.0.0.1 (0 = any free port).
    pub cdn_port: u16,
    /// Widget archives to serve.
    pub widgets: Vec<WidgetSource>,
    /// The starting data.
    pub fixture: Fixture,
    /// Number of demo deals.
    pub deals: usize,
    /// Seed of every generated id, token and demo record.
    pub seed: u64,
    /// Whether the demo fixture has LeakGuard's payments catalog prepared (with records on a share of the deals and
    /// the widget's stored settings pointing at it), as if an administrator had saved the settings once.
    pub payments: bool,
    /// Directory with the fake amoCRM frontend (`index.html`, `js/`, `node_modules/`).
    pub host_dir: PathBuf,
    /// Account behaviour switches.
    pub api: ApiOptions,
    /// The request limiter.
    pub rate_limit: RateLimit,
    /// The `aud` claim of widget one-time tokens: the base of the integration's redirect URI.
    pub integration_redirect_base: String,
    /// Print one line per API call to stderr.
    pub log_requests: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 8300,
            cdn_port: 8301,
            widgets: vec![WidgetSource {
                optional: true,
                ..WidgetSource::new("leakguard", "dist/widget.zip")
            }],
            fixture: Fixture::Demo,
            deals: 3000,
            seed: 42,
            payments: true,
            host_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("host"),
            api: ApiOptions::default(),
            rate_limit: RateLimit::default(),
            integration_redirect_base: "http://127.0.0.1:8302".to_owned(),
            log_requests: true,
        }
    }
}
