//! The report of hand-made metrics: tiles, comparison, tables in account order, drill-down lists.

use std::collections::HashMap;

use leakguard_core::deal::StageRef;
use leakguard_core::metrics::{
    Breakdown, Bucket, Deal, KeyMetrics, LostDeals, ReasonRow, StuckDeals,
};

use super::*;
use crate::data::{Directory, Person, PipelineInfo, Stage};

/// Keys as text, numbers plain, money with a sign, shares in per mille.
struct Plain;

impl Locale for Plain {
    fn text(&self, key: &str) -> String {
        match key {
            "ui.metrics.compare.previous" => "{count} deals, {value} vs previous".into(),
            "ui.metrics.unknown" => "#{id}".into(),
            "ui.metrics.stuck_note" => "escalated: {count}".into(),
            other => other.trim_start_matches("ui.metrics.").into(),
        }
    }
    fn count(&self, value: i64) -> String {
        value.to_string()
    }
    fn money(&self, value: i64) -> String {
        format!("{value} ₽")
    }
    fn share(&self, basis_points: i64) -> String {
        format!("{}‰", basis_points / 10)
    }
}

fn bucket(ids: &[u64], value: i64) -> Bucket {
    Bucket {
        count: ids.len(),
        value,
        deal_ids: ids.to_vec(),
    }
}

fn directory() -> Directory {
    Directory {
        pipelines: vec![
            PipelineInfo {
                id: 1,
                name: "Sales".into(),
                stages: vec![
                    Stage {
                        id: 10,
                        name: "New".into(),
                    },
                    Stage {
                        id: 11,
                        name: "Talks".into(),
                    },
                ],
            },
            PipelineInfo {
                id: 2,
                name: "Wholesale".into(),
                stages: vec![Stage {
                    id: 20,
                    name: "Quote".into(),
                }],
            },
        ],
        reasons: vec![(7, "Too expensive".into())],
        people: vec![
            Person {
                id: 100,
                name: "Anna".into(),
                group_id: 0,
            },
            Person {
                id: 101,
                name: "Boris".into(),
                group_id: 0,
            },
        ],
        groups: vec![],
    }
}

fn metrics() -> KeyMetrics {
    let lost = LostDeals {
        total: bucket(&[1, 2, 3], 600),
        by_reason: vec![
            ReasonRow {
                reason_id: Some(7),
                bucket: bucket(&[1, 2], 500),
                count_share_bp: 6667,
                value_share_bp: 8333,
            },
            ReasonRow {
                reason_id: None,
                bucket: bucket(&[3], 100),
                count_share_bp: 3333,
                value_share_bp: 1667,
            },
        ],
        by_manager: vec![(100, bucket(&[1], 100)), (101, bucket(&[2, 3], 500))],
    };
    let lost_previous = LostDeals {
        total: bucket(&[4], 50),
        by_reason: vec![ReasonRow {
            reason_id: Some(8),
            bucket: bucket(&[4], 50),
            count_share_bp: 10_000,
            value_share_bp: 10_000,
        }],
        by_manager: vec![(102, bucket(&[4], 50))],
    };
    let overdue = Breakdown {
        total: bucket(&[5, 6], 30),
        by_stage: vec![
            (StageRef::new(2, 20), bucket(&[6], 20)),
            (StageRef::new(1, 11), bucket(&[5], 10)),
        ],
        by_manager: vec![(100, bucket(&[5, 6], 30))],
    };
    KeyMetrics {
        lost,
        lost_previous,
        overdue_tasks: overdue,
        without_task: Breakdown::default(),
        overdue_payments: Default::default(),
        stuck: StuckDeals {
            stuck: Breakdown::default(),
            escalated: Bucket::default(),
        },
    }
}

fn texts(row: &[Cell]) -> Vec<String> {
    row.iter()
        .map(|cell| match cell {
            Cell::Text(t) => t.clone(),
            Cell::Count { text, .. }
            | Cell::Money { text, .. }
            | Cell::Share { text, .. }
            | Cell::Change { text, .. } => text.clone(),
            Cell::Deal { name, .. } => name.clone(),
        })
        .collect()
}

fn drill_of(cell: &Cell) -> Option<usize> {
    match cell {
        Cell::Count { drill, .. } | Cell::Money { drill, .. } => *drill,
        _ => None,
    }
}

#[test]
fn tiles_show_the_four_leaks_and_stuck_deals_with_the_lost_comparison() {
    let report = report(&metrics(), &directory(), None, &Plain);
    let codes: Vec<&str> = report.tiles.iter().map(|t| t.metric).collect();
    assert_eq!(
        codes,
        [
            "lost",
            "overdue_tasks",
            "without_task",
            "overdue_payments",
            "stuck"
        ]
    );
    let lost = &report.tiles[0];
    assert_eq!(
        texts(&[lost.count.clone().unwrap(), lost.value.clone().unwrap()]),
        ["3", "600 ₽"]
    );
    let comparison = lost.comparison.as_ref().unwrap();
    assert_eq!(comparison.trend, Trend::Up, "more lost deals is worse");
    assert_eq!(comparison.text, "+2 deals, +550 ₽ vs previous");
    let payments = &report.tiles[3];
    assert_eq!(
        (payments.count.is_none(), payments.note.as_deref()),
        (true, Some("payments_none"))
    );
    for tile in &report.tiles[1..] {
        assert!(
            tile.comparison.is_none(),
            "snapshot metrics have no past: {}",
            tile.metric
        );
    }
    assert_eq!(report.tiles[1].note.as_deref(), Some("snapshot_note"));
    // The lost count drills down to its three deals.
    let drill = drill_of(lost.count.as_ref().unwrap()).unwrap();
    assert_eq!(report.drills[drill].deal_ids, [1, 2, 3]);
    // An empty metric has nothing to drill into.
    assert_eq!(drill_of(report.tiles[2].count.as_ref().unwrap()), None);
}

#[test]
fn lost_deals_by_reason_compare_with_the_previous_period() {
    let report = report(&metrics(), &directory(), None, &Plain);
    let lost = &report.sections[0];
    assert_eq!(lost.metric, "lost");
    let reasons = &lost.tables[0];
    assert_eq!(reasons.id, "lost-reasons");
    let rows: Vec<Vec<String>> = reasons.rows.iter().map(|r| texts(r)).collect();
    assert_eq!(
        rows,
        [
            ["Too expensive", "2", "500 ₽", "666‰", "833‰", "0", "+2"],
            ["no_reason", "1", "100 ₽", "333‰", "166‰", "0", "+1"],
            ["#8", "0", "0 ₽", "0‰", "0‰", "1", "−1"],
        ]
    );
    let chart = lost.chart.as_ref().unwrap();
    assert_eq!(
        chart
            .bars
            .iter()
            .map(|b| b.label.as_str())
            .collect::<Vec<_>>(),
        ["Too expensive", "no_reason"]
    );
    let managers: Vec<Vec<String>> = lost.tables[1].rows.iter().map(|r| texts(r)).collect();
    assert_eq!(
        managers,
        [
            ["Boris", "2", "500 ₽", "0", "+2"],
            ["Anna", "1", "100 ₽", "0", "+1"],
            ["#102", "0", "0 ₽", "1", "−1"]
        ]
    );
    // The previous period's count drills into the previous period's deals.
    let previous = drill_of(&lost.tables[1].rows[2][3]).unwrap();
    assert_eq!(report.drills[previous].deal_ids, [4]);
}

#[test]
fn stage_tables_follow_the_pipelines_order() {
    let report = report(&metrics(), &directory(), None, &Plain);
    let overdue = &report.sections[1];
    assert_eq!(overdue.metric, "overdue_tasks");
    let rows: Vec<Vec<String>> = overdue.tables[0].rows.iter().map(|r| texts(r)).collect();
    assert_eq!(
        rows,
        [
            ["Sales", "Talks", "1", "10 ₽"],
            ["Wholesale", "Quote", "1", "20 ₽"]
        ]
    );
    assert_eq!(overdue.tables[0].id, "overdue_tasks-stages");
    assert_eq!(overdue.tables[1].id, "overdue_tasks-managers");
    let bars: Vec<&str> = overdue
        .chart
        .as_ref()
        .unwrap()
        .bars
        .iter()
        .map(|b| b.title.as_str())
        .collect();
    assert_eq!(bars, ["Sales / Talks", "Wholesale / Quote"]);
    let stuck = report
        .sections
        .iter()
        .find(|s| s.metric == "stuck")
        .unwrap();
    assert_eq!(stuck.note.as_deref(), Some("escalated: 0"));
    assert!(stuck.chart.is_none(), "nothing stuck, no chart");
    assert!(stuck.tables[0].rows.is_empty());
}

#[test]
fn a_drill_down_lists_its_deals_with_links() {
    let report = report(&metrics(), &directory(), None, &Plain);
    let deal = |id: u64, name: &str, status: u32, manager: u64| Deal {
        id,
        name: name.into(),
        price: id as i64 * 100,
        pipeline_id: 1,
        status_id: status,
        responsible_user_id: manager,
        ..Deal::default()
    };
    let deals = vec![
        deal(2, "Second", 143, 101),
        deal(1, "First", 143, 100),
        deal(3, " ", 99, 999),
    ];
    let index: HashMap<u64, usize> = deals.iter().enumerate().map(|(i, d)| (d.id, i)).collect();
    let drill = drill_of(report.tiles[0].count.as_ref().unwrap()).unwrap();
    let table = deals_table(&report.drills[drill], &deals, &index, &directory(), &Plain);
    assert_eq!(table.id, "deals");
    assert_eq!(table.title, "metric.lost");
    let rows: Vec<Vec<String>> = table.rows.iter().map(|r| texts(r)).collect();
    assert_eq!(
        rows,
        [
            ["First", "Sales", "#143", "Anna", "100 ₽"],
            ["Second", "Sales", "#143", "Boris", "200 ₽"],
            ["#3", "Sales", "#99", "#999", "300 ₽"],
        ]
    );
    assert_eq!(
        table.rows[0][0],
        Cell::Deal {
            id: 1,
            name: "First".into()
        }
    );
}

#[test]
fn overdue_payments_show_in_minor_units_of_the_account_currency() {
    let mut metrics = metrics();
    metrics.overdue_payments.total = Bucket {
        count: 2,
        value: 150_050,
        deal_ids: vec![4],
    };
    let report = report(
        &metrics,
        &directory(),
        Some((Currency::RUB, Lang::Ru)),
        &Plain,
    );
    let payments = &report.tiles[3];
    assert_eq!(payments.metric, "overdue_payments");
    assert_eq!(
        texts(&[
            payments.count.clone().unwrap(),
            payments.value.clone().unwrap()
        ]),
        ["2", "1\u{a0}500,50\u{a0}₽"]
    );
    let drill = drill_of(payments.value.as_ref().unwrap()).unwrap();
    assert_eq!(report.drills[drill].deal_ids, [4]);
    assert_eq!(payments.note.as_deref(), Some("snapshot_note"));
}
