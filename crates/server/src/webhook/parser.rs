//! Parser of amoCRM's webhook bodies: `application/x-www-form-urlencoded` with PHP bracket keys
//! (`leads[status][0][id]=…`), every value a string (amocrm-api-v4.md §11.2).
//!
//! The body first becomes a tree of maps and string leaves, the way PHP builds `$_POST`; typed
//! events are then read from that tree. A tree rather than a derived struct, because the same key
//! can hold a string in one payload and a map in another (custom field values are `values[0]=…`
//! for dates and `values[0][value]=…` otherwise), and every field is optional in practice.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The deepest bracket nesting accepted; amoCRM's deepest key has 7 levels.
pub const MAX_DEPTH: usize = 16;

/// One node of the decoded form: a string or a map of children (`[0]`, `[1]` … are map keys too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Leaf(String),
    Map(BTreeMap<String, Node>),
}

impl Node {
    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(map) => map.get(key),
            Node::Leaf(_) => None,
        }
    }

    fn text(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Node::Leaf(text)) => Some(text.as_str()),
            _ => None,
        }
    }

    fn int(&self, key: &str) -> Option<i64> {
        self.text(key).and_then(|text| text.trim().parse().ok())
    }

    /// The children of a list-like map in index order (`0`, `1`, … `10`), then any other keys.
    fn items(&self) -> Vec<&Node> {
        let Node::Map(map) = self else {
            return Vec::new();
        };
        let mut entries: Vec<(&String, &Node)> = map.iter().collect();
        entries.sort_by_key(|(key, _)| (key.parse::<u64>().unwrap_or(u64::MAX), (*key).clone()));
        entries.into_iter().map(|(_, node)| node).collect()
    }
}

/// Why a body is not a webhook.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the body has no fields")]
    Empty,
    #[error("a key nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// Decodes a form body into a tree; later duplicates win, as in PHP.
pub fn parse_tree(body: &[u8]) -> Result<Node, ParseError> {
    let mut root = BTreeMap::new();
    for (key, value) in form_urlencoded::parse(body) {
        let path = split_key(&key);
        if path.len() > MAX_DEPTH {
            return Err(ParseError::TooDeep);
        }
        insert(&mut root, &path, value.into_owned());
    }
    if root.is_empty() {
        return Err(ParseError::Empty);
    }
    Ok(Node::Map(root))
}

/// `a[b][0][]` → `["a", "b", "0", ""]`; a key with an unbalanced bracket is taken whole.
fn split_key(key: &str) -> Vec<String> {
    let Some(open) = key.find('[') else {
        return vec![key.to_owned()];
    };
    let mut path = vec![key[..open].to_owned()];
    let mut rest = &key[open..];
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return vec![key.to_owned()];
        };
        path.push(inner[..close].to_owned());
        rest = &inner[close + 1..];
    }
    // Like PHP, text after the last closing bracket is ignored.
    path
}

fn insert(map: &mut BTreeMap<String, Node>, path: &[String], value: String) {
    let (first, rest) = path
        .split_first()
        .expect("split_key never returns an empty path");
    // An empty segment (`[]`) appends: it takes the next free index.
    let key = if first.is_empty() {
        map.len().to_string()
    } else {
        first.clone()
    };
    if rest.is_empty() {
        map.insert(key, Node::Leaf(value));
        return;
    }
    let child = map.entry(key).or_insert_with(|| Node::Map(BTreeMap::new()));
    if let Node::Leaf(_) = child {
        *child = Node::Map(BTreeMap::new());
    }
    if let Node::Map(child) = child {
        insert(child, rest, value);
    }
}

/// The entity an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Lead,
    Task,
}

/// What happened to it (the action key of the body).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Add,
    Update,
    Delete,
    Restore,
    Status,
    Responsible,
    /// A note added to a lead (`leads[note]`); only LeakGuard's own payment notes are kept.
    Note,
}

impl Action {
    fn of(key: &str) -> Option<Action> {
        Some(match key {
            "add" => Action::Add,
            "update" => Action::Update,
            "delete" => Action::Delete,
            "restore" => Action::Restore,
            "status" => Action::Status,
            "responsible" => Action::Responsible,
            "note" => Action::Note,
            _ => return None,
        })
    }

    /// The name used in keys and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Restore => "restore",
            Action::Status => "status",
            Action::Responsible => "responsible",
            Action::Note => "note",
        }
    }
}

/// One lead or task event, with the fields the server acts on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub entity: Entity,
    pub action: Action,
    pub id: i64,
    /// `updated_at` (Unix seconds as sent) or else `last_modified`, verbatim; none on deletes.
    pub modified: Option<String>,
    pub account_id: Option<i64>,
    pub status_id: Option<i64>,
    pub old_status_id: Option<i64>,
    pub pipeline_id: Option<i64>,
    pub responsible_user_id: Option<i64>,
    pub old_responsible_user_id: Option<i64>,
    /// For a task attached to a lead (`element_type` 2): the lead's id.
    pub lead_id: Option<i64>,
    /// For a task: whether it is completed (`status` "1").
    pub completed: Option<bool>,
    /// A lead's name or a task's text.
    #[serde(default)]
    pub name: Option<String>,
    /// A lead's budget.
    #[serde(default)]
    pub price: Option<i64>,
    /// Who made the change (`modified_user_id`); 0 is a robot (Salesbot, digital pipeline).
    #[serde(default)]
    pub modified_user_id: Option<i64>,
    /// The entity's creation (Unix seconds).
    #[serde(default)]
    pub created_at: Option<i64>,
    /// A lost lead's reason, when the hook carries it.
    #[serde(default)]
    pub loss_reason_id: Option<i64>,
    /// A lead's tags, when the hook lists them (`None`: the hook says nothing about tags).
    #[serde(default)]
    pub tags: Option<Vec<HookTag>>,
    /// A task's deadline (Unix seconds, from `complete_before` or the UTC `complete_till`).
    #[serde(default)]
    pub complete_till: Option<i64>,
    /// How many items of the same entity and action the delivery carried (more than one: a bulk action).
    #[serde(default)]
    pub batch: usize,
}

/// A tag of a lead as a hook lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookTag {
    pub id: Option<i64>,
    pub name: String,
}

impl Event {
    /// The key that makes a redelivery of the same change a no-op in `account_id`.
    pub fn dedup_key(&self, account_id: i64) -> String {
        let entity = match self.entity {
            Entity::Lead => "lead",
            Entity::Task => "task",
        };
        format!(
            "{account_id}:{entity}:{}:{}:{}",
            self.action.as_str(),
            self.id,
            self.modified.as_deref().unwrap_or("-")
        )
    }
}

/// The account block of a body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountRef {
    pub id: Option<i64>,
    pub subdomain: Option<String>,
    pub base_url: Option<String>,
}

/// A parsed body: its account, its lead and task events, and how many other items it carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub account: AccountRef,
    pub events: Vec<Event>,
    pub ignored: usize,
}

impl Webhook {
    /// The account the events belong to: the account block's id, else the first event's `account_id`.
    pub fn account_id(&self) -> Option<i64> {
        self.account
            .id
            .or_else(|| self.events.iter().find_map(|event| event.account_id))
    }
}

/// Parses a webhook body.
pub fn parse(body: &[u8]) -> Result<Webhook, ParseError> {
    let root = parse_tree(body)?;
    let account = root
        .get("account")
        .map_or_else(AccountRef::default, |node| AccountRef {
            id: node.int("id"),
            subdomain: node.text("subdomain").map(str::to_owned),
            base_url: node
                .get("_links")
                .and_then(|links| links.text("self"))
                .map(str::to_owned),
        });
    let mut events = Vec::new();
    let mut ignored = 0;
    let Node::Map(top) = &root else {
        unreachable!("parse_tree returns a map")
    };
    for (entity_key, by_action) in top {
        let entity = match entity_key.as_str() {
            "leads" => Entity::Lead,
            "task" | "tasks" => Entity::Task,
            "account" => continue,
            _ => {
                ignored += by_action
                    .items()
                    .iter()
                    .map(|items| items.items().len())
                    .sum::<usize>();
                continue;
            }
        };
        let Node::Map(by_action) = by_action else {
            ignored += 1;
            continue;
        };
        for (action_key, items) in by_action {
            let Some(action) = Action::of(action_key) else {
                ignored += items.items().len();
                continue;
            };
            let items = items.items();
            let batch = items.len();
            for item in items {
                match event_of(entity, action, item, batch) {
                    Some(event) => events.push(event),
                    None => ignored += 1,
                }
            }
        }
    }
    Ok(Webhook {
        account,
        events,
        ignored,
    })
}

/// The text every payments change of the card writes at the start of its note (core `change_note`).
pub const PAYMENT_NOTE_PREFIX: &str = "LeakGuard · ";

/// A lead's note event: only LeakGuard's payment notes (every change of a deal's payments adds
/// one), so that the server re-reads that deal's payments; any other note is ignored.
fn note_event(item: &Node, batch: usize) -> Option<Event> {
    let note = item.get("note").unwrap_or(item);
    if note.int("element_type").is_some_and(|kind| kind != 2) {
        return None;
    }
    let text = note.text("text")?;
    if !text.trim_start().starts_with(PAYMENT_NOTE_PREFIX) {
        return None;
    }
    Some(Event {
        entity: Entity::Lead,
        action: Action::Note,
        id: note.int("id")?,
        modified: note
            .text("last_modified")
            .or_else(|| note.text("date_create"))
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty()),
        account_id: note.int("account_id"),
        status_id: None,
        old_status_id: None,
        pipeline_id: None,
        responsible_user_id: None,
        old_responsible_user_id: None,
        lead_id: Some(note.int("element_id")?),
        completed: None,
        name: None,
        price: None,
        modified_user_id: note.int("created_by"),
        created_at: note.int("date_create"),
        loss_reason_id: None,
        tags: None,
        complete_till: None,
        batch,
    })
}

fn event_of(entity: Entity, action: Action, item: &Node, batch: usize) -> Option<Event> {
    if action == Action::Note {
        return match entity {
            Entity::Lead => note_event(item, batch),
            Entity::Task => None,
        };
    }
    let id = item.int("id")?;
    let modified = item
        .text("updated_at")
        .or_else(|| item.text("last_modified"))
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    let lead_id = match entity {
        Entity::Task if item.text("element_type").map(str::trim) == Some("2") => {
            item.int("element_id")
        }
        _ => None,
    };
    let completed = match entity {
        Entity::Task => item.text("status").map(|status| status.trim() == "1"),
        Entity::Lead => None,
    };
    let (name, created_at, complete_till, tags) = match entity {
        Entity::Lead => (
            item.text("name").map(str::to_owned),
            item.int("created_at").or_else(|| item.int("date_create")),
            None,
            item.get("tags").map(|tags| {
                tags.items()
                    .into_iter()
                    .filter_map(|tag| {
                        Some(HookTag {
                            id: tag.int("id"),
                            name: tag.text("name")?.to_owned(),
                        })
                    })
                    .collect()
            }),
        ),
        Entity::Task => (
            item.text("text").map(str::to_owned),
            item.int("created_at"),
            item.int("complete_before")
                .or_else(|| item.text("complete_till").and_then(utc_datetime)),
            None,
        ),
    };
    Some(Event {
        entity,
        action,
        id,
        modified,
        account_id: item.int("account_id"),
        status_id: item.int("status_id"),
        old_status_id: item.int("old_status_id"),
        pipeline_id: item.int("pipeline_id"),
        responsible_user_id: item.int("responsible_user_id"),
        old_responsible_user_id: item.int("old_responsible_user_id"),
        lead_id,
        completed,
        name,
        price: item.int("price"),
        modified_user_id: item.int("modified_user_id"),
        created_at,
        loss_reason_id: item.int("loss_reason_id"),
        tags,
        complete_till,
        batch,
    })
}

/// A task hook's `YYYY-MM-DD HH:MM:SS` (UTC) as Unix seconds.
fn utc_datetime(text: &str) -> Option<i64> {
    let civil: jiff::civil::DateTime = text.trim().parse().ok()?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(civil)
        .ok()
        .map(|instant| instant.as_second())
}

impl Event {
    /// The change time as Unix seconds: `updated_at`, or a task hook's UTC `last_modified`.
    pub fn modified_at(&self) -> Option<i64> {
        let text = self.modified.as_deref()?;
        text.parse().ok().or_else(|| utc_datetime(text))
    }
}

/// Encodes a decoded fixture (one `key=value` per line, `#` comments) as a form body; the tests and
/// benchmarks build their bodies with it.
pub fn encode_fixture(text: &str) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        form.append_pair(key, value);
    }
    form.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_leakguards_payment_notes_become_events() {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("leads[note][0][note][id]", "901")
            .append_pair("leads[note][0][note][element_id]", "55")
            .append_pair("leads[note][0][note][element_type]", "2")
            .append_pair("leads[note][0][note][note_type]", "4")
            .append_pair(
                "leads[note][0][note][text]",
                "LeakGuard · Анна: добавлено Оплата: 5 000,00 ₽ от 27.11.2026 · сделка #55.",
            )
            .append_pair("leads[note][0][note][last_modified]", "1781150000")
            .append_pair("leads[note][1][note][id]", "902")
            .append_pair("leads[note][1][note][element_id]", "55")
            .append_pair("leads[note][1][note][element_type]", "2")
            .append_pair("leads[note][1][note][text]", "Позвонил клиенту")
            .append_pair("account[id]", "7")
            .finish();
        let hook = parse(body.as_bytes()).unwrap();
        assert_eq!(hook.ignored, 1);
        assert_eq!(hook.events.len(), 1);
        let event = &hook.events[0];
        assert_eq!((event.entity, event.action), (Entity::Lead, Action::Note));
        assert_eq!((event.id, event.lead_id), (901, Some(55)));
        assert_eq!(event.dedup_key(7), "7:lead:note:901:1781150000");
    }

    fn fixture(name: &str) -> Webhook {
        let path = format!(
            "{}/tests/fixtures/webhooks/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).unwrap();
        parse(encode_fixture(&text).as_bytes()).unwrap()
    }

    #[test]
    fn a_status_change_from_the_documentation() {
        let hook = fixture("lead_status.txt");
        assert_eq!(hook.account_id(), Some(7039099));
        assert_eq!(hook.account.subdomain.as_deref(), Some("example"));
        assert_eq!(
            hook.account.base_url.as_deref(),
            Some("https://example.amocrm.ru")
        );
        assert_eq!(hook.ignored, 0);
        assert_eq!(
            hook.events,
            vec![Event {
                entity: Entity::Lead,
                action: Action::Status,
                id: 25399013,
                modified: Some("1413554372".into()),
                account_id: Some(7039099),
                status_id: Some(142),
                old_status_id: Some(7039101),
                pipeline_id: Some(3177727),
                responsible_user_id: Some(123123),
                old_responsible_user_id: None,
                lead_id: None,
                completed: None,
                name: Some("Lead title".into()),
                price: Some(0),
                modified_user_id: Some(123123),
                created_at: Some(1413554349),
                loss_reason_id: None,
                tags: Some(vec![HookTag {
                    id: Some(80147),
                    name: "repeat request".into()
                }]),
                complete_till: None,
                batch: 1,
            }]
        );
        assert_eq!(
            hook.events[0].dedup_key(7039099),
            "7039099:lead:status:25399013:1413554372"
        );
    }

    #[test]
    fn update_and_responsible_in_one_body() {
        let hook = fixture("lead_update_and_responsible.txt");
        let kinds: Vec<_> = hook.events.iter().map(|e| (e.action, e.id)).collect();
        assert_eq!(
            kinds,
            vec![(Action::Responsible, 25399014), (Action::Update, 25399013)]
        );
        assert_eq!(hook.events[0].old_responsible_user_id, Some(123123));
        assert_eq!(hook.events[0].responsible_user_id, Some(504141));
        assert_eq!(hook.events[1].old_status_id, Some(7039100));
    }

    #[test]
    fn add_and_delete_with_only_a_subdomain() {
        let hook = fixture("lead_add_delete.txt");
        assert_eq!(hook.account.id, None);
        assert_eq!(hook.account.subdomain.as_deref(), Some("example"));
        // The account id falls back to the first event's own field.
        assert_eq!(hook.account_id(), Some(7039099));
        let delete = hook
            .events
            .iter()
            .find(|e| e.action == Action::Delete)
            .unwrap();
        assert_eq!(
            (delete.id, delete.modified.as_deref(), delete.status_id),
            (99, None, Some(143))
        );
        assert_eq!(delete.dedup_key(1), "1:lead:delete:99:-");
    }

    #[test]
    fn task_events_point_at_their_lead() {
        let hook = fixture("task_events.txt");
        let add = hook
            .events
            .iter()
            .find(|e| e.action == Action::Add)
            .unwrap();
        assert_eq!(
            (add.entity, add.id, add.lead_id, add.completed),
            (Entity::Task, 4745251, Some(25399013), Some(false))
        );
        assert_eq!(add.modified.as_deref(), Some("1759309200"));
        assert_eq!(add.complete_till, Some(1759438740));
        assert_eq!(add.name.as_deref(), Some("Call the client"));
        assert_eq!(utc_datetime("2025-10-02 20:59:00"), Some(1759438740));
        let update = hook
            .events
            .iter()
            .find(|e| e.action == Action::Update)
            .unwrap();
        assert_eq!(update.completed, Some(true));
        let delete = hook
            .events
            .iter()
            .find(|e| e.action == Action::Delete)
            .unwrap();
        assert_eq!((delete.id, delete.lead_id), (4745253, None));
    }

    #[test]
    fn the_tree_follows_php_rules() {
        let tree =
            parse_tree(b"a[b][]=1&a[b][]=2&a[c]=x&a[c][d]=y&plain=z&odd[=w&a%5Be%5D=enc").unwrap();
        let a = tree.get("a").unwrap();
        assert_eq!(a.get("b").unwrap().items().len(), 2);
        assert_eq!(a.get("c").unwrap().text("d"), Some("y"));
        assert_eq!(a.text("e"), Some("enc"));
        assert_eq!(tree.text("plain"), Some("z"));
        assert_eq!(tree.text("odd["), Some("w"));
        // Numeric keys come back in numeric, not lexical, order.
        let tree = parse_tree(b"l[10]=ten&l[2]=two&l[1]=one").unwrap();
        let order: Vec<_> = tree
            .get("l")
            .unwrap()
            .items()
            .into_iter()
            .cloned()
            .collect();
        assert_eq!(
            order,
            vec![
                Node::Leaf("one".into()),
                Node::Leaf("two".into()),
                Node::Leaf("ten".into())
            ]
        );
    }

    #[test]
    fn malformed_bodies_are_errors_or_ignored_never_panics() {
        assert_eq!(parse(b""), Err(ParseError::Empty));
        let deep = format!("a{}=1", "[x]".repeat(MAX_DEPTH + 1));
        assert_eq!(parse(deep.as_bytes()), Err(ParseError::TooDeep));
        let hook =
            parse(b"leads[status][0][name]=no id&contacts[add][0][id]=5&leads=flat&leads2[x]=1")
                .unwrap();
        assert!(hook.events.is_empty());
        assert!(hook.ignored >= 2);
        let hook = parse(b"leads[status]=oops&task[bogus][0][id]=1&\xff\xfe=1").unwrap();
        assert!(hook.events.is_empty());
    }

    /// A small seeded generator (SplitMix64), so the random bodies below are reproducible.
    struct SplitMix(u64);

    impl SplitMix {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    #[test]
    fn random_bodies_never_panic() {
        // Bytes weighted towards the syntax that matters: brackets, separators, escapes and digits.
        const ALPHABET: &[u8] = b"[]=&%5BDd0123456789leadstaskupdtaccount_id+\xff";
        let mut rng = SplitMix(7);
        for _ in 0..20_000 {
            let len = (rng.next() % 120) as usize;
            let body: Vec<u8> = (0..len)
                .map(|_| ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize])
                .collect();
            if let Ok(hook) = parse(&body) {
                for event in &hook.events {
                    let _ = event.dedup_key(1);
                }
            }
        }
        // Mutations of a real body: truncations and single-byte changes.
        let real = encode_fixture(
            &std::fs::read_to_string(format!(
                "{}/tests/fixtures/webhooks/task_events.txt",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        )
        .into_bytes();
        for cut in 0..real.len() {
            let _ = parse(&real[..cut]);
            let mut changed = real.clone();
            changed[cut] = ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize];
            let _ = parse(&changed);
        }
    }
}
