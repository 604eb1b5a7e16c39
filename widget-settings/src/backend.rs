//! Pushing the saved configuration to the LeakGuard backend (`PUT <backend_url>/api/settings`)
//! through amoCRM's `$authorizedAjax`, which adds the widget's `X-Auth-Token`, and the
//! `localStorage` marker that keeps a push that did not get through until a later one does.
//!
//! The decisions (which answer is retried, what a refusal says) are pure and tested natively.

use leakguard_core::settings::{problem, Problem};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::config::backend_url_is_valid;
use crate::host::Widget;

/// How many times one push is sent before it is left pending.
const ATTEMPTS: u32 = 2;

/// How long one attempt may take; with the pause between attempts a save waits at most ~4.5 s.
const ATTEMPT_TIMEOUT_MS: u32 = 2_000;

/// The pause before the second attempt.
const RETRY_PAUSE_MS: u32 = 500;

/// The message of a backend problem whose key this form does not know.
pub const REFUSED: &str = "ui.settings.error.backend_refused";

/// Every message key a backend problem may name that this form can show as it is.
const KNOWN_KEYS: [&str; 12] = [
    problem::OUT_OF_RANGE,
    problem::REQUIRED,
    problem::DUPLICATE,
    problem::CLOSED_STAGE,
    problem::LOST_STAGE,
    problem::ESCALATION_NOT_AFTER_LIMIT,
    problem::SUPERVISOR_REQUIRED,
    problem::NO_WORKING_WEEKDAY,
    problem::LABEL_KEY,
    "ui.settings.error.backend_url",
    "ui.settings.error.date",
    "ui.settings.error.unreadable",
];

/// What became of one push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pushed {
    /// The backend stored the settings.
    Accepted,
    /// The backend refused them (422) with these problems.
    Refused(Vec<Problem>),
    /// No usable answer (the last status, 0 for none): the push stays pending.
    Failed(u16),
}

/// The URL of the settings endpoint of the backend at `backend_url`; `None` without a backend.
pub fn settings_url(backend_url: &str) -> Option<String> {
    let url = backend_url.trim();
    (!url.is_empty() && backend_url_is_valid(url))
        .then(|| format!("{}/api/settings", url.trim_end_matches('/')))
}

/// Whether an answer with `status` is worth another attempt: no answer, a 429 or a 5xx.
pub fn retried(status: u16) -> bool {
    status == 0 || status == 429 || status >= 500
}

/// A backend problem (`{path, key}`) as the form shows it: its key when the form knows it, else
/// a general "the backend refused this value".
pub fn problem_of(path: String, key: &str) -> Problem {
    Problem {
        path,
        key: KNOWN_KEYS
            .into_iter()
            .find(|known| *known == key)
            .unwrap_or(REFUSED),
    }
}

/// The `localStorage` key of the pending marker of `account`.
pub fn pending_key(account: u64) -> String {
    format!("leakguard.settings-push.v1.{account}")
}

#[wasm_bindgen(inline_js = r#"
export function authorized_ajax(widget, method, url, body, timeout) {
  return new Promise(function (resolve) {
    var settings = { url: url, type: method, dataType: 'text', timeout: timeout };
    if (body !== undefined && body !== null) {
      settings.data = body;
      settings.contentType = 'application/json';
    }
    var done = false;
    var finish = function (answer) {
      if (!done) {
        done = true;
        resolve(answer);
      }
    };
    // The token request before the call is not covered by jQuery's timeout; this covers both.
    setTimeout(function () { finish({ status: 0, body: '' }); }, timeout + 250);
    var request;
    try {
      request = widget.$authorizedAjax(settings);
    } catch (error) {
      finish({ status: 0, body: '' });
      return;
    }
    request.then(function (data, _text, xhr) {
      finish({ status: (xhr && xhr.status) || 200, body: typeof data === 'string' ? data : '' });
    }, function (xhr) {
      finish({ status: (xhr && xhr.status) || 0, body: (xhr && xhr.responseText) || '' });
    });
  });
}

export function storage_get(key) {
  try { return window.localStorage.getItem(key); } catch (error) { return null; }
}

export function storage_set(key, value) {
  try { window.localStorage.setItem(key, value); } catch (error) { /* storage is off: nothing is kept */ }
}

export function storage_remove(key) {
  try { window.localStorage.removeItem(key); } catch (error) { /* storage is off: nothing to remove */ }
}
"#)]
extern "C" {
    /// `widget.$authorizedAjax(settings)` (a jQuery Deferred) as a Promise of `{status, body}`
    /// that always resolves within `timeout` (plus a little): status 0 means no answer at all.
    fn authorized_ajax(
        widget: &Widget,
        method: &str,
        url: &str,
        body: JsValue,
        timeout: u32,
    ) -> js_sys::Promise;

    fn storage_get(key: &str) -> Option<String>;
    fn storage_set(key: &str, value: &str);
    fn storage_remove(key: &str);
}

/// One call through `$authorizedAjax`: the HTTP status (0 when nothing came back) and the body.
async fn call(widget: &Widget, url: &str, body: &str) -> (u16, String) {
    let promise = authorized_ajax(
        widget,
        "PUT",
        url,
        JsValue::from_str(body),
        ATTEMPT_TIMEOUT_MS,
    );
    let Ok(answer) = JsFuture::from(promise).await else {
        return (0, String::new());
    };
    let field = |key: &str| js_sys::Reflect::get(&answer, &key.into()).unwrap_or_default();
    let status = field("status")
        .as_f64()
        .filter(|s| (0.0..1000.0).contains(s))
        .map_or(0, |s| s as u16);
    (status, field("body").as_string().unwrap_or_default())
}

/// The problems of a 422 body (`{"error":"invalid_settings","problems":[{path,key}]}`); one
/// general problem when the body does not list any.
fn refusal(body: &str) -> Vec<Problem> {
    #[derive(serde::Deserialize)]
    struct Wire {
        #[serde(default)]
        problems: Vec<WireProblem>,
    }
    #[derive(serde::Deserialize)]
    struct WireProblem {
        path: String,
        key: String,
    }
    let problems: Vec<Problem> = js_sys::JSON::parse(body)
        .ok()
        .and_then(|value| serde_wasm_bindgen::from_value::<Wire>(value).ok())
        .map(|wire| {
            wire.problems
                .into_iter()
                .map(|p| problem_of(p.path, &p.key))
                .collect()
        })
        .unwrap_or_default();
    if problems.is_empty() {
        vec![problem_of(crate::config::BACKEND_URL.to_owned(), REFUSED)]
    } else {
        problems
    }
}

/// PUTs the settings JSON `config` to `url`, once more after a pause when there was no usable answer.
pub async fn push(widget: &Widget, url: &str, config: &str) -> Pushed {
    let mut status = 0;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            gloo_timers::future::TimeoutFuture::new(RETRY_PAUSE_MS).await;
        }
        let (answer, body) = call(widget, url, config).await;
        status = answer;
        match status {
            200..=299 => return Pushed::Accepted,
            422 => return Pushed::Refused(refusal(&body)),
            status if retried(status) => continue,
            _ => break,
        }
    }
    Pushed::Failed(status)
}

/// Whether a push of `account`'s settings is pending.
pub fn is_pending(account: u64) -> bool {
    storage_get(&pending_key(account)).is_some()
}

/// Marks (or clears) a pending push of `account`'s settings; the value is when it was left pending.
pub fn set_pending(account: u64, pending: bool) {
    let key = pending_key(account);
    if pending {
        storage_set(&key, &format!("{}", js_sys::Date::now() as u64));
    } else {
        storage_remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_follows_the_saved_address() {
        assert_eq!(
            settings_url("https://lg.example.com/").as_deref(),
            Some("https://lg.example.com/api/settings")
        );
        assert_eq!(
            settings_url(" http://127.0.0.1:8400 ").as_deref(),
            Some("http://127.0.0.1:8400/api/settings")
        );
        assert_eq!(settings_url(""), None);
        assert_eq!(settings_url("http://lg.example.com"), None);
    }

    #[test]
    fn only_missing_answers_busy_servers_and_rate_limits_are_retried() {
        assert!(retried(0));
        assert!(retried(429));
        assert!(retried(502));
        assert!(!retried(200));
        assert!(!retried(422));
        assert!(!retried(401));
        assert!(!retried(404));
    }

    #[test]
    fn backend_problems_keep_known_keys_and_name_the_others_in_general() {
        let known = problem_of("payments.default_time".into(), problem::OUT_OF_RANGE);
        assert_eq!(known.key, problem::OUT_OF_RANGE);
        assert_eq!(known.path, "payments.default_time");
        let unknown = problem_of("stuck.tag".into(), "ui.settings.error.from_the_future");
        assert_eq!(unknown.key, REFUSED);
        assert_eq!(
            pending_key(31_000_001),
            "leakguard.settings-push.v1.31000001"
        );
    }
}
