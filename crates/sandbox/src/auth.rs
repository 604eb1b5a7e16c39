//! Who is calling: a `session_id` cookie or an `Authorization: Bearer` token, and which client key the limiter counts.

use axum::http::{header, HeaderMap};

use crate::state::SandboxState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "session_id";
/// The header the fake amoCRM frontend sets on its own calls.
pub const HOST_CLIENT_HEADER: &str = "x-sandbox-client";

/// Which kind of client made a call (the `client` field of the request log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// The fake amoCRM frontend itself (`X-Sandbox-Client: host`), exempt from the rate limit.
    Host,
    /// A widget call authenticated by the session cookie.
    Session,
    /// A call with a bearer token.
    Bearer,
}

impl ClientKind {
    /// The log name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Host => "host",
            ClientKind::Session => "session",
            ClientKind::Bearer => "bearer",
        }
    }
}

/// The authenticated caller of an API or ajax request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user the call acts as.
    pub user_id: u64,
    /// Whether that user is an account admin.
    pub is_admin: bool,
    /// Who made the call.
    pub client: ClientKind,
    /// The rate-limit key: one per session or token.
    pub key: String,
    /// The interface language of the session (`ru` for tokens).
    pub lang: String,
    /// Whether the call came with a session cookie (ajax endpoints need one).
    pub has_session: bool,
    /// The widget code of the integration whose OAuth token made the call.
    pub integration: Option<String>,
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Resolves the caller from a bearer token (preferred) or the session cookie.
pub fn identify(state: &SandboxState, headers: &HeaderMap) -> Option<Caller> {
    let is_host = headers
        .get(HOST_CLIENT_HEADER)
        .and_then(|v| v.to_str().ok())
        == Some("host");
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let mut integration = None;
    let (user_id, client, key, lang, has_session) = if let Some(token) = bearer {
        let user_id = state.token_user(token)?;
        integration = state.token_widget(token);
        (
            user_id,
            ClientKind::Bearer,
            format!("bearer:{token}"),
            "ru".to_owned(),
            false,
        )
    } else {
        let id = cookie(headers, SESSION_COOKIE)?;
        let session = state.session(&id)?;
        (
            session.user_id,
            ClientKind::Session,
            format!("session:{id}"),
            session.lang,
            true,
        )
    };
    let is_admin = state.store().user(user_id).is_some_and(|u| u.is_admin);
    let client = if is_host { ClientKind::Host } else { client };
    Some(Caller {
        user_id,
        is_admin,
        client,
        key,
        lang,
        has_session,
        integration,
    })
}
