//! What to load for a filter: the period presets, the slice of amoCRM's data a load covers, and
//! the narrowest list requests the API offers for it.
//!
//! Manager and group filters only narrow what is loaded; a later filter inside what is already
//! loaded is answered without a request.

use std::collections::BTreeSet;

use amo_api::query::{LeadsQuery, TasksQuery, TimeRange, MAX_LIMIT};
use amo_api::tasks::EntityType;
use leakguard_core::dates::{local_date_of, utc_of_local, Date, UtcOffset, YearMonth};
use leakguard_core::deal::{STATUS_LOST, STATUS_WON};
use leakguard_core::metrics::{Filter, Period};

/// The periods the filter offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    Last7Days,
    Last30Days,
    ThisMonth,
    LastMonth,
    ThisQuarter,
    /// From one date to another, both included.
    Custom {
        from: Date,
        to: Date,
    },
}

impl Preset {
    /// The value of the period `<select>` option.
    pub fn code(self) -> &'static str {
        match self {
            Preset::Last7Days => "last_7",
            Preset::Last30Days => "last_30",
            Preset::ThisMonth => "this_month",
            Preset::LastMonth => "last_month",
            Preset::ThisQuarter => "this_quarter",
            Preset::Custom { .. } => "custom",
        }
    }

    /// The presets of the `<select>`, in order (the custom range last).
    pub const LISTED: [&'static str; 6] = [
        "last_7",
        "last_30",
        "this_month",
        "last_month",
        "this_quarter",
        "custom",
    ];

    /// The preset of a `<select>` value; `custom` takes its two dates, in either order.
    pub fn from_code(code: &str, from: Option<Date>, to: Option<Date>) -> Option<Preset> {
        Some(match code {
            "last_7" => Preset::Last7Days,
            "last_30" => Preset::Last30Days,
            "this_month" => Preset::ThisMonth,
            "last_month" => Preset::LastMonth,
            "this_quarter" => Preset::ThisQuarter,
            "custom" => {
                let (from, to) = (from?, to?);
                Preset::Custom {
                    from: from.min(to),
                    to: from.max(to),
                }
            }
            _ => return None,
        })
    }

    /// The period in the account's zone at `now`: from local midnight of its first day to local
    /// midnight after its last day (today included for the rolling and current presets).
    pub fn period(self, now: i64, tz: &(impl UtcOffset + ?Sized)) -> Period {
        let today = local_date_of(now, tz);
        let month = YearMonth::of(today);
        let (first, last) = match self {
            Preset::Last7Days => (today.add_days(-6), today),
            Preset::Last30Days => (today.add_days(-29), today),
            Preset::ThisMonth => (month.first_day(), today),
            Preset::LastMonth => {
                let previous = month.add_months(-1);
                (previous.first_day(), previous.last_day())
            }
            Preset::ThisQuarter => {
                let into_quarter = (i32::from(today.month()) - 1) % 3;
                (month.add_months(-into_quarter).first_day(), today)
            }
            Preset::Custom { from, to } => (from, to),
        };
        Period {
            from: utc_of_local(first, 0, 0, tz),
            to: utc_of_local(last.next(), 0, 0, tz),
        }
    }
}

/// The slice of amoCRM's data one load brings: the open deals and the deals lost in `lost` of
/// one pipeline (or all) and some managers (or all), and every open lead task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub pipeline_id: Option<u32>,
    /// `None` for every user.
    pub managers: Option<BTreeSet<u64>>,
    /// The closing times of the lost deals loaded: the filter's period and the one before it.
    pub lost: Period,
}

impl Scope {
    /// What a load needs for `filter`; `members` lists the users of a group.
    pub fn for_filter(filter: &Filter, members: impl Fn(u64) -> BTreeSet<u64>) -> Scope {
        let managers = match (filter.manager_id, filter.group_id) {
            (None, None) => None,
            (Some(manager), None) => Some(BTreeSet::from([manager])),
            (None, Some(group)) => Some(members(group)),
            (Some(manager), Some(group)) => Some(
                members(group)
                    .into_iter()
                    .filter(|&id| id == manager)
                    .collect(),
            ),
        };
        Scope {
            pipeline_id: filter.pipeline_id,
            managers,
            lost: Period {
                from: filter.period.previous().from,
                to: filter.period.to,
            },
        }
    }

    /// Whether the data of this scope answers `wanted` without a new request.
    pub fn covers(&self, wanted: &Scope) -> bool {
        let pipeline = self.pipeline_id.is_none() || self.pipeline_id == wanted.pipeline_id;
        let managers = match (&self.managers, &wanted.managers) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(have), Some(want)) => want.is_subset(have),
        };
        let lost = self.lost.from <= wanted.lost.from && wanted.lost.to <= self.lost.to;
        pipeline && managers && lost
    }

    /// Whether a deal of `pipeline_id` with responsible user `manager` belongs to this scope.
    pub fn holds(&self, pipeline_id: u32, manager: u64) -> bool {
        self.pipeline_id.is_none_or(|id| id == pipeline_id)
            && self
                .managers
                .as_ref()
                .is_none_or(|set| set.contains(&manager))
    }

    /// Whether nothing can match (a group without users).
    pub fn is_empty(&self) -> bool {
        self.managers.as_ref().is_some_and(BTreeSet::is_empty)
    }

    fn responsible(&self) -> Vec<u64> {
        self.managers.iter().flatten().copied().collect()
    }

    /// `GET /api/v4/leads` for the open deals of the scope: only the open stages of its pipelines.
    ///
    /// `stages` lists `(pipeline, status)` of every stage the account has. With very many stages
    /// the pipelines are asked for instead and the closed deals dropped on arrival.
    pub fn open_deals(&self, stages: &[(u32, u32)]) -> LeadsQuery {
        let open: Vec<(u32, u32)> = stages
            .iter()
            .copied()
            .filter(|&(pipeline, status)| {
                status != STATUS_WON
                    && status != STATUS_LOST
                    && self.pipeline_id.is_none_or(|id| id == pipeline)
            })
            .collect();
        let mut query = self.leads_query();
        if open.len() <= MAX_STAGE_PAIRS {
            query.statuses = open;
        } else {
            query.pipeline_ids = self.pipelines(stages);
        }
        query
    }

    /// `GET /api/v4/leads` for the deals of the scope lost within `lost`.
    pub fn lost_deals(&self, stages: &[(u32, u32)]) -> LeadsQuery {
        let mut query = self.leads_query();
        query.statuses = self
            .pipelines(stages)
            .into_iter()
            .map(|pipeline| (pipeline, STATUS_LOST))
            .collect();
        // amoCRM's ranges include both ends; the period excludes its end.
        query.closed_at = TimeRange::between(self.lost.from, self.lost.to - 1);
        query
    }

    fn pipelines(&self, stages: &[(u32, u32)]) -> Vec<u32> {
        let all: BTreeSet<u32> = stages.iter().map(|&(pipeline, _)| pipeline).collect();
        all.into_iter()
            .filter(|&pipeline| self.pipeline_id.is_none_or(|id| id == pipeline))
            .collect()
    }

    fn leads_query(&self) -> LeadsQuery {
        LeadsQuery {
            responsible_user_ids: self.responsible(),
            limit: Some(MAX_LIMIT),
            ..LeadsQuery::default()
        }
    }
}

/// More stage pairs than this make the URL long; the pipelines are asked for instead.
const MAX_STAGE_PAIRS: usize = 100;

/// `GET /api/v4/tasks` for every open task attached to a lead.
pub fn open_tasks() -> TasksQuery {
    TasksQuery {
        entity_type: Some(EntityType::Leads),
        is_completed: Some(false),
        limit: Some(MAX_LIMIT),
        ..TasksQuery::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakguard_core::dates::FixedOffset;

    const MSK: FixedOffset = FixedOffset(3 * 3600);

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    fn midnight(text: &str) -> i64 {
        utc_of_local(date(text), 0, 0, &MSK)
    }

    #[test]
    fn presets_follow_the_account_zone() {
        // 01:30 in Moscow on the 27th, still the 26th in UTC.
        let now = midnight("2026-11-27") + 5400;
        let period = |preset: Preset| preset.period(now, &MSK);
        assert_eq!(
            period(Preset::Last7Days),
            Period {
                from: midnight("2026-11-21"),
                to: midnight("2026-11-28")
            }
        );
        assert_eq!(period(Preset::Last30Days).from, midnight("2026-10-29"));
        assert_eq!(
            period(Preset::ThisMonth),
            Period {
                from: midnight("2026-11-01"),
                to: midnight("2026-11-28")
            }
        );
        assert_eq!(
            period(Preset::LastMonth),
            Period {
                from: midnight("2026-10-01"),
                to: midnight("2026-11-01")
            }
        );
        assert_eq!(period(Preset::ThisQuarter).from, midnight("2026-10-01"));
        let custom =
            Preset::from_code("custom", Some(date("2026-03-10")), Some(date("2026-03-01")))
                .unwrap();
        assert_eq!(
            period(custom),
            Period {
                from: midnight("2026-03-01"),
                to: midnight("2026-03-11")
            }
        );
        assert_eq!(
            Preset::from_code("custom", None, Some(date("2026-03-01"))),
            None
        );
        assert_eq!(Preset::from_code("yesterday", None, None), None);
        for code in Preset::LISTED.into_iter().filter(|&c| c != "custom") {
            assert_eq!(Preset::from_code(code, None, None).unwrap().code(), code);
        }
        // The quarter of January starts in January.
        let january = midnight("2027-01-15");
        assert_eq!(
            Preset::ThisQuarter.period(january, &MSK).from,
            midnight("2027-01-01")
        );
    }

    fn filter(pipeline: Option<u32>, manager: Option<u64>, group: Option<u64>) -> Filter {
        Filter {
            period: Period {
                from: 1_000,
                to: 2_000,
            },
            pipeline_id: pipeline,
            manager_id: manager,
            group_id: group,
        }
    }

    fn members(group: u64) -> BTreeSet<u64> {
        match group {
            1 => BTreeSet::from([10, 11]),
            _ => BTreeSet::new(),
        }
    }

    #[test]
    fn a_scope_covers_the_previous_period_and_narrower_filters() {
        let all = Scope::for_filter(&filter(None, None, None), members);
        assert_eq!(all.lost, Period { from: 0, to: 2_000 });
        assert_eq!(all.managers, None);
        let group = Scope::for_filter(&filter(Some(7), None, Some(1)), members);
        assert_eq!(group.managers, Some(BTreeSet::from([10, 11])));
        let one = Scope::for_filter(&filter(Some(7), Some(11), Some(1)), members);
        assert_eq!(one.managers, Some(BTreeSet::from([11])));
        let outsider = Scope::for_filter(&filter(None, Some(12), Some(1)), members);
        assert!(outsider.is_empty());
        assert!(all.covers(&group) && all.covers(&one) && group.covers(&one));
        assert!(!group.covers(&all) && !one.covers(&group));
        let later = Scope {
            lost: Period {
                from: 500,
                to: 2_500,
            },
            ..all.clone()
        };
        assert!(!all.covers(&later));
        assert!(group.holds(7, 10) && !group.holds(8, 10) && !group.holds(7, 12));
    }

    #[test]
    fn requests_ask_only_for_what_the_scope_needs() {
        let stages = [
            (1, 10),
            (1, 11),
            (1, 142),
            (1, 143),
            (2, 20),
            (2, 142),
            (2, 143),
        ];
        let scope = Scope::for_filter(&filter(Some(1), None, Some(1)), members);
        let open = scope
            .open_deals(&stages)
            .to_path()
            .replace("%5B", "[")
            .replace("%5D", "]");
        assert_eq!(
            open,
            "/api/v4/leads?filter[statuses][0][pipeline_id]=1&filter[statuses][0][status_id]=10\
             &filter[statuses][1][pipeline_id]=1&filter[statuses][1][status_id]=11\
             &filter[responsible_user_id][]=10&filter[responsible_user_id][]=11&limit=250"
        );
        let all = Scope::for_filter(&filter(None, None, None), members);
        let lost = all
            .lost_deals(&stages)
            .to_path()
            .replace("%5B", "[")
            .replace("%5D", "]");
        assert_eq!(
            lost,
            "/api/v4/leads?filter[statuses][0][pipeline_id]=1&filter[statuses][0][status_id]=143\
             &filter[statuses][1][pipeline_id]=2&filter[statuses][1][status_id]=143\
             &filter[closed_at][from]=0&filter[closed_at][to]=1999&limit=250"
        );
        let tasks = open_tasks()
            .to_path()
            .replace("%5B", "[")
            .replace("%5D", "]");
        assert_eq!(
            tasks,
            "/api/v4/tasks?filter[entity_type]=leads&filter[is_completed]=0&limit=250"
        );
        let many: Vec<(u32, u32)> = (0..150).map(|i| (1 + i / 50, 1000 + i)).collect();
        let query = all.open_deals(&many);
        assert!(query.statuses.is_empty());
        assert_eq!(query.pipeline_ids, vec![1, 2, 3]);
    }
}
