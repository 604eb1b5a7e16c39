//! The shared state of one sandbox: the account store, sessions and tokens, clock, widgets and test controls.

pub mod model;
pub mod store;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::{Map, Value};

use crate::changes::Change;
use crate::clock::Clock;
use crate::config::{ApiOptions, Config, Fixture};
use crate::faults::Faults;
use crate::integration::HookLog;
use crate::oauth::{AccountClaims, Client, OAuth};
use crate::ratelimit::RateLimiter;
use crate::requestlog::RequestLog;
use crate::webhooks::Emitter;
use crate::widgets::{Widget, WidgetArchive};
pub use store::{Showcase, Store};

/// The "closed – won" stage, the same id in every pipeline.
pub const WON: u64 = 142;
/// The "closed – lost" stage, the same id in every pipeline.
pub const LOST: u64 = 143;

/// A browser session (the `session_id` cookie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The signed-in user.
    pub user_id: u64,
    /// The interface language (`ru`, `en`, `es`, `pt`).
    pub lang: String,
}

/// The two origins once they are bound.
#[derive(Debug, Clone)]
pub struct Urls {
    /// The account origin, e.g. `http://127.0.0.1:8300`.
    pub app: String,
    /// The CDN origin, e.g. `http://127.0.0.1:8301`.
    pub cdn: String,
}

/// Everything one running sandbox shares between its handlers.
#[derive(Debug)]
pub struct SandboxState {
    store: RwLock<Store>,
    options: RwLock<ApiOptions>,
    sessions: Mutex<HashMap<String, Session>>,
    tokens: Mutex<HashMap<String, u64>>,
    admin_token: String,
    rng: Mutex<fastrand::Rng>,
    widgets: RwLock<Vec<Widget>>,
    urls: OnceLock<Urls>,
    /// The sandbox clock.
    pub clock: Clock,
    /// The request limiter.
    pub limiter: RateLimiter,
    /// Pending injected faults.
    pub faults: Faults,
    /// The log of API and ajax calls.
    pub log: RequestLog,
    /// Authorization codes and OAuth tokens issued to integrations.
    pub oauth: OAuth,
    /// Install and revoke hooks sent to integrations.
    pub integration_hooks: HookLog,
    /// The webhook emitter.
    pub webhooks: Emitter,
    /// The HTTP client of every outgoing hook.
    pub http: reqwest::Client,
    /// The configuration the sandbox was started with.
    pub config: Config,
}

impl SandboxState {
    /// Builds the state: the fixture, the admin token and the installed widgets.
    pub fn new(config: Config, archives: Vec<WidgetArchive>) -> SandboxState {
        let clock = Clock::default();
        let store = crate::demo::build(
            config.fixture,
            config.seed,
            config.deals,
            clock.now(),
            config.payments,
        );
        let mut rng = fastrand::Rng::with_seed(config.seed ^ 0x5eed_70c3);
        let admin_token = random_token(&mut rng, 48);
        let tokens = HashMap::from([(admin_token.clone(), store.showcase.admin_user_id)]);
        let widgets = archives
            .into_iter()
            .enumerate()
            .map(|(i, a)| install_widget(&config, &store, i, a))
            .collect();
        SandboxState {
            store: RwLock::new(store),
            options: RwLock::new(config.api.clone()),
            sessions: Mutex::new(HashMap::new()),
            tokens: Mutex::new(tokens),
            admin_token,
            rng: Mutex::new(rng),
            widgets: RwLock::new(widgets),
            urls: OnceLock::new(),
            clock,
            limiter: RateLimiter::new(config.rate_limit.clone()),
            faults: Faults::default(),
            log: RequestLog::default(),
            oauth: OAuth::new(config.seed),
            integration_hooks: HookLog::default(),
            webhooks: Emitter::default(),
            http: reqwest::Client::new(),
            config,
        }
    }

    /// Read access to the account.
    pub fn store(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().expect("store lock")
    }

    /// Write access to the account.
    pub fn store_mut(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().expect("store lock")
    }

    /// Replaces the data with a fresh fixture and restores each widget's starting install state and settings.
    /// Sessions and the sandbox's own tokens stay valid; integrations' codes and OAuth tokens are forgotten.
    pub fn reset(&self, fixture: Fixture, seed: u64, deals: usize, payments: bool) {
        let store = crate::demo::build(fixture, seed, deals, self.clock.now(), payments);
        for widget in self.widgets.write().expect("widgets lock").iter_mut() {
            widget.active = widget.redirect_uri.is_none();
            widget.settings = starting_settings(&store, &widget.archive.code);
        }
        *self.store_mut() = store;
        self.oauth.clear();
        self.integration_hooks.clear();
        self.webhooks.reset();
        self.faults.clear();
        self.limiter.clear();
    }

    /// Records the events of `changes` and hands the webhook deliveries they cause to the emitter, releasing the
    /// store lock before anything is sent.
    pub fn publish(&self, mut store: RwLockWriteGuard<'_, Store>, now: i64, changes: &[Change]) {
        let jobs = crate::changes::commit(&mut store, self.app_url(), now, changes);
        drop(store);
        self.webhooks.enqueue(jobs);
    }

    /// The current account behaviour switches.
    pub fn options(&self) -> ApiOptions {
        self.options.read().expect("options lock").clone()
    }

    /// Replaces the account behaviour switches.
    pub fn set_options(&self, options: ApiOptions) {
        *self.options.write().expect("options lock") = options;
    }

    /// The admin's long-lived bearer token.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Issues a bearer token acting as `user_id` (like a long-lived token of that user).
    pub fn issue_token(&self, user_id: u64) -> String {
        let token = random_token(&mut self.rng.lock().expect("rng lock"), 48);
        self.tokens
            .lock()
            .expect("tokens lock")
            .insert(token.clone(), user_id);
        token
    }

    /// The user a bearer token acts as: the sandbox's own tokens, or a live OAuth or long-lived integration token.
    pub fn token_user(&self, token: &str) -> Option<u64> {
        let own = self.tokens.lock().expect("tokens lock").get(token).copied();
        own.or_else(|| {
            self.oauth
                .bearer(token, self.clock.now())
                .map(|bearer| bearer.user_id)
        })
    }

    /// The integration (widget code) a live OAuth token belongs to; `None` for the sandbox's own tokens.
    pub fn token_widget(&self, token: &str) -> Option<String> {
        let bearer = self.oauth.bearer(token, self.clock.now())?;
        self.widgets()
            .iter()
            .find(|w| w.client_uuid == bearer.client_id)
            .map(|w| w.archive.code.clone())
    }

    /// Every widget's integration as the token endpoint sees it.
    pub fn oauth_clients(&self) -> Vec<Client> {
        self.widgets()
            .iter()
            .map(|w| Client {
                code: w.archive.code.clone(),
                client_id: w.client_uuid.clone(),
                secret: w.secret.clone(),
                redirect_uri: w.redirect_uri.clone(),
            })
            .collect()
    }

    /// The account id and host put into access tokens and hooks (`referer`).
    pub fn account_claims(&self) -> AccountClaims {
        let app = self.app_url();
        AccountClaims {
            account_id: self.store().account.id,
            host: app
                .strip_prefix("http://")
                .or_else(|| app.strip_prefix("https://"))
                .unwrap_or(app)
                .to_owned(),
        }
    }

    /// Opens a session for `user_id` and returns its id.
    pub fn open_session(&self, user_id: u64, lang: &str) -> String {
        let id = random_token(&mut self.rng.lock().expect("rng lock"), 32);
        self.sessions.lock().expect("sessions lock").insert(
            id.clone(),
            Session {
                user_id,
                lang: lang.to_owned(),
            },
        );
        id
    }

    /// The session behind a `session_id` cookie.
    pub fn session(&self, id: &str) -> Option<Session> {
        self.sessions
            .lock()
            .expect("sessions lock")
            .get(id)
            .cloned()
    }

    /// A random UUID-shaped id (request ids, `jti`).
    pub fn uuid(&self) -> String {
        let mut rng = self.rng.lock().expect("rng lock");
        uuid_from(&mut rng)
    }

    /// Installed widgets.
    pub fn widgets(&self) -> RwLockReadGuard<'_, Vec<Widget>> {
        self.widgets.read().expect("widgets lock")
    }

    /// Re-reads archives whose file changed on disk (a rebuilt `dist/widget.zip`), keeping their install state.
    /// A rebuilt archive that no longer loads is reported and the previous one kept.
    pub fn reload_stale_widgets(&self) {
        let stale: Vec<(usize, String, std::path::PathBuf)> = self
            .widgets()
            .iter()
            .enumerate()
            .filter(|(_, w)| w.archive.is_stale())
            .map(|(i, w)| (i, w.archive.code.clone(), w.archive.source.clone()))
            .collect();
        for (index, code, path) in stale {
            match crate::widgets::load_archive(&code, &path) {
                Ok(archive) => self.widgets_mut()[index].archive = archive,
                Err(err) => eprintln!("warning: keeping the previous {code} archive: {err:#}"),
            }
        }
    }

    /// Mutable access to installed widgets.
    pub fn widgets_mut(&self) -> RwLockWriteGuard<'_, Vec<Widget>> {
        self.widgets.write().expect("widgets lock")
    }

    /// Records the bound origins (once, at start).
    pub fn set_urls(&self, urls: Urls) {
        let _ = self.urls.set(urls);
    }

    /// The account origin, e.g. `http://127.0.0.1:8300`.
    pub fn app_url(&self) -> &str {
        self.urls
            .get()
            .map(|u| u.app.as_str())
            .unwrap_or("http://127.0.0.1")
    }

    /// The CDN origin, e.g. `http://127.0.0.1:8301`.
    pub fn cdn_url(&self) -> &str {
        self.urls
            .get()
            .map(|u| u.cdn.as_str())
            .unwrap_or("http://127.0.0.1")
    }
}

/// The settings a widget starts with: what the fixture saved for it, else none.
fn starting_settings(store: &Store, code: &str) -> Map<String, Value> {
    store.widget_settings.get(code).cloned().unwrap_or_default()
}

/// A widget as uploaded at start: the fixture's settings, ids and secret from the seed unless configured. A widget whose
/// integration has a Redirect URI starts not installed, so that installing it sends the install hook; others start
/// installed.
fn install_widget(config: &Config, store: &Store, index: usize, archive: WidgetArchive) -> Widget {
    let source = config.widgets.iter().find(|w| w.code == archive.code);
    let code_hash = archive.code.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    let mut rng = fastrand::Rng::with_seed(config.seed ^ code_hash);
    let client_uuid = source
        .and_then(|s| s.client_uuid.clone())
        .unwrap_or_else(|| uuid_from(&mut rng));
    let secret = source
        .and_then(|s| s.secret.clone())
        .unwrap_or_else(|| random_token(&mut rng, 64));
    let redirect_uri = source.and_then(|s| s.redirect_uri.clone());
    let settings = starting_settings(store, &archive.code);
    Widget {
        archive,
        id: 1_200_001 + index as u64,
        client_uuid,
        secret,
        active: redirect_uri.is_none(),
        settings,
        redirect_uri,
        revoke_uri: source.and_then(|s| s.revoke_uri.clone()),
    }
}

/// `len` random alphanumeric characters.
pub fn random_token(rng: &mut fastrand::Rng, len: usize) -> String {
    (0..len).map(|_| rng.alphanumeric()).collect()
}

/// A version-4-shaped UUID from `rng`.
pub fn uuid_from(rng: &mut fastrand::Rng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Serialises a showcase for `GET /__sandbox/demo`.
pub fn showcase_json(showcase: &Showcase) -> Value {
    serde_json::to_value(showcase).unwrap_or(Value::Null)
}
