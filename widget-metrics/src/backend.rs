//! The LeakGuard backend as the page reads it: its address from the saved settings, the calls
//! made through amoCRM's `$authorizedAjax` (which adds the widget's `X-Auth-Token`), and the
//! decoding of its answers: the key metrics over its synced copy and the quality-control queue.
//!
//! Decoding is pure and tested natively; the calls live in [`Backend`].

use leakguard_core::dates::YearMonth;
use leakguard_core::deal::StageRef;
use leakguard_core::metrics::{
    Breakdown, Bucket, Filter, KeyMetrics, LostDeals, OverduePayments, ReasonRow, StuckDeals,
};
use leakguard_core::payments::{Currency, MarginRow, OverduePayment};
use leakguard_core::settings::PlanScope;
use serde::Deserialize;

use crate::host::{self, Widget};
use crate::http::HttpError;

/// The backend's address from the widget's saved settings JSON (`backend_url`, top level):
/// an `http(s)` URL, without its trailing slashes; `None` when it is absent or not a URL.
pub fn backend_url(config: Option<&str>) -> Option<String> {
    let settings: serde_json::Value = serde_json::from_str(config?).ok()?;
    let url = settings.get("backend_url")?.as_str()?.trim();
    let url = url.trim_end_matches('/');
    let scheme = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    (!scheme.is_empty() && !scheme.contains(char::is_whitespace)).then(|| url.to_owned())
}

/// The key metrics the backend computed, and how fresh its copy is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// The backend's clock when it answered (Unix seconds).
    pub now: i64,
    /// When the copy was last brought up to date; `None` before the first sync finished.
    pub synced_at: Option<i64>,
    pub metrics: KeyMetrics,
    /// The payments report of the period, when the backend keeps a copy of the payments.
    pub payments: Option<ServedPayments>,
}

/// The `payments` section of `GET /api/metrics`: the overdue payments of the filter and the margin
/// plan of every month of the period, computed by the core over the backend's copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedPayments {
    pub currency: Currency,
    /// Every overdue payment of the filter, longest overdue first, with the deal's name.
    pub overdue: Vec<(OverduePayment, Option<String>)>,
    pub margin: Vec<(YearMonth, Vec<MarginRow>)>,
}

impl Served {
    /// How long ago the copy was synced, in seconds, by the backend's own clock.
    pub fn age(&self) -> Option<i64> {
        self.synced_at.map(|at| (self.now - at).max(0))
    }
}

#[derive(Deserialize)]
struct WireBucket {
    count: usize,
    value: i64,
    #[serde(default)]
    deal_ids: Vec<u64>,
}

impl From<WireBucket> for Bucket {
    fn from(b: WireBucket) -> Bucket {
        Bucket {
            count: b.count,
            value: b.value,
            deal_ids: b.deal_ids,
        }
    }
}

#[derive(Deserialize)]
struct WireByStage {
    pipeline_id: u32,
    status_id: u32,
    bucket: WireBucket,
}

#[derive(Deserialize)]
struct WireByManager {
    user_id: u64,
    bucket: WireBucket,
}

fn by_manager(rows: Vec<WireByManager>) -> Vec<(u64, Bucket)> {
    rows.into_iter()
        .map(|r| (r.user_id, r.bucket.into()))
        .collect()
}

#[derive(Deserialize)]
struct WireBreakdown {
    total: WireBucket,
    #[serde(default)]
    by_stage: Vec<WireByStage>,
    #[serde(default)]
    by_manager: Vec<WireByManager>,
}

impl From<WireBreakdown> for Breakdown {
    fn from(b: WireBreakdown) -> Breakdown {
        Breakdown {
            total: b.total.into(),
            by_stage: b
                .by_stage
                .into_iter()
                .map(|r| (StageRef::new(r.pipeline_id, r.status_id), r.bucket.into()))
                .collect(),
            by_manager: by_manager(b.by_manager),
        }
    }
}

#[derive(Deserialize)]
struct WireReason {
    reason_id: Option<u64>,
    bucket: WireBucket,
    count_share_bp: i64,
    value_share_bp: i64,
}

#[derive(Deserialize)]
struct WireLost {
    total: WireBucket,
    #[serde(default)]
    by_reason: Vec<WireReason>,
    #[serde(default)]
    by_manager: Vec<WireByManager>,
}

impl From<WireLost> for LostDeals {
    fn from(l: WireLost) -> LostDeals {
        LostDeals {
            total: l.total.into(),
            by_reason: l
                .by_reason
                .into_iter()
                .map(|r| ReasonRow {
                    reason_id: r.reason_id,
                    bucket: r.bucket.into(),
                    count_share_bp: r.count_share_bp,
                    value_share_bp: r.value_share_bp,
                })
                .collect(),
            by_manager: by_manager(l.by_manager),
        }
    }
}

#[derive(Deserialize)]
struct WirePayments {
    total: WireBucket,
    #[serde(default)]
    by_manager: Vec<WireByManager>,
}

#[derive(Deserialize)]
struct WireStuck {
    stuck: WireBreakdown,
    escalated: WireBucket,
}

#[derive(Deserialize)]
struct WireMetrics {
    lost: WireLost,
    lost_previous: WireLost,
    overdue_tasks: WireBreakdown,
    without_task: WireBreakdown,
    overdue_payments: WirePayments,
    stuck: WireStuck,
}

#[derive(Deserialize)]
struct WireServed {
    now: i64,
    synced_at: Option<i64>,
    metrics: WireMetrics,
    #[serde(default)]
    payments: Option<WireServedPayments>,
}

#[derive(Deserialize)]
struct WireServedPayments {
    #[serde(default)]
    enabled: bool,
    currency: String,
    #[serde(default)]
    overdue: Vec<WireOverdue>,
    #[serde(default)]
    margin: Vec<WireMonth>,
}

#[derive(Deserialize)]
struct WireRef {
    id: u64,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct WireOverdue {
    deal: WireRef,
    manager: WireRef,
    planned_id: u64,
    due: String,
    outstanding: i64,
    days_overdue: i64,
}

#[derive(Deserialize)]
struct WireMonth {
    month: String,
    rows: Vec<WireMarginRow>,
}

#[derive(Deserialize)]
struct WireMarginRow {
    scope: PlanScope,
    target: Option<i64>,
    fact: i64,
    completion_bp: Option<i64>,
}

impl WireServedPayments {
    /// The report, or `None` when payments are off or a value is not what the backend documents.
    fn decode(self) -> Option<ServedPayments> {
        if !self.enabled {
            return None;
        }
        let overdue = self
            .overdue
            .into_iter()
            .map(|o| {
                let payment = OverduePayment {
                    deal_id: o.deal.id,
                    planned_id: o.planned_id,
                    responsible_user_id: o.manager.id,
                    due: o.due.parse().ok()?,
                    amount: o.outstanding,
                    days_overdue: o.days_overdue,
                };
                Some((payment, o.deal.name))
            })
            .collect::<Option<Vec<_>>>()?;
        let margin = self
            .margin
            .into_iter()
            .map(|m| {
                let rows = m
                    .rows
                    .into_iter()
                    .map(|r| MarginRow {
                        scope: r.scope,
                        target: r.target,
                        fact: r.fact,
                        completion_bp: r.completion_bp,
                    })
                    .collect();
                Some((m.month.parse().ok()?, rows))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(ServedPayments {
            currency: Currency::from_code(&self.currency)?,
            overdue,
            margin,
        })
    }
}

/// Decodes the body of `GET /api/metrics`.
pub fn decode_metrics(body: &str) -> Result<Served, serde_json::Error> {
    let wire: WireServed = serde_json::from_str(body)?;
    let m = wire.metrics;
    Ok(Served {
        now: wire.now,
        synced_at: wire.synced_at,
        payments: wire.payments.and_then(WireServedPayments::decode),
        metrics: KeyMetrics {
            lost: m.lost.into(),
            lost_previous: m.lost_previous.into(),
            overdue_tasks: m.overdue_tasks.into(),
            without_task: m.without_task.into(),
            overdue_payments: OverduePayments {
                total: m.overdue_payments.total.into(),
                by_manager: by_manager(m.overdue_payments.by_manager),
            },
            stuck: StuckDeals {
                stuck: m.stuck.stuck.into(),
                escalated: m.stuck.escalated.into(),
            },
        },
    })
}

/// Whether `GET /api/account` says LeakGuard is installed for the calling account.
pub fn decode_installed(body: &str) -> Result<bool, serde_json::Error> {
    #[derive(Deserialize)]
    struct Account {
        #[serde(default)]
        installed: bool,
    }
    serde_json::from_str::<Account>(body).map(|a| a.installed)
}

/// One breach of the quality-control queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breach {
    /// The backend's stable id, used in the action URLs.
    pub id: String,
    /// `no_next_step`, `stuck`, `escalated`, `overdue_task` or `lost_without_reason`.
    pub kind: String,
    pub deal_id: u64,
    pub deal_name: String,
    pub manager_id: u64,
    pub manager_name: Option<String>,
    pub pipeline: Option<String>,
    pub stage: Option<String>,
    pub value: i64,
    pub age_seconds: i64,
    pub acknowledged: bool,
    pub comments: usize,
}

/// The queue as the backend serves it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Queue {
    pub now: i64,
    pub breaches: Vec<Breach>,
}

#[derive(Deserialize)]
struct WireDeal {
    id: u64,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct WireManager {
    id: u64,
    name: Option<String>,
}

#[derive(Deserialize)]
struct WireStage {
    pipeline: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct WireBreach {
    id: String,
    kind: String,
    deal: WireDeal,
    manager: WireManager,
    stage: WireStage,
    #[serde(default)]
    value: i64,
    #[serde(default)]
    age_seconds: i64,
    #[serde(default)]
    acknowledged: Option<serde_json::Value>,
    #[serde(default)]
    comments: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct WireQueue {
    now: i64,
    breaches: Vec<WireBreach>,
}

/// Decodes the body of `GET /api/qc`.
pub fn decode_queue(body: &str) -> Result<Queue, serde_json::Error> {
    let wire: WireQueue = serde_json::from_str(body)?;
    Ok(Queue {
        now: wire.now,
        breaches: wire
            .breaches
            .into_iter()
            .map(|b| Breach {
                id: b.id,
                kind: b.kind,
                deal_id: b.deal.id,
                deal_name: b.deal.name,
                manager_id: b.manager.id,
                manager_name: b.manager.name,
                pipeline: b.stage.pipeline,
                stage: b.stage.name,
                value: b.value,
                age_seconds: b.age_seconds,
                acknowledged: b.acknowledged.is_some_and(|a| !a.is_null()),
                comments: b.comments.len(),
            })
            .collect(),
    })
}

/// A duration as its largest whole unit: the i18n key under `ui.metrics.age.` and the number.
pub fn age_unit(seconds: i64) -> (&'static str, i64) {
    let seconds = seconds.max(0);
    match seconds {
        s if s < 60 => ("seconds", s),
        s if s < 3_600 => ("minutes", s / 60),
        s if s < 86_400 => ("hours", s / 3_600),
        s => ("days", s / 86_400),
    }
}

/// The query string of `GET /api/metrics` for `filter`.
pub fn metrics_query(filter: &Filter) -> String {
    let mut query = format!("from={}&to={}", filter.period.from, filter.period.to);
    if let Some(pipeline) = filter.pipeline_id {
        query.push_str(&format!("&pipeline={pipeline}"));
    }
    if let Some(manager) = filter.manager_id {
        query.push_str(&format!("&manager={manager}"));
    }
    if let Some(group) = filter.group_id {
        query.push_str(&format!("&group={group}"));
    }
    query
}

/// A quality-control action on one breach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Acknowledge,
    Comment(String),
    Reassign(u64),
}

impl Action {
    /// The path under `/api/qc/{id}/` and the JSON body.
    fn request(&self) -> (&'static str, String) {
        match self {
            Action::Acknowledge => ("ack", "{}".to_owned()),
            Action::Comment(text) => ("comment", serde_json::json!({ "text": text }).to_string()),
            Action::Reassign(user) => (
                "reassign",
                serde_json::json!({ "user_id": user }).to_string(),
            ),
        }
    }
}

/// The backend of one page: its address and the widget whose `$authorizedAjax` signs the calls.
#[derive(Clone, Debug)]
pub struct Backend {
    widget: Widget,
    base: String,
}

impl Backend {
    /// The backend the saved settings name, if any.
    pub fn from_settings(widget: &Widget) -> Option<Backend> {
        let base = backend_url(widget.config().as_deref())?;
        Some(Backend {
            widget: widget.clone(),
            base,
        })
    }

    /// One call; the body of a 2xx answer.
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<String, HttpError> {
        let url = format!("{}{path}", self.base);
        let (status, text) = host::authorized(&self.widget, method, &url, body.as_deref()).await;
        match status {
            200..=299 => Ok(text),
            0 => Err(HttpError::Network),
            status => Err(HttpError::Status(status)),
        }
    }

    /// Whether LeakGuard is installed for this account.
    pub async fn installed(&self) -> Result<bool, HttpError> {
        let body = self.call("GET", "/api/account", None).await?;
        decode_installed(&body).map_err(|_| HttpError::Malformed)
    }

    /// The key metrics of `filter` over the backend's copy.
    pub async fn metrics(&self, filter: &Filter) -> Result<Served, HttpError> {
        let path = format!("/api/metrics?{}", metrics_query(filter));
        let body = self.call("GET", &path, None).await?;
        decode_metrics(&body).map_err(|_| HttpError::Malformed)
    }

    /// The current quality-control queue.
    pub async fn queue(&self) -> Result<Queue, HttpError> {
        let body = self.call("GET", "/api/qc", None).await?;
        decode_queue(&body).map_err(|_| HttpError::Malformed)
    }

    /// Records `action` on the breach `id`.
    pub async fn act(&self, id: &str, action: &Action) -> Result<(), HttpError> {
        let (verb, body) = action.request();
        let id = String::from(js_sys::encode_uri_component(id));
        self.call("POST", &format!("/api/qc/{id}/{verb}"), Some(body))
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakguard_core::metrics::Period;

    #[test]
    fn the_address_comes_from_the_saved_settings() {
        let url = |config: &str| backend_url(Some(config));
        assert_eq!(
            url(r#"{"backend_url":"https://lg.example.com/","next_step":{}}"#).as_deref(),
            Some("https://lg.example.com")
        );
        assert_eq!(
            url(r#"{"backend_url":" http://127.0.0.1:8400 "}"#).as_deref(),
            Some("http://127.0.0.1:8400")
        );
        assert_eq!(url(r#"{"backend_url":""}"#), None);
        assert_eq!(url(r#"{"backend_url":"ftp://x"}"#), None);
        assert_eq!(url(r#"{"backend_url":"https://"}"#), None);
        assert_eq!(url(r#"{"next_step":{}}"#), None);
        assert_eq!(url("{oops"), None);
        assert_eq!(backend_url(None), None);
    }

    #[test]
    fn metrics_decode_into_the_cores_type() {
        let bucket = |count: usize, value: i64, ids: &str| {
            format!(r#"{{"count":{count},"value":{value},"deal_ids":[{ids}]}}"#)
        };
        let empty_breakdown = format!(
            r#"{{"total":{},"by_stage":[],"by_manager":[]}}"#,
            bucket(0, 0, "")
        );
        let body = format!(
            r#"{{"now":1000,"period":{{"from":1,"to":2}},"synced_at":820,"metrics":{{
            "lost":{{"total":{lost},"by_reason":[{{"reason_id":null,"bucket":{lost},"count_share_bp":10000,"value_share_bp":10000}}],
                     "by_manager":[{{"user_id":7,"bucket":{lost}}}]}},
            "lost_previous":{{"total":{zero},"by_reason":[],"by_manager":[]}},
            "overdue_tasks":{{"total":{over},"by_stage":[{{"pipeline_id":3,"status_id":4,"bucket":{over}}}],"by_manager":[]}},
            "without_task":{empty},
            "overdue_payments":{{"total":{zero},"by_manager":[]}},
            "stuck":{{"stuck":{empty},"escalated":{zero}}}}}}}"#,
            lost = bucket(2, 300, "5,6"),
            zero = bucket(0, 0, ""),
            over = bucket(1, 50, "9"),
            empty = empty_breakdown,
        );
        let served = decode_metrics(&body).unwrap();
        assert_eq!(served.age(), Some(180));
        let m = &served.metrics;
        assert_eq!(m.lost.total.deal_ids, [5, 6]);
        assert_eq!(m.lost.total.value, 300);
        assert_eq!(m.lost.by_reason[0].reason_id, None);
        assert_eq!(m.lost.by_reason[0].count_share_bp, 10_000);
        assert_eq!(m.lost.by_manager[0].0, 7);
        assert_eq!(m.overdue_tasks.by_stage[0].0, StageRef::new(3, 4));
        assert_eq!(m.overdue_tasks.by_stage[0].1.deal_ids, [9]);
        assert_eq!(m.stuck.escalated, Bucket::default());
        // A copy that was never synced has no age; a body that is not the contract is refused.
        let never = body.replace("\"synced_at\":820", "\"synced_at\":null");
        assert_eq!(decode_metrics(&never).unwrap().age(), None);
        assert!(decode_metrics(r#"{"now":1}"#).is_err());
    }

    #[test]
    fn the_payments_section_decodes_when_payments_are_on() {
        let metrics = r#"{"lost":{"total":{"count":0,"value":0,"deal_ids":[]},"by_reason":[],"by_manager":[]},
            "lost_previous":{"total":{"count":0,"value":0,"deal_ids":[]},"by_reason":[],"by_manager":[]},
            "overdue_tasks":{"total":{"count":0,"value":0,"deal_ids":[]},"by_stage":[],"by_manager":[]},
            "without_task":{"total":{"count":0,"value":0,"deal_ids":[]},"by_stage":[],"by_manager":[]},
            "overdue_payments":{"total":{"count":1,"value":59950,"deal_ids":[10]},"by_manager":[]},
            "stuck":{"stuck":{"total":{"count":0,"value":0,"deal_ids":[]},"by_stage":[],"by_manager":[]},
                     "escalated":{"count":0,"value":0,"deal_ids":[]}}}"#;
        let payments = r#"{"enabled":true,"currency":"RUB","at_risk":59950,
            "overdue":[{"deal":{"id":10,"name":"Deal 10","url":"https://x/leads/detail/10"},
                        "manager":{"id":7,"name":"Ann"},"planned_id":1,"due":"2026-11-01",
                        "outstanding":59950,"days_overdue":26,"reminder_task_id":null}],
            "margin":[{"month":"2026-11","rows":[{"scope":{"kind":"company"},"manager":null,
                        "target":60000,"fact":30050,"completion_bp":5008},
                       {"scope":{"kind":"manager","user_id":7},"manager":{"id":7,"name":"Ann"},
                        "target":null,"fact":30050,"completion_bp":null}]}]}"#;
        let body =
            format!(r#"{{"now":1,"synced_at":1,"metrics":{metrics},"payments":{payments}}}"#);
        let served = decode_metrics(&body).unwrap().payments.unwrap();
        assert_eq!(served.currency, Currency::RUB);
        let (payment, name) = &served.overdue[0];
        assert_eq!(
            (payment.deal_id, payment.amount, payment.days_overdue),
            (10, 59_950, 26)
        );
        assert_eq!(
            (payment.responsible_user_id, name.as_deref()),
            (7, Some("Deal 10"))
        );
        assert_eq!(payment.due.to_string(), "2026-11-01");
        let (month, rows) = &served.margin[0];
        assert_eq!(month.to_string(), "2026-11");
        assert_eq!(rows[0].completion_bp, Some(5_008));
        assert_eq!(rows[1].scope, PlanScope::Manager { user_id: 7 });
        let off = body.replace(r#""enabled":true"#, r#""enabled":false"#);
        assert_eq!(decode_metrics(&off).unwrap().payments, None);
        let without = format!(r#"{{"now":1,"synced_at":1,"metrics":{metrics}}}"#);
        assert_eq!(decode_metrics(&without).unwrap().payments, None);
    }

    #[test]
    fn the_queue_decodes_with_its_notes() {
        let body = r#"{"now":100,"synced_at":90,"breaches":[
          {"id":"stuck-42-50","kind":"stuck","deal":{"id":42,"name":"Roof","url":"http://x/leads/detail/42"},
           "manager":{"id":7,"name":"Anna"},"stage":{"pipeline_id":1,"status_id":2,"pipeline":"Sales","name":"Offer"},
           "value":1500,"since":50,"age_seconds":50,"task_id":null,"acknowledged":null,"comments":[]},
          {"id":"overdue_task-43-10-9","kind":"overdue_task","deal":{"id":43,"name":"","url":"u"},
           "manager":{"id":8,"name":null},"stage":{"pipeline_id":1,"status_id":3,"pipeline":null,"name":null},
           "value":0,"since":10,"age_seconds":90,"task_id":9,"acknowledged":{"at":95,"by":1},
           "comments":[{"at":96,"by":1,"text":"call"}]}]}"#;
        let queue = decode_queue(body).unwrap();
        assert_eq!(queue.now, 100);
        let [first, second] = queue.breaches.as_slice() else {
            panic!("two breaches")
        };
        assert_eq!(first.id, "stuck-42-50");
        assert_eq!(first.manager_name.as_deref(), Some("Anna"));
        assert_eq!(first.stage.as_deref(), Some("Offer"));
        assert!(!first.acknowledged);
        assert_eq!(second.manager_name, None);
        assert!(second.acknowledged);
        assert_eq!(second.comments, 1);
        assert!(decode_installed(r#"{"installed":true,"status":"installed"}"#).unwrap());
        assert!(!decode_installed(r#"{"installed":false,"status":"not_installed"}"#).unwrap());
    }

    #[test]
    fn ages_and_queries() {
        assert_eq!(age_unit(-5), ("seconds", 0));
        assert_eq!(age_unit(59), ("seconds", 59));
        assert_eq!(age_unit(180), ("minutes", 3));
        assert_eq!(age_unit(7_300), ("hours", 2));
        assert_eq!(age_unit(3 * 86_400 + 5), ("days", 3));
        let mut filter = Filter::period(Period { from: 10, to: 20 });
        assert_eq!(metrics_query(&filter), "from=10&to=20");
        filter.pipeline_id = Some(3);
        filter.group_id = Some(4);
        assert_eq!(metrics_query(&filter), "from=10&to=20&pipeline=3&group=4");
        assert_eq!(
            Action::Reassign(5).request(),
            ("reassign", r#"{"user_id":5}"#.to_owned())
        );
        assert_eq!(
            Action::Comment("a \"b\"".into()).request().1,
            r#"{"text":"a \"b\""}"#
        );
    }
}
