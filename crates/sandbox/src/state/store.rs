//! The in-memory account: every collection plus the invariants kept across them (tags, `closest_task_at`).

use std::collections::{BTreeMap, HashMap};

use super::model::*;

/// Ids of the showcase entities a demo or a test opens directly (`GET /__sandbox/demo`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Showcase {
    pub deal_with_task: Option<u64>,
    pub deal_overdue: Option<u64>,
    pub deal_without_task: Option<u64>,
    pub deal_won: Option<u64>,
    pub deal_lost: Option<u64>,
    pub deal_new_stage: Option<u64>,
    /// An active deal that has sat in its stage for weeks (for the stuck-deal automation).
    pub deal_stuck: Option<u64>,
    /// LeakGuard's payments catalog, when the demo prepared it.
    pub payments_catalog_id: Option<u64>,
    /// An active deal with a planned payment that is due and not fully paid.
    pub deal_payments_overdue: Option<u64>,
    /// An active deal with payment records, partly paid, nothing overdue.
    pub deal_payments_partial: Option<u64>,
    /// An active deal in an ordinary stage without any payment record.
    pub deal_without_payments: Option<u64>,
    pub manager_user_id: u64,
    pub admin_user_id: u64,
}

/// Everything the account holds.
#[derive(Debug, Clone)]
pub struct Store {
    pub account: Account,
    pub groups: Vec<Group>,
    pub users: Vec<User>,
    pub task_types: Vec<TaskType>,
    pub pipelines: Vec<Pipeline>,
    pub loss_reasons: Vec<LossReason>,
    /// Tag dictionaries keyed by entity type (`leads`, `contacts`, `companies`, `customers`).
    pub tags: HashMap<String, Vec<Tag>>,
    /// Custom fields keyed by entity type (`leads`, `contacts`, `companies`).
    pub fields: HashMap<String, Vec<FieldDef>>,
    /// Custom fields of each catalog.
    pub catalog_fields: HashMap<u64, Vec<FieldDef>>,
    pub leads: BTreeMap<u64, Lead>,
    pub contacts: BTreeMap<u64, Contact>,
    pub companies: BTreeMap<u64, Company>,
    pub tasks: BTreeMap<u64, Task>,
    pub notes: BTreeMap<u64, Note>,
    pub catalogs: Vec<Catalog>,
    pub elements: BTreeMap<u64, CatalogElement>,
    /// Webhook subscriptions (at most 100, §11.1).
    pub webhooks: Vec<Webhook>,
    /// The event feed in recording order.
    pub events: Vec<Event>,
    pub showcase: Showcase,
    /// Settings fields the fixture gives each widget (by code) at start and after a reset, as if saved in the
    /// settings modal.
    pub widget_settings: HashMap<String, serde_json::Map<String, serde_json::Value>>,
    next_ids: HashMap<&'static str, u64>,
    lead_tasks: HashMap<u64, Vec<u64>>,
}

/// The tag dictionaries that exist (amocrm-api-v4.md §6).
pub const TAG_ENTITIES: [&str; 4] = ["leads", "contacts", "companies", "customers"];

impl Store {
    /// An account with no entities; the fixture fills it.
    pub fn new(account: Account) -> Store {
        Store {
            account,
            groups: Vec::new(),
            users: Vec::new(),
            task_types: Vec::new(),
            pipelines: Vec::new(),
            loss_reasons: Vec::new(),
            tags: TAG_ENTITIES
                .iter()
                .map(|e| (e.to_string(), Vec::new()))
                .collect(),
            fields: HashMap::new(),
            catalog_fields: HashMap::new(),
            leads: BTreeMap::new(),
            contacts: BTreeMap::new(),
            companies: BTreeMap::new(),
            tasks: BTreeMap::new(),
            notes: BTreeMap::new(),
            catalogs: Vec::new(),
            elements: BTreeMap::new(),
            webhooks: Vec::new(),
            events: Vec::new(),
            widget_settings: HashMap::new(),
            showcase: Showcase::default(),
            next_ids: HashMap::new(),
            lead_tasks: HashMap::new(),
        }
    }

    /// Sets the first id a kind of entity gets (fixtures use distinct ranges per kind, like amoCRM).
    pub fn seed_ids(&mut self, kind: &'static str, first: u64) {
        self.next_ids.insert(kind, first);
    }

    /// A fresh id for `kind`.
    pub fn next_id(&mut self, kind: &'static str) -> u64 {
        let next = self.next_ids.entry(kind).or_insert(1);
        let id = *next;
        *next += 1;
        id
    }

    /// The user with `id`.
    pub fn user(&self, id: u64) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The group of user `id` (0 when unknown).
    pub fn group_of(&self, user_id: u64) -> u64 {
        self.user(user_id).map(|u| u.group_id).unwrap_or(0)
    }

    /// The pipeline with `id`.
    pub fn pipeline(&self, id: u64) -> Option<&Pipeline> {
        self.pipelines.iter().find(|p| p.id == id)
    }

    /// The main pipeline.
    pub fn main_pipeline(&self) -> &Pipeline {
        self.pipelines
            .iter()
            .find(|p| p.is_main)
            .unwrap_or(&self.pipelines[0])
    }

    /// The loss reason with `id`.
    pub fn loss_reason(&self, id: u64) -> Option<&LossReason> {
        self.loss_reasons.iter().find(|r| r.id == id)
    }

    /// The tag dictionary of `entity`.
    pub fn tag_dict(&self, entity: &str) -> &[Tag] {
        self.tags.get(entity).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The tag `id` of `entity`'s dictionary.
    pub fn tag(&self, entity: &str, id: u64) -> Option<&Tag> {
        self.tag_dict(entity).iter().find(|t| t.id == id)
    }

    /// The id of the tag called `name` (case-insensitive), creating it when missing.
    pub fn ensure_tag(&mut self, entity: &str, name: &str, color: Option<String>) -> u64 {
        if let Some(tag) = self
            .tag_dict(entity)
            .iter()
            .find(|t| t.name.to_lowercase() == name.to_lowercase())
        {
            return tag.id;
        }
        let id = self.next_id("tag");
        self.tags.entry(entity.to_owned()).or_default().push(Tag {
            id,
            name: name.to_owned(),
            color,
        });
        id
    }

    /// The custom fields of an entity type.
    pub fn fields_of(&self, entity: &str) -> &[FieldDef] {
        self.fields.get(entity).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The invoices catalog, if the account has one.
    pub fn invoices_catalog(&self) -> Option<&Catalog> {
        self.catalogs.iter().find(|c| c.kind == "invoices")
    }

    /// The catalog with `id`.
    pub fn catalog(&self, id: u64) -> Option<&Catalog> {
        self.catalogs.iter().find(|c| c.id == id)
    }

    /// Appends an event to the feed with a fresh amoCRM-style string id.
    #[allow(clippy::too_many_arguments)]
    pub fn record_event(
        &mut self,
        kind: &str,
        entity_type: &'static str,
        entity_id: u64,
        created_by: u64,
        created_at: i64,
        value_before: serde_json::Value,
        value_after: serde_json::Value,
    ) {
        let seq = self.next_id("event");
        self.events.push(Event {
            id: event_id(seq),
            seq,
            kind: kind.to_owned(),
            entity_type,
            entity_id,
            created_by,
            created_at,
            value_after,
            value_before,
        });
    }

    /// Stores a task and keeps its lead's `closest_task_at` right.
    pub fn put_task(&mut self, task: Task) {
        let old_lead = self.tasks.get(&task.id).and_then(task_lead);
        let new_lead = task_lead(&task);
        let id = task.id;
        self.tasks.insert(id, task);
        if old_lead != new_lead {
            if let Some(lead) = old_lead {
                if let Some(ids) = self.lead_tasks.get_mut(&lead) {
                    ids.retain(|t| *t != id);
                }
                self.recompute_closest_task(lead);
            }
        }
        if let Some(lead) = new_lead {
            let ids = self.lead_tasks.entry(lead).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
            self.recompute_closest_task(lead);
        }
    }

    /// All tasks attached to lead `id`, open and completed, in id order.
    pub fn tasks_of_lead(&self, id: u64) -> Vec<&Task> {
        let mut tasks: Vec<&Task> = self
            .lead_tasks
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|t| self.tasks.get(t))
            .collect();
        tasks.sort_by_key(|t| t.id);
        tasks
    }

    /// `closest_task_at` = the earliest `complete_till` of the lead's open tasks, `None` when it has none (§5.6).
    pub fn recompute_closest_task(&mut self, lead_id: u64) {
        let closest = self
            .lead_tasks
            .get(&lead_id)
            .into_iter()
            .flatten()
            .filter_map(|t| self.tasks.get(t))
            .filter(|t| !t.is_completed)
            .map(|t| t.complete_till)
            .min();
        if let Some(lead) = self.leads.get_mut(&lead_id) {
            lead.closest_task_at = closest;
        }
    }
}

/// The lead a task is attached to.
fn task_lead(task: &Task) -> Option<u64> {
    match (task.entity_type.as_deref(), task.entity_id) {
        (Some("leads"), Some(id)) => Some(id),
        _ => None,
    }
}

/// A 26-character lowercase id in the look of amoCRM's event ids, unique per `seq`.
fn event_id(seq: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let base36 = |mut n: u64, width: usize| {
        let mut out = vec![b'0'; width];
        for slot in out.iter_mut().rev() {
            *slot = DIGITS[(n % 36) as usize];
            n /= 36;
        }
        String::from_utf8(out).expect("ASCII digits")
    };
    let mixed = (seq ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    format!("01{}{}", base36(seq, 10), base36(mixed, 14))
}
