//! The loaded data: names of pipelines, stages, reasons and users, and the deals and tasks of a
//! load, decoded page by page from amoCRM's JSON and checked again on arrival, because an
//! account may silently ignore a filter (amocrm-api-v4.md §1.4).

use std::collections::{BTreeSet, HashMap, HashSet};

use amo_api::tasks::EntityType;
use amo_api::{Lead, LossReason, Page, Pipeline, Task};
use leakguard_core::deal::{is_closed_status, StageRef, STATUS_LOST};
use leakguard_core::metrics::{Deal, TaskEntity, TaskRef};

use crate::scope::Scope;

/// A pipeline stage as the page names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    pub id: u32,
    pub name: String,
}

/// A pipeline with its stages in display order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineInfo {
    pub id: u32,
    pub name: String,
    pub stages: Vec<Stage>,
}

/// A user of the account, from `APP.constant('managers')`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub id: u64,
    pub name: String,
    /// 0 when the user is in no group.
    pub group_id: u64,
}

/// The names the page shows next to ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Directory {
    pub pipelines: Vec<PipelineInfo>,
    pub reasons: Vec<(u64, String)>,
    /// Sorted by name.
    pub people: Vec<Person>,
    /// Sorted by name.
    pub groups: Vec<(u64, String)>,
}

impl Directory {
    /// The directory from the API's pipelines and loss reasons and the page's users and groups.
    pub fn new(
        mut pipelines: Vec<Pipeline>,
        mut reasons: Vec<LossReason>,
        mut people: Vec<Person>,
        mut groups: Vec<(u64, String)>,
    ) -> Directory {
        pipelines.sort_by_key(|p| (p.sort, p.id));
        reasons.sort_by_key(|r| (r.sort, r.id));
        people.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        groups.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        Directory {
            pipelines: pipelines
                .iter()
                .map(|p| PipelineInfo {
                    id: p.id,
                    name: p.name.clone(),
                    stages: p
                        .statuses_in_order()
                        .into_iter()
                        .map(|s| Stage {
                            id: s.id,
                            name: s.name.clone(),
                        })
                        .collect(),
                })
                .collect(),
            reasons: reasons.into_iter().map(|r| (r.id, r.name)).collect(),
            people,
            groups,
        }
    }

    /// Every `(pipeline, status)` of the account.
    pub fn stage_pairs(&self) -> Vec<(u32, u32)> {
        self.pipelines
            .iter()
            .flat_map(|p| p.stages.iter().map(move |s| (p.id, s.id)))
            .collect()
    }

    /// The pipeline and stage names of `stage`, each when known.
    pub fn stage(&self, stage: StageRef) -> (Option<&str>, Option<&str>) {
        let pipeline = self.pipelines.iter().find(|p| p.id == stage.pipeline_id);
        let status = pipeline.and_then(|p| p.stages.iter().find(|s| s.id == stage.status_id));
        (
            pipeline.map(|p| p.name.as_str()),
            status.map(|s| s.name.as_str()),
        )
    }

    /// Where `stage` stands in the account's order: pipelines, then stages; unknown stages last.
    pub fn stage_rank(&self, stage: StageRef) -> (usize, usize) {
        let Some(p) = self
            .pipelines
            .iter()
            .position(|p| p.id == stage.pipeline_id)
        else {
            return (usize::MAX, stage.status_id as usize);
        };
        let s = self.pipelines[p]
            .stages
            .iter()
            .position(|s| s.id == stage.status_id)
            .unwrap_or(usize::MAX);
        (p, s)
    }

    pub fn person(&self, id: u64) -> Option<&str> {
        self.people
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.as_str())
    }

    pub fn reason(&self, id: u64) -> Option<&str> {
        self.reasons
            .iter()
            .find(|r| r.0 == id)
            .map(|r| r.1.as_str())
    }

    pub fn pipeline(&self, id: u32) -> Option<&str> {
        self.pipelines
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.as_str())
    }

    /// The users of group `group`.
    pub fn members(&self, group: u64) -> BTreeSet<u64> {
        self.people
            .iter()
            .filter(|p| p.group_id == group)
            .map(|p| p.id)
            .collect()
    }
}

/// The three lists a load reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum List {
    OpenDeals,
    LostDeals,
    OpenTasks,
    /// Deals of any status (a benchmark's pages): the open ones and the lost ones are kept.
    AnyDeals,
}

/// The deals and tasks of one load, each once.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    pub deals: Vec<Deal>,
    pub tasks: Vec<TaskRef>,
    deal_ids: HashSet<u64>,
    task_ids: HashSet<u64>,
}

impl Dataset {
    /// A dataset that starts with the open tasks of an earlier load.
    pub fn with_tasks(tasks: Vec<TaskRef>) -> Dataset {
        Dataset {
            task_ids: tasks.iter().map(|t| t.id).collect(),
            tasks,
            ..Dataset::default()
        }
    }

    /// Adds one page of `list` (the JSON body's bytes; `None` for a 204) and returns how many items the
    /// page held before the checks, which is what the page plan needs.
    pub fn add_page(
        &mut self,
        list: List,
        body: Option<&[u8]>,
        scope: &Scope,
    ) -> Result<usize, serde_json::Error> {
        let Some(body) = body else { return Ok(0) };
        match list {
            List::OpenDeals | List::LostDeals | List::AnyDeals => {
                let page: Page<Lead> = serde_json::from_slice(body)?;
                let count = page.items.len();
                for lead in page.items {
                    if accepts(list, &lead, scope) && self.deal_ids.insert(lead.id) {
                        self.deals.push(deal_of(lead));
                    }
                }
                Ok(count)
            }
            List::OpenTasks => {
                let page: Page<Task> = serde_json::from_slice(body)?;
                let count = page.items.len();
                for task in page.items {
                    if !task.is_completed
                        && task.entity_type == Some(EntityType::Leads)
                        && self.task_ids.insert(task.id)
                    {
                        self.tasks.push(task_of(&task));
                    }
                }
                Ok(count)
            }
        }
    }

    /// The position of every deal by id, for drill-down lists.
    pub fn index(&self) -> HashMap<u64, usize> {
        self.deals
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id, i))
            .collect()
    }

    /// Keeps only what `scope` holds: the deals of its pipelines and users, lost within its period.
    pub fn narrow(&mut self, scope: &Scope) {
        self.deals.retain(|deal| {
            let kept = scope.holds(deal.pipeline_id, deal.responsible_user_id)
                && (deal.status_id != STATUS_LOST
                    || deal
                        .closed_at
                        .is_some_and(|closed| scope.lost.contains(closed)));
            kept || !self.deal_ids.remove(&deal.id)
        });
    }
}

/// Whether a lead from `list` really is what the request asked for.
fn accepts(list: List, lead: &Lead, scope: &Scope) -> bool {
    if lead.is_deleted || !scope.holds(lead.pipeline_id, lead.responsible_user_id) {
        return false;
    }
    match list {
        List::OpenDeals => !is_closed_status(lead.status_id),
        List::LostDeals => {
            lead.status_id == STATUS_LOST
                && lead
                    .closed_at
                    .is_some_and(|closed| scope.lost.contains(closed))
        }
        List::AnyDeals => {
            accepts(List::OpenDeals, lead, scope) || accepts(List::LostDeals, lead, scope)
        }
        List::OpenTasks => false,
    }
}

/// A lead as the core's metrics see it. amoCRM does not say when a deal entered its stage, so
/// its last change stands in: a deal cannot have entered its stage after it last changed, so a
/// deal stuck by this measure is stuck for certain (the backend will know the exact time).
pub fn deal_of(lead: Lead) -> Deal {
    Deal {
        id: lead.id,
        name: lead.name,
        price: lead.price,
        pipeline_id: lead.pipeline_id,
        status_id: lead.status_id,
        responsible_user_id: lead.responsible_user_id,
        group_id: lead.group_id,
        created_at: lead.created_at,
        closed_at: lead.closed_at,
        loss_reason_id: lead.loss_reason_id,
        stage_since: lead.updated_at,
        is_deleted: lead.is_deleted,
    }
}

/// A task as the core's metrics see it.
pub fn task_of(task: &Task) -> TaskRef {
    TaskRef {
        id: task.id,
        entity_type: match task.entity_type {
            Some(EntityType::Leads) => TaskEntity::Lead,
            Some(EntityType::Contacts) => TaskEntity::Contact,
            Some(EntityType::Companies) => TaskEntity::Company,
            Some(EntityType::Customers) => TaskEntity::Customer,
            Some(EntityType::Other) | None => TaskEntity::None,
        },
        entity_id: task.entity_id.unwrap_or_default(),
        complete_till: task.complete_till,
        is_completed: task.is_completed,
        responsible_user_id: task.responsible_user_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakguard_core::metrics::{Filter, Period};

    fn lead(id: u64, pipeline: u32, status: u32, manager: u64, closed: Option<i64>) -> String {
        let closed = closed.map_or("null".to_owned(), |c| c.to_string());
        format!(
            r#"{{"id":{id},"name":"Deal {id}","price":{price},"responsible_user_id":{manager},"group_id":0,
            "status_id":{status},"pipeline_id":{pipeline},"loss_reason_id":null,"created_at":100,"updated_at":500,
            "closed_at":{closed},"closest_task_at":null,"is_deleted":false,"custom_fields_values":null,
            "_links":{{"self":{{"href":"/api/v4/leads/{id}"}}}},"_embedded":{{"tags":[],"companies":[]}}}}"#,
            price = id * 10
        )
    }

    fn page(key: &str, items: &[String]) -> String {
        format!(
            r#"{{"_page":1,"_links":{{}},"_embedded":{{"{key}":[{}]}}}}"#,
            items.join(",")
        )
    }

    fn scope(pipeline: Option<u32>, manager: Option<u64>) -> Scope {
        let filter = Filter {
            period: Period {
                from: 2_000,
                to: 3_000,
            },
            pipeline_id: pipeline,
            manager_id: manager,
            group_id: None,
        };
        Scope::for_filter(&filter, |_| BTreeSet::new())
    }

    #[test]
    fn ignored_filters_are_applied_on_arrival() {
        // An account that ignores every filter sends won, lost and other pipelines' deals too.
        let body = page(
            "leads",
            &[
                lead(1, 7, 10, 5, None),
                lead(2, 7, 142, 5, Some(2_500)),
                lead(3, 7, 143, 5, Some(2_500)),
                lead(4, 8, 10, 5, None),
                lead(5, 7, 10, 6, None),
                lead(6, 7, 143, 5, Some(500)),
                lead(7, 7, 143, 5, Some(1_000)),
            ],
        );
        let scope = scope(Some(7), Some(5));
        let mut data = Dataset::default();
        assert_eq!(
            data.add_page(List::OpenDeals, Some(body.as_bytes()), &scope)
                .unwrap(),
            7
        );
        assert_eq!(
            data.add_page(List::LostDeals, Some(body.as_bytes()), &scope)
                .unwrap(),
            7
        );
        let ids: Vec<u64> = data.deals.iter().map(|d| d.id).collect();
        // The previous period starts at 1 000, so deal 7 is kept for the comparison.
        assert_eq!(ids, [1, 3, 7]);
        assert_eq!(data.deals[0].price, 10);
        assert_eq!(data.deals[0].stage_since, 500);
        // A page received twice adds nothing.
        data.add_page(List::OpenDeals, Some(body.as_bytes()), &scope)
            .unwrap();
        assert_eq!(data.deals.len(), 3);
        assert_eq!(data.add_page(List::OpenDeals, None, &scope).unwrap(), 0);
    }

    #[test]
    fn only_open_lead_tasks_are_kept() {
        let task = |id: u64, entity: &str, done: bool| {
            format!(
                r#"{{"id":{id},"entity_id":1,"entity_type":"{entity}","is_completed":{done},"complete_till":900,
                "responsible_user_id":5,"text":"Call","result":[],"_links":{{}}}}"#
            )
        };
        let body = page(
            "tasks",
            &[
                task(1, "leads", false),
                task(2, "leads", true),
                task(3, "contacts", false),
            ],
        );
        let mut data = Dataset::default();
        assert_eq!(
            data.add_page(List::OpenTasks, Some(body.as_bytes()), &scope(None, None))
                .unwrap(),
            3
        );
        assert_eq!(data.tasks.len(), 1);
        assert_eq!(data.tasks[0].entity_type, TaskEntity::Lead);
        assert_eq!(data.tasks[0].complete_till, 900);
        assert!(data
            .add_page(
                List::OpenTasks,
                Some(b"{not json".as_slice()),
                &scope(None, None)
            )
            .is_err());
    }

    #[test]
    fn narrowing_drops_what_a_smaller_scope_does_not_hold() {
        let body = page(
            "leads",
            &[
                lead(1, 7, 10, 5, None),
                lead(2, 8, 10, 6, None),
                lead(3, 7, 143, 5, Some(1_500)),
            ],
        );
        let wide = scope(None, None);
        let mut data = Dataset::default();
        data.add_page(List::OpenDeals, Some(body.as_bytes()), &wide)
            .unwrap();
        data.add_page(List::LostDeals, Some(body.as_bytes()), &wide)
            .unwrap();
        assert_eq!(data.deals.len(), 3);
        let mut narrow = scope(Some(7), None);
        narrow.lost = Period {
            from: 2_000,
            to: 3_000,
        };
        data.narrow(&narrow);
        assert_eq!(data.deals.iter().map(|d| d.id).collect::<Vec<_>>(), [1]);
        // A dropped deal can come back with a later page.
        data.add_page(List::OpenDeals, Some(body.as_bytes()), &wide)
            .unwrap();
        assert_eq!(data.deals.len(), 2);
    }

    #[test]
    fn the_directory_orders_pipelines_stages_and_people() {
        let pipelines: Page<Pipeline> = serde_json::from_str(
            r#"{"_embedded":{"pipelines":[
              {"id":2,"name":"B","sort":2,"_embedded":{"statuses":[{"id":143,"name":"Lost","sort":11000},{"id":21,"name":"New","sort":10}]}},
              {"id":1,"name":"A","sort":1,"_embedded":{"statuses":[{"id":11,"name":"First","sort":10},{"id":142,"name":"Won","sort":10000}]}}]}}"#,
        )
        .unwrap();
        let people = vec![
            Person {
                id: 2,
                name: "Борис".into(),
                group_id: 9,
            },
            Person {
                id: 1,
                name: "Анна".into(),
                group_id: 9,
            },
            Person {
                id: 3,
                name: "Вера".into(),
                group_id: 0,
            },
        ];
        let directory = Directory::new(
            pipelines.items,
            Vec::new(),
            people,
            vec![(9, "Sales".into())],
        );
        assert_eq!(
            directory.stage_pairs(),
            [(1, 11), (1, 142), (2, 21), (2, 143)]
        );
        assert_eq!(
            directory.stage(StageRef::new(2, 21)),
            (Some("B"), Some("New"))
        );
        assert_eq!(directory.stage(StageRef::new(2, 99)), (Some("B"), None));
        assert_eq!(directory.stage_rank(StageRef::new(2, 143)), (1, 1));
        assert_eq!(directory.stage_rank(StageRef::new(5, 1)).0, usize::MAX);
        assert_eq!(directory.people[0].name, "Анна");
        assert_eq!(directory.members(9), BTreeSet::from([1, 2]));
        assert_eq!(directory.person(3), Some("Вера"));
    }
}
