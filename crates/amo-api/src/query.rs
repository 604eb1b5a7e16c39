//! Query strings for list endpoints, in amoCRM's PHP-bracket form.
//!
//! Encoding: arrays use empty brackets (`filter[id][]=1&filter[id][]=2`), the stage pairs use
//! indexes (`filter[statuses][0][pipeline_id]=…`), and every bracket in a key is percent-encoded
//! (`%5B`, `%5D`), as RFC 3986 requires; amoCRM accepts both the encoded and the raw form.
//! Values are integers or fixed ASCII words, so they need no encoding.
//! Keys appear in a fixed order, and `limit` is clamped to 1..=250.

use std::fmt::{self, Display, Write};

use crate::tasks::EntityType;

/// The largest page size amoCRM accepts on list endpoints.
pub const MAX_LIMIT: u32 = 250;

/// A range filter over Unix seconds; either end may be open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl TimeRange {
    /// The instants from `from` to `to`, both included.
    pub fn between(from: i64, to: i64) -> TimeRange {
        TimeRange {
            from: Some(from),
            to: Some(to),
        }
    }
}

/// A sort direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// The fields tasks can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskOrder {
    CreatedAt,
    CompleteTill,
    Id,
}

/// The fields leads can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadOrder {
    CreatedAt,
    UpdatedAt,
    Id,
}

/// Extra data a lead list can include (`with=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadWith {
    Contacts,
    LossReason,
    CatalogElements,
    IsPriceModifiedByRobot,
    OnlyDeleted,
    SourceId,
    Source,
}

/// `GET /api/v4/tasks` parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TasksQuery {
    /// `filter[entity_type]`; amoCRM only honours `entity_ids` together with it.
    pub entity_type: Option<EntityType>,
    pub entity_ids: Vec<u64>,
    /// `filter[is_completed]`: `0` for open tasks, `1` for completed ones.
    pub is_completed: Option<bool>,
    pub responsible_user_ids: Vec<u64>,
    pub ids: Vec<u64>,
    /// `filter[task_type][]`.
    pub task_types: Vec<u32>,
    pub updated_at: TimeRange,
    pub order: Option<(TaskOrder, Direction)>,
    pub page: Option<u32>,
    pub limit: Option<u32>,
}

impl TasksQuery {
    /// The endpoint path.
    pub const PATH: &'static str = "/api/v4/tasks";

    /// The open tasks of lead `lead_id`, 250 per page.
    pub fn open_for_lead(lead_id: u64) -> TasksQuery {
        TasksQuery {
            entity_type: Some(EntityType::Leads),
            entity_ids: vec![lead_id],
            is_completed: Some(false),
            limit: Some(MAX_LIMIT),
            ..TasksQuery::default()
        }
    }

    /// The query string, without a leading `?`.
    pub fn to_query_string(&self) -> String {
        let mut query = QueryString::default();
        query.opt(
            "filter[entity_type]",
            self.entity_type.map(EntityType::as_str),
        );
        query.list("filter[entity_id][]", &self.entity_ids);
        query.opt("filter[is_completed]", self.is_completed.map(u8::from));
        query.list("filter[responsible_user_id][]", &self.responsible_user_ids);
        query.list("filter[id][]", &self.ids);
        query.list("filter[task_type][]", &self.task_types);
        query.range("filter[updated_at]", self.updated_at);
        if let Some((field, direction)) = self.order {
            let field = match field {
                TaskOrder::CreatedAt => "created_at",
                TaskOrder::CompleteTill => "complete_till",
                TaskOrder::Id => "id",
            };
            query.order(field, direction);
        }
        query.paging(self.page, self.limit);
        query.0
    }

    /// The path with the query string, e.g. `/api/v4/tasks?filter%5Bis_completed%5D=0`.
    pub fn to_path(&self) -> String {
        with_query(Self::PATH, self.to_query_string())
    }
}

/// `GET /api/v4/leads` parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeadsQuery {
    pub ids: Vec<u64>,
    pub pipeline_ids: Vec<u32>,
    /// `(pipeline_id, status_id)` pairs, sent as `filter[statuses][N][pipeline_id|status_id]`.
    pub statuses: Vec<(u32, u32)>,
    pub responsible_user_ids: Vec<u64>,
    pub created_at: TimeRange,
    pub updated_at: TimeRange,
    pub closed_at: TimeRange,
    pub closest_task_at: TimeRange,
    pub with: Vec<LeadWith>,
    pub order: Option<(LeadOrder, Direction)>,
    pub page: Option<u32>,
    pub limit: Option<u32>,
}

impl LeadsQuery {
    /// The endpoint path.
    pub const PATH: &'static str = "/api/v4/leads";

    /// The query string, without a leading `?`.
    pub fn to_query_string(&self) -> String {
        let mut query = QueryString::default();
        query.list("filter[id][]", &self.ids);
        query.list("filter[pipeline_id][]", &self.pipeline_ids);
        for (index, (pipeline_id, status_id)) in self.statuses.iter().enumerate() {
            query.pair(
                format_args!("filter[statuses][{index}][pipeline_id]"),
                pipeline_id,
            );
            query.pair(
                format_args!("filter[statuses][{index}][status_id]"),
                status_id,
            );
        }
        query.list("filter[responsible_user_id][]", &self.responsible_user_ids);
        query.range("filter[created_at]", self.created_at);
        query.range("filter[updated_at]", self.updated_at);
        query.range("filter[closed_at]", self.closed_at);
        query.range("filter[closest_task_at]", self.closest_task_at);
        if !self.with.is_empty() {
            let names: Vec<&str> = self.with.iter().map(|with| with.as_str()).collect();
            query.pair("with", names.join(","));
        }
        if let Some((field, direction)) = self.order {
            let field = match field {
                LeadOrder::CreatedAt => "created_at",
                LeadOrder::UpdatedAt => "updated_at",
                LeadOrder::Id => "id",
            };
            query.order(field, direction);
        }
        query.paging(self.page, self.limit);
        query.0
    }

    /// The path with the query string.
    pub fn to_path(&self) -> String {
        with_query(Self::PATH, self.to_query_string())
    }
}

impl LeadWith {
    /// The name amoCRM uses in `with=`.
    pub fn as_str(self) -> &'static str {
        match self {
            LeadWith::Contacts => "contacts",
            LeadWith::LossReason => "loss_reason",
            LeadWith::CatalogElements => "catalog_elements",
            LeadWith::IsPriceModifiedByRobot => "is_price_modified_by_robot",
            LeadWith::OnlyDeleted => "only_deleted",
            LeadWith::SourceId => "source_id",
            LeadWith::Source => "source",
        }
    }
}

fn with_query(path: &str, query: String) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// Builds `key=value` pairs joined by `&`, percent-encoding the brackets of keys.
#[derive(Default)]
struct QueryString(String);

impl QueryString {
    fn pair(&mut self, key: impl Display, value: impl Display) {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        for c in key.to_string().chars() {
            match c {
                '[' => self.0.push_str("%5B"),
                ']' => self.0.push_str("%5D"),
                c => self.0.push(c),
            }
        }
        // Writing to a String cannot fail.
        let _ = write!(self.0, "={value}");
    }

    fn opt(&mut self, key: impl Display, value: Option<impl Display>) {
        if let Some(value) = value {
            self.pair(key, value);
        }
    }

    fn list(&mut self, key: &str, values: &[impl Display]) {
        for value in values {
            self.pair(key, value);
        }
    }

    fn range(&mut self, key: &str, range: TimeRange) {
        self.opt(format_args!("{key}[from]"), range.from);
        self.opt(format_args!("{key}[to]"), range.to);
    }

    fn order(&mut self, field: &str, direction: Direction) {
        let direction = match direction {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        };
        self.pair(format_args!("order[{field}]"), direction);
    }

    fn paging(&mut self, page: Option<u32>, limit: Option<u32>) {
        self.opt("page", page);
        self.opt("limit", limit.map(|limit| limit.clamp(1, MAX_LIMIT)));
    }
}

impl fmt::Display for TasksQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_query_string())
    }
}

impl fmt::Display for LeadsQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_query_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Undoes the bracket encoding so expectations stay readable; the raw strings are checked too.
    fn readable(query: &str) -> String {
        query.replace("%5B", "[").replace("%5D", "]")
    }

    #[test]
    fn open_tasks_of_a_lead() {
        let query = TasksQuery {
            limit: None,
            ..TasksQuery::open_for_lead(42)
        };
        assert_eq!(query.to_query_string(), "filter%5Bentity_type%5D=leads&filter%5Bentity_id%5D%5B%5D=42&filter%5Bis_completed%5D=0");
        assert_eq!(
            readable(&query.to_query_string()),
            "filter[entity_type]=leads&filter[entity_id][]=42&filter[is_completed]=0"
        );
        assert_eq!(
            readable(&TasksQuery::open_for_lead(42).to_path()),
            "/api/v4/tasks?filter[entity_type]=leads&filter[entity_id][]=42&filter[is_completed]=0&limit=250"
        );
    }

    #[test]
    fn every_task_filter() {
        let query = TasksQuery {
            entity_type: Some(EntityType::Contacts),
            entity_ids: vec![1, 2],
            is_completed: Some(true),
            responsible_user_ids: vec![7],
            ids: vec![10, 11],
            task_types: vec![1, 2],
            updated_at: TimeRange::between(100, 200),
            order: Some((TaskOrder::CompleteTill, Direction::Asc)),
            page: Some(3),
            limit: Some(1000),
        };
        assert_eq!(
            readable(&query.to_string()),
            "filter[entity_type]=contacts&filter[entity_id][]=1&filter[entity_id][]=2&filter[is_completed]=1\
             &filter[responsible_user_id][]=7&filter[id][]=10&filter[id][]=11&filter[task_type][]=1&filter[task_type][]=2\
             &filter[updated_at][from]=100&filter[updated_at][to]=200&order[complete_till]=asc&page=3&limit=250"
        );
    }

    #[test]
    fn empty_queries_have_no_question_mark() {
        assert_eq!(TasksQuery::default().to_query_string(), "");
        assert_eq!(TasksQuery::default().to_path(), "/api/v4/tasks");
        assert_eq!(LeadsQuery::default().to_path(), "/api/v4/leads");
        assert_eq!(
            TasksQuery {
                limit: Some(0),
                ..TasksQuery::default()
            }
            .to_query_string(),
            "limit=1"
        );
    }

    #[test]
    fn won_leads_closed_in_a_window() {
        let query = LeadsQuery {
            statuses: vec![(3_177_727, 142)],
            closed_at: TimeRange::between(1_735_689_600, 1_738_367_999),
            with: vec![LeadWith::Contacts, LeadWith::LossReason],
            order: Some((LeadOrder::UpdatedAt, Direction::Desc)),
            limit: Some(250),
            page: Some(1),
            ..LeadsQuery::default()
        };
        assert_eq!(
            query.to_query_string(),
            "filter%5Bstatuses%5D%5B0%5D%5Bpipeline_id%5D=3177727&filter%5Bstatuses%5D%5B0%5D%5Bstatus_id%5D=142\
             &filter%5Bclosed_at%5D%5Bfrom%5D=1735689600&filter%5Bclosed_at%5D%5Bto%5D=1738367999\
             &with=contacts,loss_reason&order%5Bupdated_at%5D=desc&page=1&limit=250"
        );
    }

    #[test]
    fn every_lead_filter() {
        let query = LeadsQuery {
            ids: vec![5],
            pipeline_ids: vec![1, 2],
            statuses: vec![(1, 10), (2, 20)],
            responsible_user_ids: vec![7, 8],
            created_at: TimeRange {
                from: Some(1),
                to: None,
            },
            updated_at: TimeRange {
                from: None,
                to: Some(2),
            },
            closed_at: TimeRange::default(),
            closest_task_at: TimeRange::between(1, 1_700_000_000),
            with: vec![
                LeadWith::CatalogElements,
                LeadWith::IsPriceModifiedByRobot,
                LeadWith::OnlyDeleted,
                LeadWith::SourceId,
                LeadWith::Source,
            ],
            order: Some((LeadOrder::Id, Direction::Asc)),
            page: None,
            limit: Some(50),
        };
        assert_eq!(
            readable(&query.to_query_string()),
            "filter[id][]=5&filter[pipeline_id][]=1&filter[pipeline_id][]=2\
             &filter[statuses][0][pipeline_id]=1&filter[statuses][0][status_id]=10\
             &filter[statuses][1][pipeline_id]=2&filter[statuses][1][status_id]=20\
             &filter[responsible_user_id][]=7&filter[responsible_user_id][]=8\
             &filter[created_at][from]=1&filter[updated_at][to]=2\
             &filter[closest_task_at][from]=1&filter[closest_task_at][to]=1700000000\
             &with=catalog_elements,is_price_modified_by_robot,only_deleted,source_id,source&order[id]=asc&limit=50"
        );
    }
}
