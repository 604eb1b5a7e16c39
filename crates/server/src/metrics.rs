//! Prometheus metrics: counters kept in memory, queue and pause gauges read from the database at scrape time.

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// Every metric the server exports.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    amo_requests: Family<Labels, Counter>,
    errors: Family<Labels, Counter>,
    webhook_events: Family<Labels, Counter>,
    jobs_finished: Family<Labels, Counter>,
    automation_actions: Family<Labels, Counter>,
    jobs: Family<Labels, Gauge>,
    accounts_paused: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics(..)")
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("leakguard");
        let metrics = Metrics {
            registry: Arc::default(),
            amo_requests: Family::default(),
            errors: Family::default(),
            webhook_events: Family::default(),
            jobs_finished: Family::default(),
            automation_actions: Family::default(),
            jobs: Family::default(),
            accounts_paused: Gauge::default(),
        };
        registry.register(
            "amo_requests",
            "Requests sent to amoCRM, by account and HTTP status (0 = no response)",
            metrics.amo_requests.clone(),
        );
        registry.register("errors", "Errors, by kind", metrics.errors.clone());
        registry.register(
            "webhook_events",
            "Webhook events received, by result (recorded or duplicate)",
            metrics.webhook_events.clone(),
        );
        registry.register(
            "jobs_finished",
            "Job runs finished by this process, by kind and outcome",
            metrics.jobs_finished.clone(),
        );
        registry.register(
            "automation_actions",
            "Actions the automations carried out in amoCRM, by kind",
            metrics.automation_actions.clone(),
        );
        registry.register("jobs", "Jobs in the queue, by state", metrics.jobs.clone());
        registry.register(
            "accounts_paused",
            "Accounts whose amoCRM calls are paused after a 403 ban",
            metrics.accounts_paused.clone(),
        );
        *metrics.registry.lock().expect("metrics registry lock") = registry;
        metrics
    }
}

impl Metrics {
    /// Counts one request to amoCRM.
    pub fn amo_request(&self, account_id: i64, status: u16) {
        self.amo_requests
            .get_or_create(&vec![
                ("account", account_id.to_string()),
                ("status", status.to_string()),
            ])
            .inc();
    }

    /// Counts one error of `kind`.
    pub fn error(&self, kind: &'static str) {
        self.errors
            .get_or_create(&vec![("kind", kind.to_string())])
            .inc();
    }

    /// Counts one webhook event by result.
    pub fn webhook_event(&self, result: &'static str) {
        self.webhook_events
            .get_or_create(&vec![("result", result.to_string())])
            .inc();
    }

    /// Counts one finished job run.
    pub fn job_finished(&self, kind: &str, outcome: &'static str) {
        self.jobs_finished
            .get_or_create(&vec![
                ("kind", kind.to_string()),
                ("outcome", outcome.to_string()),
            ])
            .inc();
    }

    /// Counts `count` automation actions of `kind` (a tag change, a watchdog task, …).
    pub fn automation_action(&self, kind: &str, count: u64) {
        self.automation_actions
            .get_or_create(&vec![("kind", kind.to_string())])
            .inc_by(count);
    }

    /// Renders the text exposition format after setting the gauges read from the database.
    pub fn render(&self, jobs_by_state: &[(String, i64)], paused_accounts: i64) -> String {
        self.jobs.clear();
        for (state, count) in jobs_by_state {
            self.jobs
                .get_or_create(&vec![("state", state.clone())])
                .set(*count);
        }
        self.accounts_paused.set(paused_accounts);
        let mut out = String::new();
        let registry = self.registry.lock().expect("metrics registry lock");
        encode(&mut out, &registry).expect("writing metrics into a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_has_every_family() {
        let metrics = Metrics::default();
        metrics.amo_request(42, 200);
        metrics.amo_request(42, 200);
        metrics.error("webhook_parse");
        metrics.automation_action("stuck_tag_added", 50);
        let text = metrics.render(&[("queued".into(), 3)], 1);
        assert!(
            text.contains("leakguard_amo_requests_total{account=\"42\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains("leakguard_errors_total{kind=\"webhook_parse\"} 1"));
        assert!(text.contains("leakguard_jobs{state=\"queued\"} 3"));
        assert!(text.contains("leakguard_automation_actions_total{kind=\"stuck_tag_added\"} 50"));
        assert!(text.contains("leakguard_accounts_paused 1"));
        assert!(text.ends_with("# EOF\n"));
    }
}
