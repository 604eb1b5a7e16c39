//! What the page shows for a computed [`KeyMetrics`]: the headline tiles, the tables and charts of
//! each leak, and the deal list behind every number. Pure: texts and number formats come from a
//! [`Locale`], so the whole view is tested natively.

use std::collections::HashMap;

use leakguard_core::deal::StageRef;
use leakguard_core::locale::Lang;
use leakguard_core::metrics::{Breakdown, Bucket, Deal, KeyMetrics, LostDeals};
use leakguard_core::payments::{format_money, Currency, Money};
use leakguard_core::text::interpolate;

use crate::chart::{bar_chart, Chart};
use crate::data::Directory;

/// The user's language: texts and number formats.
pub trait Locale {
    /// The text of a dotted i18n key.
    fn text(&self, key: &str) -> String;
    fn count(&self, value: i64) -> String;
    fn money(&self, value: i64) -> String;
    /// A share in basis points (10 000 = 100 %).
    fn share(&self, basis_points: i64) -> String;
}

/// The direction of a change. Every number here is a leak, so up is bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trend {
    Up,
    Down,
    Flat,
}

impl Trend {
    fn of(change: i64) -> Trend {
        match change.signum() {
            1 => Trend::Up,
            -1 => Trend::Down,
            _ => Trend::Flat,
        }
    }

    /// The arrow shown before a change.
    pub fn arrow(self) -> &'static str {
        match self {
            Trend::Up => "▲",
            Trend::Down => "▼",
            Trend::Flat => "=",
        }
    }

    /// The class suffix and `data-trend` value.
    pub fn code(self) -> &'static str {
        match self {
            Trend::Up => "up",
            Trend::Down => "down",
            Trend::Flat => "flat",
        }
    }
}

/// One table cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    /// A number of deals; `drill` is the index of its deal list in [`Report::drills`].
    Count {
        value: i64,
        text: String,
        drill: Option<usize>,
    },
    /// A sum of deal budgets.
    Money {
        value: i64,
        text: String,
        drill: Option<usize>,
    },
    Share {
        basis_points: i64,
        text: String,
    },
    /// A change against the previous period.
    Change {
        value: i64,
        text: String,
        trend: Trend,
    },
    /// A deal that opens in one click.
    Deal {
        id: u64,
        name: String,
    },
}

/// A table of the page, exported as it is shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Stable: the `data-table` attribute and the export's file name.
    pub id: String,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// A deal list behind a number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drill {
    pub title: String,
    pub deal_ids: Vec<u64>,
}

/// The comparison shown under a headline number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    pub trend: Trend,
    pub text: String,
}

/// A headline number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tile {
    /// `lost`, `overdue_tasks`, `without_task`, `overdue_payments` or `stuck`.
    pub metric: &'static str,
    pub title: String,
    /// A [`Cell::Count`], or `None` when the metric has no data.
    pub count: Option<Cell>,
    pub value: Option<Cell>,
    pub comparison: Option<Comparison>,
    pub note: Option<String>,
}

/// The details of one leak.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub metric: &'static str,
    pub title: String,
    pub note: Option<String>,
    pub chart: Option<Chart>,
    pub tables: Vec<Table>,
}

/// The whole page for one computation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub tiles: Vec<Tile>,
    pub sections: Vec<Section>,
    pub drills: Vec<Drill>,
}

/// Builds the report. `payments` is the account currency and language when the overdue payments
/// are known (their amounts are minor units of that currency); without it the leak says it has no data.
pub fn report(
    metrics: &KeyMetrics,
    directory: &Directory,
    payments: Option<(Currency, Lang)>,
    locale: &impl Locale,
) -> Report {
    let mut builder = Builder {
        locale,
        directory,
        drills: Vec::new(),
    };
    let t = |key: &str| locale.text(&format!("ui.metrics.{key}"));
    let snapshot = Some(t("snapshot_note"));
    let lost_delta = metrics.lost_delta();
    let lost_title = t("metric.lost");
    let mut tiles = vec![Tile {
        metric: "lost",
        title: lost_title.clone(),
        count: Some(builder.count(&metrics.lost.total, &lost_title)),
        value: Some(builder.money(&metrics.lost.total, &lost_title)),
        comparison: Some(Comparison {
            trend: Trend::of(lost_delta.count),
            text: interpolate(
                &t("compare.previous"),
                &[
                    ("count", &signed(lost_delta.count, |v| locale.count(v))),
                    ("value", &signed(lost_delta.value, |v| locale.money(v))),
                ],
            ),
        }),
        note: None,
    }];
    let mut sections =
        vec![builder.lost_section(&metrics.lost, &metrics.lost_previous, &lost_title)];
    for (metric, breakdown) in [
        ("overdue_tasks", &metrics.overdue_tasks),
        ("without_task", &metrics.without_task),
        ("stuck", &metrics.stuck.stuck),
    ] {
        let title = t(&format!("metric.{metric}"));
        let note = match metric {
            "stuck" => Some(interpolate(
                &t("stuck_note"),
                &[("count", &locale.count(metrics.stuck.escalated.count as i64))],
            )),
            _ => None,
        };
        tiles.push(Tile {
            metric,
            title: title.clone(),
            count: Some(builder.count(&breakdown.total, &title)),
            value: Some(builder.money(&breakdown.total, &title)),
            comparison: None,
            note: snapshot.clone(),
        });
        sections.push(builder.breakdown_section(metric, &title, breakdown, note));
    }
    let payments_title = t("metric.overdue_payments");
    let payments_tile = if let Some((currency, lang)) = payments {
        let total = &metrics.overdue_payments.total;
        Tile {
            metric: "overdue_payments",
            title: payments_title.clone(),
            count: Some(builder.count(total, &payments_title)),
            value: Some(Cell::Money {
                value: total.value,
                text: format_money(Money::new(total.value, currency), lang),
                drill: builder.drill(payments_title.clone(), total),
            }),
            comparison: None,
            note: snapshot,
        }
    } else {
        Tile {
            metric: "overdue_payments",
            title: payments_title,
            count: None,
            value: None,
            comparison: None,
            note: Some(t("payments_none")),
        }
    };
    tiles.insert(3, payments_tile);
    Report {
        tiles,
        sections,
        drills: builder.drills,
    }
}

/// `+1 234`, `−56` or `0`, with the magnitude formatted by `format`.
fn signed(value: i64, format: impl Fn(i64) -> String) -> String {
    match value.signum() {
        1 => format!("+{}", format(value)),
        -1 => format!("−{}", format(value.saturating_abs())),
        _ => format(0),
    }
}

struct Builder<'a, L> {
    locale: &'a L,
    directory: &'a Directory,
    drills: Vec<Drill>,
}

impl<L: Locale> Builder<'_, L> {
    fn t(&self, key: &str) -> String {
        self.locale.text(&format!("ui.metrics.{key}"))
    }

    fn drill(&mut self, title: String, bucket: &Bucket) -> Option<usize> {
        if bucket.deal_ids.is_empty() {
            return None;
        }
        self.drills.push(Drill {
            title,
            deal_ids: bucket.deal_ids.clone(),
        });
        Some(self.drills.len() - 1)
    }

    fn count(&mut self, bucket: &Bucket, title: &str) -> Cell {
        let value = bucket.count as i64;
        Cell::Count {
            value,
            text: self.locale.count(value),
            drill: self.drill(title.to_owned(), bucket),
        }
    }

    fn money(&mut self, bucket: &Bucket, title: &str) -> Cell {
        Cell::Money {
            value: bucket.value,
            text: self.locale.money(bucket.value),
            drill: self.drill(title.to_owned(), bucket),
        }
    }

    fn change(&self, now: &Bucket, before: &Bucket) -> Cell {
        let value = now.count as i64 - before.count as i64;
        Cell::Change {
            value,
            text: signed(value, |v| self.locale.count(v)),
            trend: Trend::of(value),
        }
    }

    fn person(&self, id: u64) -> String {
        self.directory.person(id).map_or_else(
            || interpolate(&self.t("unknown"), &[("id", &id.to_string())]),
            str::to_owned,
        )
    }

    fn stage(&self, stage: StageRef) -> (String, String) {
        stage_names(self.directory, stage, self.locale)
    }

    fn columns(&self, keys: &[&str]) -> Vec<String> {
        keys.iter()
            .map(|key| self.t(&format!("col.{key}")))
            .collect()
    }

    /// Managers with the most deals (then the most money) first.
    fn managers_table(
        &mut self,
        id: String,
        metric_title: &str,
        rows: &[(u64, Bucket)],
        previous: Option<&[(u64, Bucket)]>,
    ) -> Table {
        let mut sorted: Vec<&(u64, Bucket)> = rows.iter().collect();
        sorted.sort_by(|a, b| (b.1.count, b.1.value, a.0).cmp(&(a.1.count, a.1.value, b.0)));
        let mut keys = vec!["manager", "deals", "value"];
        if previous.is_some() {
            keys.extend(["previous", "change"]);
        }
        let mut table_rows = Vec::with_capacity(sorted.len());
        for (manager, bucket) in sorted {
            let name = self.person(*manager);
            let title = format!("{metric_title}: {name}");
            let mut row = vec![
                Cell::Text(name),
                self.count(bucket, &title),
                self.money(bucket, &title),
            ];
            if let Some(previous) = previous {
                let before = previous
                    .iter()
                    .find(|(id, _)| id == manager)
                    .map(|(_, b)| b.clone())
                    .unwrap_or_default();
                let title = format!("{title} ({})", self.t("col.previous"));
                row.push(self.count(&before, &title));
                row.push(self.change(bucket, &before));
            }
            table_rows.push(row);
        }
        // Managers who lost deals only in the previous period still show their change.
        if let Some(previous) = previous {
            for (manager, before) in previous
                .iter()
                .filter(|(id, _)| !rows.iter().any(|(r, _)| r == id))
            {
                let name = self.person(*manager);
                let title = format!("{metric_title}: {name} ({})", self.t("col.previous"));
                let none = Bucket::default();
                table_rows.push(vec![
                    Cell::Text(name),
                    self.count(&none, ""),
                    self.money(&none, ""),
                    self.count(before, &title),
                    self.change(&none, before),
                ]);
            }
        }
        Table {
            id,
            title: self.t("table.by_manager"),
            columns: self.columns(&keys),
            rows: table_rows,
        }
    }

    fn lost_section(
        &mut self,
        lost: &LostDeals,
        previous: &LostDeals,
        metric_title: &str,
    ) -> Section {
        let mut rows = Vec::new();
        let mut chart = Vec::new();
        let reason_name = |builder: &Self, reason: Option<u64>| match reason {
            None => builder.t("no_reason"),
            Some(id) => builder.directory.reason(id).map_or_else(
                || interpolate(&builder.t("unknown"), &[("id", &id.to_string())]),
                str::to_owned,
            ),
        };
        for row in &lost.by_reason {
            let name = reason_name(self, row.reason_id);
            let title = format!("{metric_title}: {name}");
            let before = previous
                .by_reason
                .iter()
                .find(|p| p.reason_id == row.reason_id)
                .map(|p| p.bucket.clone())
                .unwrap_or_default();
            chart.push((
                name.clone(),
                row.bucket.count as i64,
                format!(
                    "{} · {}",
                    self.locale.count(row.bucket.count as i64),
                    self.locale.share(row.count_share_bp)
                ),
            ));
            let previous_title = format!("{title} ({})", self.t("col.previous"));
            rows.push(vec![
                Cell::Text(name),
                self.count(&row.bucket, &title),
                self.money(&row.bucket, &title),
                Cell::Share {
                    basis_points: row.count_share_bp,
                    text: self.locale.share(row.count_share_bp),
                },
                Cell::Share {
                    basis_points: row.value_share_bp,
                    text: self.locale.share(row.value_share_bp),
                },
                self.count(&before, &previous_title),
                self.change(&row.bucket, &before),
            ]);
        }
        for row in previous
            .by_reason
            .iter()
            .filter(|p| !lost.by_reason.iter().any(|r| r.reason_id == p.reason_id))
        {
            let name = reason_name(self, row.reason_id);
            let title = format!("{metric_title}: {name} ({})", self.t("col.previous"));
            let none = Bucket::default();
            let zero = Cell::Share {
                basis_points: 0,
                text: self.locale.share(0),
            };
            rows.push(vec![
                Cell::Text(name),
                self.count(&none, ""),
                self.money(&none, ""),
                zero.clone(),
                zero,
                self.count(&row.bucket, &title),
                self.change(&none, &row.bucket),
            ]);
        }
        let by_reason = Table {
            id: "lost-reasons".into(),
            title: self.t("table.by_reason"),
            columns: self.columns(&[
                "reason",
                "deals",
                "value",
                "share_deals",
                "share_value",
                "previous",
                "change",
            ]),
            rows,
        };
        let by_manager = self.managers_table(
            "lost-managers".into(),
            metric_title,
            &lost.by_manager,
            Some(&previous.by_manager),
        );
        Section {
            metric: "lost",
            title: metric_title.to_owned(),
            note: None,
            chart: (!chart.is_empty()).then(|| bar_chart(self.t("chart.by_reason"), chart)),
            tables: vec![by_reason, by_manager],
        }
    }

    fn breakdown_section(
        &mut self,
        metric: &'static str,
        metric_title: &str,
        breakdown: &Breakdown,
        note: Option<String>,
    ) -> Section {
        let mut stages: Vec<&(StageRef, Bucket)> = breakdown.by_stage.iter().collect();
        stages.sort_by_key(|(stage, _)| self.directory.stage_rank(*stage));
        let mut rows = Vec::with_capacity(stages.len());
        let mut chart = Vec::with_capacity(stages.len());
        for (stage, bucket) in stages {
            let (pipeline, status) = self.stage(*stage);
            let title = format!("{metric_title}: {pipeline} / {status}");
            chart.push((
                format!("{pipeline} / {status}"),
                bucket.count as i64,
                format!(
                    "{} · {}",
                    self.locale.count(bucket.count as i64),
                    self.locale.money(bucket.value)
                ),
            ));
            rows.push(vec![
                Cell::Text(pipeline),
                Cell::Text(status),
                self.count(bucket, &title),
                self.money(bucket, &title),
            ]);
        }
        let by_stage = Table {
            id: format!("{metric}-stages"),
            title: self.t("table.by_stage"),
            columns: self.columns(&["pipeline", "stage", "deals", "value"]),
            rows,
        };
        let by_manager = self.managers_table(
            format!("{metric}-managers"),
            metric_title,
            &breakdown.by_manager,
            None,
        );
        Section {
            metric,
            title: metric_title.to_owned(),
            note,
            chart: (!chart.is_empty()).then(|| bar_chart(self.t("chart.by_stage"), chart)),
            tables: vec![by_stage, by_manager],
        }
    }
}

/// The pipeline and stage names of `stage`, `#<id>` for what the directory does not know.
fn stage_names(directory: &Directory, stage: StageRef, locale: &impl Locale) -> (String, String) {
    let unknown = |id: u32| {
        interpolate(
            &locale.text("ui.metrics.unknown"),
            &[("id", &id.to_string())],
        )
    };
    let (pipeline, status) = directory.stage(stage);
    (
        pipeline.map_or_else(|| unknown(stage.pipeline_id), str::to_owned),
        status.map_or_else(|| unknown(stage.status_id), str::to_owned),
    )
}

/// The deals of a drill-down list as a table, each with a link to its card.
pub fn deals_table(
    drill: &Drill,
    deals: &[Deal],
    index: &HashMap<u64, usize>,
    directory: &Directory,
    locale: &impl Locale,
) -> Table {
    let t = |key: &str| locale.text(&format!("ui.metrics.{key}"));
    let unknown = |id: String| interpolate(&t("unknown"), &[("id", &id)]);
    let rows = drill
        .deal_ids
        .iter()
        .filter_map(|id| deals.get(*index.get(id)?))
        .map(|deal| {
            let (pipeline, stage) = stage_names(directory, deal.stage(), locale);
            vec![
                Cell::Deal {
                    id: deal.id,
                    name: if deal.name.trim().is_empty() {
                        unknown(deal.id.to_string())
                    } else {
                        deal.name.clone()
                    },
                },
                Cell::Text(pipeline),
                Cell::Text(stage),
                Cell::Text(directory.person(deal.responsible_user_id).map_or_else(
                    || unknown(deal.responsible_user_id.to_string()),
                    str::to_owned,
                )),
                Cell::Money {
                    value: deal.price,
                    text: locale.money(deal.price),
                    drill: None,
                },
            ]
        })
        .collect();
    Table {
        id: "deals".into(),
        title: drill.title.clone(),
        columns: ["deal", "pipeline", "stage", "manager", "value"]
            .iter()
            .map(|k| t(&format!("col.{k}")))
            .collect(),
        rows,
    }
}

#[cfg(test)]
mod tests;
