//! Key metrics: the four leaks (lost deals, overdue tasks, deals without a next step, overdue payments) and stuck deals, over plain slices, with every number's deal list.
//!
//! Designed for 100 000 deals and 300 000 tasks: the tasks are indexed by deal once, then every
//! deal is visited once; nothing is quadratic. Deal values are amoCRM budgets (`price`, whole
//! units of the account currency); payment amounts are minor units.

use std::collections::{BTreeMap, HashMap};

use crate::automation::{stuck_level, StuckLevel};
use crate::deal::{is_closed_status, Account, StageRef, STATUS_LOST};
use crate::payments::OverduePayment;
use crate::settings::StuckSettings;

/// A deal as the metrics need it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deal {
    pub id: u64,
    pub name: String,
    pub price: i64,
    pub pipeline_id: u32,
    pub status_id: u32,
    pub responsible_user_id: u64,
    /// The group of the responsible user; 0 = none.
    pub group_id: u64,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    pub loss_reason_id: Option<u64>,
    /// When the deal entered its current stage (Unix seconds).
    pub stage_since: i64,
    pub is_deleted: bool,
}

impl Deal {
    /// The deal's stage.
    pub const fn stage(&self) -> StageRef {
        StageRef::new(self.pipeline_id, self.status_id)
    }

    /// Whether the deal is neither deleted nor won or lost.
    pub const fn is_open(&self) -> bool {
        !self.is_deleted && !is_closed_status(self.status_id)
    }
}

/// What a task is attached to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TaskEntity {
    #[default]
    Lead,
    Contact,
    Company,
    Customer,
    /// A task attached to nothing.
    None,
}

/// A task as the metrics need it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskRef {
    pub id: u64,
    pub entity_type: TaskEntity,
    pub entity_id: u64,
    /// The deadline (Unix seconds); 0 means no deadline.
    pub complete_till: i64,
    pub is_completed: bool,
    pub responsible_user_id: u64,
}

/// What is known about a deal's open tasks. Only open lead tasks with a deadline count, as in
/// the card's next-step rule ([`crate::tasks::next_step`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenTasks {
    pub count: u32,
    /// The earliest deadline and its task id (the lower id on ties).
    pub earliest: (i64, u64),
}

/// The open tasks of every deal, built in one pass over the tasks.
#[derive(Clone, Debug, Default)]
pub struct TaskIndex {
    by_deal: HashMap<u64, OpenTasks>,
}

impl TaskIndex {
    /// Indexes `tasks` by deal.
    pub fn new(tasks: &[TaskRef]) -> TaskIndex {
        let mut by_deal: HashMap<u64, OpenTasks> = HashMap::with_capacity(tasks.len() / 2);
        for task in tasks {
            if task.is_completed || task.entity_type != TaskEntity::Lead || task.complete_till == 0
            {
                continue;
            }
            let key = (task.complete_till, task.id);
            by_deal
                .entry(task.entity_id)
                .and_modify(|open| {
                    open.count += 1;
                    open.earliest = open.earliest.min(key);
                })
                .or_insert(OpenTasks {
                    count: 1,
                    earliest: key,
                });
        }
        TaskIndex { by_deal }
    }

    /// The open tasks of deal `deal_id`, `None` when it has none.
    pub fn open_tasks(&self, deal_id: u64) -> Option<OpenTasks> {
        self.by_deal.get(&deal_id).copied()
    }
}

/// A half-open time range `[from, to)` in Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: i64,
    pub to: i64,
}

impl Period {
    /// Whether `t` is in the period.
    pub const fn contains(self, t: i64) -> bool {
        self.from <= t && t < self.to
    }

    /// The period of the same length right before this one.
    pub const fn previous(self) -> Period {
        Period {
            from: self.from.saturating_sub(self.to.saturating_sub(self.from)),
            to: self.from,
        }
    }
}

/// The page's filters: the period (for lost deals) and optional pipeline, manager and group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Filter {
    pub period: Period,
    pub pipeline_id: Option<u32>,
    pub manager_id: Option<u64>,
    pub group_id: Option<u64>,
}

impl Filter {
    /// All deals lost within `period`.
    pub const fn period(period: Period) -> Filter {
        Filter {
            period,
            pipeline_id: None,
            manager_id: None,
            group_id: None,
        }
    }

    fn matches(&self, deal: &Deal) -> bool {
        !deal.is_deleted
            && self.pipeline_id.is_none_or(|id| deal.pipeline_id == id)
            && self
                .manager_id
                .is_none_or(|id| deal.responsible_user_id == id)
            && self.group_id.is_none_or(|id| deal.group_id == id)
    }

    fn is_unfiltered(&self) -> bool {
        self.pipeline_id.is_none() && self.manager_id.is_none() && self.group_id.is_none()
    }
}

/// One number with its drill-down: how many, how much, and which deals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    /// Deals, or payments for the overdue-payments metric.
    pub count: usize,
    /// The sum of deal budgets, or of overdue amounts in minor units for payments.
    pub value: i64,
    /// The deals behind the number, in input order, each once.
    pub deal_ids: Vec<u64>,
}

impl Bucket {
    fn add_deal(&mut self, deal_id: u64, value: i64) {
        self.count += 1;
        self.value = self.value.saturating_add(value);
        self.deal_ids.push(deal_id);
    }
}

/// Lost deals for one loss reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReasonRow {
    /// `None` for deals lost without a reason.
    pub reason_id: Option<u64>,
    pub bucket: Bucket,
    /// The reason's share of the lost deals' count, in basis points (10 000 = 100 %).
    pub count_share_bp: i64,
    /// The reason's share of the lost deals' value, in basis points.
    pub value_share_bp: i64,
}

/// Metric 1: deals lost (status 143) with `closed_at` in the period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LostDeals {
    pub total: Bucket,
    /// The most frequent reason first (then the higher value, then the reason id).
    pub by_reason: Vec<ReasonRow>,
    /// By manager id.
    pub by_manager: Vec<(u64, Bucket)>,
}

/// A snapshot metric split by stage and by manager.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Breakdown {
    pub total: Bucket,
    /// By (pipeline, status).
    pub by_stage: Vec<(StageRef, Bucket)>,
    /// By manager id.
    pub by_manager: Vec<(u64, Bucket)>,
}

/// Metric 4: overdue planned payments (counted per payment, valued in minor units).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OverduePayments {
    pub total: Bucket,
    pub by_manager: Vec<(u64, Bucket)>,
}

/// Stuck deals: past their stage limit, and among them those past the escalation limit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StuckDeals {
    pub stuck: Breakdown,
    pub escalated: Bucket,
}

/// The whole key-metrics page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyMetrics {
    pub lost: LostDeals,
    /// Lost deals of the previous period of the same length, for the arrows and deltas.
    pub lost_previous: LostDeals,
    /// Metric 2: open deals with an overdue open task.
    pub overdue_tasks: Breakdown,
    /// Metric 3: open deals without an open task.
    pub without_task: Breakdown,
    pub overdue_payments: OverduePayments,
    pub stuck: StuckDeals,
}

/// The data the metrics are computed from.
#[derive(Clone, Copy, Debug)]
pub struct MetricsInput<'a> {
    pub deals: &'a [Deal],
    pub tasks: &'a [TaskRef],
    pub overdue_payments: &'a [OverduePayment],
}

/// Groups deals by a key while filling a total.
struct Grouper<K> {
    total: Bucket,
    groups: BTreeMap<K, Bucket>,
}

impl<K: Ord> Grouper<K> {
    fn new() -> Grouper<K> {
        Grouper {
            total: Bucket::default(),
            groups: BTreeMap::new(),
        }
    }

    fn add(&mut self, key: K, deal_id: u64, value: i64) {
        self.total.add_deal(deal_id, value);
        self.groups.entry(key).or_default().add_deal(deal_id, value);
    }

    fn into_rows(self) -> Vec<(K, Bucket)> {
        self.groups.into_iter().collect()
    }
}

/// Collects a breakdown by stage and by manager at once.
struct BreakdownBuilder {
    by_stage: Grouper<StageRef>,
    by_manager: Grouper<u64>,
}

impl BreakdownBuilder {
    fn new() -> BreakdownBuilder {
        BreakdownBuilder {
            by_stage: Grouper::new(),
            by_manager: Grouper::new(),
        }
    }

    fn add(&mut self, deal: &Deal) {
        self.by_stage.add(deal.stage(), deal.id, deal.price);
        self.by_manager
            .add(deal.responsible_user_id, deal.id, deal.price);
    }

    fn finish(self) -> Breakdown {
        Breakdown {
            total: self.by_stage.total.clone(),
            by_stage: self.by_stage.into_rows(),
            by_manager: self.by_manager.into_rows(),
        }
    }
}

/// `part / whole` in basis points, rounded half up; 0 when `whole` is 0.
fn share_bp(part: i64, whole: i64) -> i64 {
    if whole == 0 {
        return 0;
    }
    let (part, whole) = (i128::from(part), i128::from(whole));
    i64::try_from((part * 20_000 + whole) / (2 * whole)).unwrap_or(0)
}

/// Metric 1 alone: the deals of `deals` matching `filter` that were lost within `period`.
pub fn lost_deals(deals: &[Deal], filter: &Filter, period: Period) -> LostDeals {
    let mut by_reason: Grouper<Option<u64>> = Grouper::new();
    let mut by_manager: Grouper<u64> = Grouper::new();
    for deal in deals {
        let lost_in_period = deal.status_id == STATUS_LOST
            && deal.closed_at.is_some_and(|closed| period.contains(closed));
        if lost_in_period && filter.matches(deal) {
            let reason = deal.loss_reason_id.filter(|&id| id != 0);
            by_reason.add(reason, deal.id, deal.price);
            by_manager.add(deal.responsible_user_id, deal.id, deal.price);
        }
    }
    let total = by_reason.total.clone();
    let mut reasons: Vec<ReasonRow> = by_reason
        .into_rows()
        .into_iter()
        .map(|(reason_id, bucket)| ReasonRow {
            reason_id,
            count_share_bp: share_bp(bucket.count as i64, total.count as i64),
            value_share_bp: share_bp(bucket.value, total.value),
            bucket,
        })
        .collect();
    reasons.sort_by(|a, b| {
        (b.bucket.count, b.bucket.value)
            .cmp(&(a.bucket.count, a.bucket.value))
            .then(a.reason_id.cmp(&b.reason_id))
    });
    LostDeals {
        total,
        by_reason: reasons,
        by_manager: by_manager.into_rows(),
    }
}

/// Computes the whole page at `now`: lost deals in the filter's period and the one before it,
/// and the snapshot metrics (overdue tasks, deals without tasks, overdue payments, stuck deals)
/// over the open deals matching the filter. Stuck deals follow the stage limits of `stuck`,
/// counted in working time in the account's zone and calendar.
pub fn key_metrics(
    input: &MetricsInput<'_>,
    filter: &Filter,
    stuck: &StuckSettings,
    now: i64,
    account: &Account<'_>,
) -> KeyMetrics {
    let tasks = TaskIndex::new(input.tasks);
    let mut overdue_tasks = BreakdownBuilder::new();
    let mut without_task = BreakdownBuilder::new();
    let mut stuck_deals = BreakdownBuilder::new();
    let mut escalated = Bucket::default();
    for deal in input.deals {
        if !deal.is_open() || !filter.matches(deal) {
            continue;
        }
        match tasks.open_tasks(deal.id) {
            None => without_task.add(deal),
            Some(open) if open.earliest.0 < now => overdue_tasks.add(deal),
            Some(_) => {}
        }
        match stuck_level(deal.stage(), deal.stage_since, stuck, now, account) {
            StuckLevel::Ok => {}
            StuckLevel::Stuck => stuck_deals.add(deal),
            StuckLevel::Escalate => {
                stuck_deals.add(deal);
                escalated.add_deal(deal.id, deal.price);
            }
        }
    }
    KeyMetrics {
        lost: lost_deals(input.deals, filter, filter.period),
        lost_previous: lost_deals(input.deals, filter, filter.period.previous()),
        overdue_tasks: overdue_tasks.finish(),
        without_task: without_task.finish(),
        overdue_payments: overdue_payments_metric(input, filter),
        stuck: StuckDeals {
            stuck: stuck_deals.finish(),
            escalated,
        },
    }
}

/// Metric 4: the overdue payments whose deal matches the filter. Without a pipeline, manager or
/// group filter every payment counts except those of deals known to be deleted.
fn overdue_payments_metric(input: &MetricsInput<'_>, filter: &Filter) -> OverduePayments {
    let deals: HashMap<u64, &Deal> = if input.overdue_payments.is_empty() {
        HashMap::new()
    } else {
        input.deals.iter().map(|deal| (deal.id, deal)).collect()
    };
    let mut by_manager: Grouper<u64> = Grouper::new();
    for payment in input.overdue_payments {
        let included = match deals.get(&payment.deal_id) {
            Some(deal) => filter.matches(deal),
            None => filter.is_unfiltered(),
        };
        if included {
            by_manager.add(payment.responsible_user_id, payment.deal_id, payment.amount);
        }
    }
    let mut total = by_manager.total.clone();
    let mut rows = by_manager.into_rows();
    // Several payments of one deal list the deal once.
    for bucket in std::iter::once(&mut total).chain(rows.iter_mut().map(|(_, b)| b)) {
        let mut seen = std::collections::HashSet::new();
        bucket.deal_ids.retain(|id| seen.insert(*id));
    }
    OverduePayments {
        total,
        by_manager: rows,
    }
}

/// The change of one number between two reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    pub count: i64,
    pub value: i64,
}

impl Delta {
    fn between(current: &Bucket, previous: &Bucket) -> Delta {
        Delta {
            count: current.count as i64 - previous.count as i64,
            value: current.value.saturating_sub(previous.value),
        }
    }
}

/// The changes of every headline number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    pub lost: Delta,
    pub overdue_tasks: Delta,
    pub without_task: Delta,
    pub overdue_payments: Delta,
    pub stuck: Delta,
}

impl KeyMetrics {
    /// The change of lost deals against the previous period.
    pub fn lost_delta(&self) -> Delta {
        Delta::between(&self.lost.total, &self.lost_previous.total)
    }

    /// Every headline number against an earlier report (for example a snapshot the backend
    /// stored at the start of the period; snapshot metrics cannot be recomputed for the past).
    pub fn compare(&self, earlier: &KeyMetrics) -> Comparison {
        Comparison {
            lost: Delta::between(&self.lost.total, &earlier.lost.total),
            overdue_tasks: Delta::between(&self.overdue_tasks.total, &earlier.overdue_tasks.total),
            without_task: Delta::between(&self.without_task.total, &earlier.without_task.total),
            overdue_payments: Delta::between(
                &self.overdue_payments.total,
                &earlier.overdue_payments.total,
            ),
            stuck: Delta::between(&self.stuck.stuck.total, &earlier.stuck.stuck.total),
        }
    }
}

#[cfg(test)]
mod tests;
