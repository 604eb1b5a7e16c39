//! Installing and uninstalling a widget's integration: the switch itself, the install hook that hands the backend an
//! authorization code, and the signed revoke hook (amocrm-api-v4.md §11.4, amocrm-widget-platform.md §1.3).

use std::sync::Mutex;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::routes::AppState;

/// The `User-Agent` of the revoke hook.
pub const REVOKE_USER_AGENT: &str = "amoService-oAuth-Code-Sender/1.0";
/// How long the sandbox waits for a hook's answer (the answer itself is ignored).
const HOOK_TIMEOUT: Duration = Duration::from_secs(3);

/// One install or revoke hook the sandbox sent.
#[derive(Debug, Clone, Serialize)]
pub struct HookRecord {
    /// Order of sending.
    pub seq: u64,
    /// `install` or `revoke`.
    pub kind: &'static str,
    /// The widget code.
    pub widget: String,
    /// The full URL called, query included.
    pub url: String,
    /// The receiver's HTTP status, `None` when there was no answer.
    pub status: Option<u16>,
    /// Why there was no answer.
    pub error: Option<String>,
    /// When it was sent, on the sandbox clock.
    pub at: i64,
}

/// The hooks sent so far (`GET /__sandbox/oauth/hooks`).
#[derive(Debug, Default)]
pub struct HookLog(Mutex<Vec<HookRecord>>);

impl HookLog {
    /// Every hook, oldest first.
    pub fn all(&self) -> Vec<HookRecord> {
        self.0.lock().expect("hook log lock").clone()
    }

    fn push(&self, mut record: HookRecord) {
        let mut log = self.0.lock().expect("hook log lock");
        record.seq = log.len() as u64 + 1;
        log.push(record);
    }

    /// Forgets every record.
    pub fn clear(&self) {
        self.0.lock().expect("hook log lock").clear();
    }
}

/// What a settings save or an API call did to a widget's installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// It was off and is now installed: the install hook went out.
    Installed,
    /// It was installed and is now off: its tokens died and the revoke hook went out.
    Uninstalled,
    /// Nothing changed.
    Unchanged,
}

/// Hex HMAC-SHA256 of `"{client_id}|{account_id}"` keyed with the client secret (§11.4).
pub fn revoke_signature(secret: &str, client_id: &str, account_id: u64) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{client_id}|{account_id}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Switches widget `code` on or off as `user_id`; `None` when there is no such widget.
///
/// Turning it on sends the install hook (once per installation, response ignored, not resent) when the integration
/// has a Redirect URI. Turning it off revokes every code and token of the integration and sends the revoke hook when
/// one is configured.
pub fn set_active(state: &AppState, code: &str, active: bool, user_id: u64) -> Option<Transition> {
    let (was, client_id, secret, redirect_uri, revoke_uri) = {
        let mut widgets = state.widgets_mut();
        let widget = widgets.iter_mut().find(|w| w.archive.code == code)?;
        let was = widget.active;
        widget.active = active;
        (
            was,
            widget.client_uuid.clone(),
            widget.secret.clone(),
            widget.redirect_uri.clone(),
            widget.revoke_uri.clone(),
        )
    };
    let now = state.clock.now();
    match (was, active) {
        (false, true) => {
            if let Some(uri) = redirect_uri {
                let code_value = state.oauth.issue_code(&client_id, user_id, now);
                let host = state.account_claims().host;
                let query = [
                    ("code", code_value.as_str()),
                    ("referer", host.as_str()),
                    ("from_widget", "1"),
                    ("platform", "2"),
                    ("client_id", client_id.as_str()),
                ];
                send(state, "install", code, &uri, &query, None);
            }
            Some(Transition::Installed)
        }
        (true, false) => {
            state.oauth.revoke_client(&client_id);
            if let Some(uri) = revoke_uri {
                let account_id = state.store().account.id;
                let signature = revoke_signature(&secret, &client_id, account_id);
                let account = account_id.to_string();
                let query = [
                    ("client_uuid", client_id.as_str()),
                    ("account_id", account.as_str()),
                    ("signature", signature.as_str()),
                ];
                send(state, "revoke", code, &uri, &query, Some(REVOKE_USER_AGENT));
            }
            Some(Transition::Uninstalled)
        }
        _ => Some(Transition::Unchanged),
    }
}

/// Sends one GET hook in the background and records its outcome.
fn send(
    state: &AppState,
    kind: &'static str,
    widget: &str,
    base: &str,
    query: &[(&str, &str)],
    user_agent: Option<&'static str>,
) {
    let at = state.clock.now();
    let mut record = HookRecord {
        seq: 0,
        kind,
        widget: widget.to_owned(),
        url: base.to_owned(),
        status: None,
        error: None,
        at,
    };
    let mut url = match reqwest::Url::parse(base) {
        Ok(url) => url,
        Err(err) => {
            record.error = Some(format!("not a URL: {err}"));
            state.integration_hooks.push(record);
            return;
        }
    };
    url.query_pairs_mut().extend_pairs(query);
    record.url = url.to_string();
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        record.error = Some("no async runtime to send from".into());
        state.integration_hooks.push(record);
        return;
    };
    let state = state.clone();
    runtime.spawn(async move {
        let mut request = state.http.get(url).timeout(HOOK_TIMEOUT);
        if let Some(agent) = user_agent {
            request = request.header(reqwest::header::USER_AGENT, agent);
        }
        match request.send().await {
            Ok(response) => record.status = Some(response.status().as_u16()),
            Err(err) => record.error = Some(err.to_string()),
        }
        state.integration_hooks.push(record);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoke_signature_is_hex_hmac_sha256() {
        // printf '%s' 'client|42' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            revoke_signature("secret", "client", 42),
            "fa6d3249426c301701036fb1da383fd5fe4e6e874d48bf2e81869152714ea685"
        );
    }
}
