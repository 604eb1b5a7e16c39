//! The webhook emitter (amocrm-api-v4.md §11.2–§11.3): deliveries in order from one worker, a 2 s answer limit, the
//! retry schedule driven by the sandbox clock, the auto-disable rule, a delivery log and fault injection.

pub mod payload;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::state::SandboxState;

/// The `User-Agent` amoCRM's hooks carry.
pub const USER_AGENT: &str = "amoCRM-Webhooks/3.0";
/// How long a receiver has to answer (§11.3).
pub const ANSWER_LIMIT: Duration = Duration::from_secs(2);
/// The status recorded when the receiver did not answer within [`ANSWER_LIMIT`]: nginx's "client closed request",
/// which is why the retry table lists 499 among the codes that earn attempts 4 and 5.
pub const TIMED_OUT: u16 = 499;
/// Invalid answers within [`DISABLE_WINDOW`] above which a webhook is disabled (§11.3).
pub const DISABLE_AFTER: usize = 100;
/// The window of the auto-disable rule, in seconds (2 hours).
pub const DISABLE_WINDOW: i64 = 2 * 3600;
/// How many delivery records are kept.
const LOG_LIMIT: usize = 20_000;
/// How long a reordered delivery waits for a later one before it goes out anyway.
const HOLD_LIMIT: Duration = Duration::from_secs(2);

/// One webhook request to make: a body for one event of one change.
#[derive(Debug, Clone)]
pub struct Job {
    /// The subscription it is for.
    pub webhook_id: u64,
    /// Where it goes.
    pub destination: String,
    /// The subscribed event that caused it (`status_lead`, `add_task`, …).
    pub event: String,
    /// The body's entity and action key, e.g. `leads[status]`.
    pub key: String,
    /// The changed entity.
    pub entity_id: u64,
    /// The form-encoded body.
    pub body: String,
}

/// One attempt to deliver a job, as `GET /__sandbox/webhooks/deliveries` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// Order of recording.
    pub seq: u64,
    /// The job; retries and duplicates of one job share it.
    pub job: u64,
    pub webhook_id: u64,
    pub destination: String,
    pub event: String,
    /// The body's event keys, e.g. `["leads[status]"]`.
    pub keys: Vec<String>,
    pub entity_id: u64,
    /// 1 for the first attempt, up to 5 (§11.3).
    pub attempt: u32,
    /// The receiver's status; 499 when it did not answer within 2 s, 0 when it could not be reached,
    /// `None` when the delivery was dropped by an injected fault.
    pub status: Option<u16>,
    /// Whether the answer counts as delivered (100–299).
    pub valid: bool,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// The injected fault that shaped this attempt: `drop`, `duplicate` or `reorder`.
    pub fault: Option<&'static str>,
    /// The `X-Amocrm-Requestid` sent.
    pub request_id: String,
    /// When it was attempted, on the sandbox clock.
    pub at: i64,
    /// When the next attempt is due on the sandbox clock, if one was scheduled.
    pub next_attempt_at: Option<i64>,
}

/// An injected delivery fault (`POST /__sandbox/webhooks/faults`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// Send the first attempt twice.
    Duplicate,
    /// Send the job after the one that follows it.
    Reorder,
    /// Never send the job (a lost hook; no retries).
    Drop,
}

impl FaultKind {
    fn name(self) -> &'static str {
        match self {
            FaultKind::Duplicate => "duplicate",
            FaultKind::Reorder => "reorder",
            FaultKind::Drop => "drop",
        }
    }
}

/// A fault applied to the next `count` jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    pub kind: FaultKind,
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone)]
struct Numbered {
    id: u64,
    job: Job,
}

#[derive(Debug, Clone)]
struct Retry {
    job: Numbered,
    attempt: u32,
    due_at: i64,
}

#[derive(Debug, Default)]
struct Book {
    deliveries: VecDeque<Delivery>,
    seq: u64,
    jobs: u64,
    retries: Vec<Retry>,
    faults: VecDeque<FaultRule>,
    invalid: HashMap<u64, VecDeque<i64>>,
}

enum Command {
    Deliver(Numbered),
    Tick(oneshot::Sender<()>),
}

/// The delay before the next attempt after attempt `attempt` answered `status`, per the table of §11.3.
pub fn retry_delay(attempt: u32, status: u16) -> Option<i64> {
    let invalid = !(100..=299).contains(&status);
    let server_side = status == 499 || (500..=599).contains(&status);
    match attempt {
        1 if invalid => Some(5 * 60),
        2 if invalid => Some(15 * 60),
        3 if server_side => Some(15 * 60),
        4 if server_side => Some(60 * 60),
        _ => None,
    }
}

/// The emitter's queue, log, pending retries and faults.
#[derive(Debug, Default)]
pub struct Emitter {
    book: Mutex<Book>,
    queue: OnceLock<mpsc::UnboundedSender<Command>>,
}

impl Emitter {
    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().expect("webhook book lock")
    }

    /// Starts the delivery worker; jobs enqueued before it runs are not sent.
    pub fn start(state: Arc<SandboxState>, stop: watch::Receiver<bool>) -> JoinHandle<()> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let _ = state.webhooks.queue.set(sender);
        tokio::spawn(run(state, receiver, stop))
    }

    /// Hands jobs to the worker in order.
    pub fn enqueue(&self, jobs: Vec<Job>) {
        let Some(queue) = self.queue.get() else {
            return;
        };
        for job in jobs {
            let id = {
                let mut book = self.book();
                book.jobs += 1;
                book.jobs
            };
            let _ = queue.send(Command::Deliver(Numbered { id, job }));
        }
    }

    /// Sends everything queued, every held (reordered) job and every retry due on the sandbox clock, then returns
    /// the deliveries made meanwhile.
    pub async fn tick(&self) -> Vec<Delivery> {
        let from = self.book().seq;
        if let Some(queue) = self.queue.get() {
            let (done, wait) = oneshot::channel();
            if queue.send(Command::Tick(done)).is_ok() {
                let _ = wait.await;
            }
        }
        self.since(from)
    }

    /// Delivery records after `seq`.
    pub fn since(&self, seq: u64) -> Vec<Delivery> {
        self.book()
            .deliveries
            .iter()
            .filter(|d| d.seq > seq)
            .cloned()
            .collect()
    }

    /// Forgets the delivery log.
    pub fn clear_log(&self) {
        self.book().deliveries.clear();
    }

    /// Adds a fault for the next jobs.
    pub fn add_fault(&self, rule: FaultRule) {
        if rule.count > 0 {
            self.book().faults.push_back(rule);
        }
    }

    /// Removes every pending fault.
    pub fn clear_faults(&self) {
        self.book().faults.clear();
    }

    /// Forgets retries, faults, invalid-answer counts and the log (sandbox reset).
    pub fn reset(&self) {
        let mut book = self.book();
        book.deliveries.clear();
        book.retries.clear();
        book.faults.clear();
        book.invalid.clear();
    }

    fn take_fault(&self) -> Option<FaultKind> {
        let mut book = self.book();
        let rule = book.faults.front_mut()?;
        let kind = rule.kind;
        rule.count = rule.count.saturating_sub(1);
        if rule.count == 0 {
            book.faults.pop_front();
        }
        Some(kind)
    }

    fn record(&self, mut delivery: Delivery) {
        let mut book = self.book();
        book.seq += 1;
        delivery.seq = book.seq;
        book.deliveries.push_back(delivery);
        while book.deliveries.len() > LOG_LIMIT {
            book.deliveries.pop_front();
        }
    }
}

/// The worker: first attempts in arrival order, held jobs after their successor, retries when due.
async fn run(
    state: Arc<SandboxState>,
    mut queue: mpsc::UnboundedReceiver<Command>,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut held: Vec<(Numbered, Instant)> = Vec::new();
    loop {
        tokio::select! {
            command = queue.recv() => match command {
                Some(Command::Deliver(job)) => {
                    first_attempt(&state, job, &mut held).await;
                }
                Some(Command::Tick(done)) => {
                    release(&state, &mut held, None).await;
                    run_due(&state).await;
                    let _ = done.send(());
                }
                None => break,
            },
            _ = ticker.tick() => {
                release(&state, &mut held, Some(HOLD_LIMIT)).await;
                run_due(&state).await;
            }
            _ = stop.changed() => break,
        }
    }
}

/// The first attempt of a job, shaped by the next injected fault.
async fn first_attempt(state: &SandboxState, job: Numbered, held: &mut Vec<(Numbered, Instant)>) {
    match state.webhooks.take_fault() {
        Some(FaultKind::Drop) => {
            let at = state.clock.now();
            state.webhooks.record(Delivery {
                status: None,
                valid: false,
                error: Some("dropped by an injected fault".into()),
                fault: Some(FaultKind::Drop.name()),
                ..blank(&job, 1, at, String::new())
            });
        }
        Some(FaultKind::Reorder) => held.push((job, Instant::now())),
        Some(FaultKind::Duplicate) => {
            attempt(state, &job, 1, None).await;
            attempt(state, &job, 1, Some(FaultKind::Duplicate)).await;
            release(state, held, None).await;
        }
        None => {
            attempt(state, &job, 1, None).await;
            release(state, held, None).await;
        }
    }
}

/// Sends held jobs: all of them, or only those held longer than `older_than`.
async fn release(
    state: &SandboxState,
    held: &mut Vec<(Numbered, Instant)>,
    older_than: Option<Duration>,
) {
    let (due, keep): (Vec<_>, Vec<_>) = held
        .drain(..)
        .partition(|(_, since)| older_than.is_none_or(|limit| since.elapsed() >= limit));
    *held = keep;
    for (job, _) in due {
        attempt(state, &job, 1, Some(FaultKind::Reorder)).await;
    }
}

/// Runs every retry due on the sandbox clock, earliest first.
async fn run_due(state: &SandboxState) {
    let now = state.clock.now();
    let mut due: Vec<Retry> = {
        let mut book = state.webhooks.book();
        let (due, pending): (Vec<_>, Vec<_>) =
            book.retries.drain(..).partition(|r| r.due_at <= now);
        book.retries = pending;
        due
    };
    due.sort_by_key(|r| (r.due_at, r.job.id));
    for retry in due {
        attempt(state, &retry.job, retry.attempt, None).await;
    }
}

fn blank(job: &Numbered, attempt: u32, at: i64, request_id: String) -> Delivery {
    Delivery {
        seq: 0,
        job: job.id,
        webhook_id: job.job.webhook_id,
        destination: job.job.destination.clone(),
        event: job.job.event.clone(),
        keys: vec![job.job.key.clone()],
        entity_id: job.job.entity_id,
        attempt,
        status: None,
        valid: false,
        error: None,
        fault: None,
        request_id,
        at,
        next_attempt_at: None,
    }
}

/// One POST of a job; records it, schedules the next attempt and applies the auto-disable rule. Jobs of a deleted
/// or disabled webhook are not sent.
async fn attempt(state: &SandboxState, job: &Numbered, number: u32, fault: Option<FaultKind>) {
    let live = state
        .store()
        .webhooks
        .iter()
        .any(|w| w.id == job.job.webhook_id && !w.disabled);
    if !live {
        return;
    }
    let request_id = state.uuid();
    let sent = state
        .http
        .post(&job.job.destination)
        .timeout(ANSWER_LIMIT)
        .header(reqwest::header::USER_AGENT, USER_AGENT)
        .header("X-Amocrm-Requestid", &request_id)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(reqwest::header::ACCEPT_ENCODING, "gzip")
        .body(job.job.body.clone())
        .send()
        .await;
    let (status, error) = match sent {
        Ok(response) => (response.status().as_u16(), None),
        Err(err) if err.is_timeout() => (TIMED_OUT, Some("no answer within 2 s".to_owned())),
        Err(err) => (0, Some(err.to_string())),
    };
    let at = state.clock.now();
    let valid = (100..=299).contains(&status);
    let mut delivery = Delivery {
        status: Some(status),
        valid,
        error,
        fault: fault.map(FaultKind::name),
        ..blank(job, number, at, request_id)
    };
    if !valid && fault != Some(FaultKind::Duplicate) {
        if let Some(delay) = retry_delay(number, status) {
            delivery.next_attempt_at = Some(at + delay);
            state.webhooks.book().retries.push(Retry {
                job: job.clone(),
                attempt: number + 1,
                due_at: at + delay,
            });
        }
    }
    state.webhooks.record(delivery);
    if !valid && note_invalid(state, job.job.webhook_id, at) {
        disable(state, job.job.webhook_id);
    }
}

/// Counts an invalid answer; true when the webhook now has more than 100 in the last 2 hours.
fn note_invalid(state: &SandboxState, webhook_id: u64, at: i64) -> bool {
    let mut book = state.webhooks.book();
    let times = book.invalid.entry(webhook_id).or_default();
    times.push_back(at);
    while times.front().is_some_and(|t| *t <= at - DISABLE_WINDOW) {
        times.pop_front();
    }
    times.len() > DISABLE_AFTER
}

/// Disables a webhook and drops its pending retries.
fn disable(state: &SandboxState, webhook_id: u64) {
    if let Some(webhook) = state
        .store_mut()
        .webhooks
        .iter_mut()
        .find(|w| w.id == webhook_id)
    {
        webhook.disabled = true;
    }
    let mut book = state.webhooks.book();
    book.retries.retain(|r| r.job.job.webhook_id != webhook_id);
    book.invalid.remove(&webhook_id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_table_of_the_docs() {
        assert_eq!(retry_delay(1, 200), None);
        assert_eq!(retry_delay(1, 404), Some(300));
        assert_eq!(retry_delay(1, 0), Some(300));
        assert_eq!(retry_delay(2, 302), Some(900));
        assert_eq!(
            retry_delay(3, 404),
            None,
            "4xx other than 499 gets 3 attempts"
        );
        assert_eq!(retry_delay(3, 499), Some(900));
        assert_eq!(retry_delay(4, 503), Some(3600));
        assert_eq!(retry_delay(5, 503), None, "5 attempts at most");
    }
}
