//! Seeded, deterministic fixtures: the account skeleton (`empty`) and the showcase sales floor (`demo`).

use serde_json::{json, Value};

use crate::config::Fixture;
use crate::state::model::*;
use crate::state::store::{Showcase, Store};
use crate::state::{LOST, WON};

mod payments;

/// The admin's user id (the same in every fixture so sessions and tokens survive a reset).
pub const ADMIN_ID: u64 = 8_100_001;
/// The first manager's user id.
pub const FIRST_MANAGER_ID: u64 = 8_100_002;

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// Builds the store for `fixture`; the same arguments always give the same data. With `payments`, the demo also has
/// LeakGuard's payments catalog, records on a share of the deals and the widget's settings that point at them.
pub fn build(fixture: Fixture, seed: u64, deals: usize, now: i64, payments: bool) -> Store {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut store = skeleton(&mut rng, now);
    if fixture == Fixture::Demo {
        Floor::new(&mut store, rng, now).fill(deals);
        if payments {
            payments::prepare(&mut store, seed, now);
        }
        history(&mut store, seed, now);
    }
    store
}

/// Share of active demo deals (in percent) that have sat in their stage since shortly after they were created.
const STUCK_PERCENT: u8 = 35;

/// The demo account's event feed: every lead's creation and the stage changes that brought it where it is (accepted
/// from "Неразобранное" into the first stage, then moved stage by stage, then closed), deletions, tasks and notes.
/// Leads still in "Неразобранное" have no stage change, as nothing moves a lead into that stage. A separate random
/// stream keeps the deals themselves exactly as before; only `updated_at` moves up to the last stage change.
fn history(store: &mut Store, seed: u64, now: i64) {
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x4157_0e17);
    let stuck = store.showcase.deal_stuck;
    let empty = || json!([]);
    let ids: Vec<u64> = store.leads.keys().copied().collect();
    for id in ids {
        let lead = store.leads[&id].clone();
        let by = lead.responsible_user_id;
        store.record_event(
            "lead_added",
            "lead",
            id,
            lead.created_by,
            lead.created_at,
            empty(),
            empty(),
        );
        let Some(pipeline) = store.pipeline(lead.pipeline_id).cloned() else {
            continue;
        };
        let unsorted = pipeline.statuses.iter().find(|s| s.kind == 1).map(|s| s.id);
        let normal: Vec<u64> = pipeline
            .statuses
            .iter()
            .filter(|s| s.kind == 0 && s.id != WON && s.id != LOST)
            .map(|s| s.id)
            .collect();
        let closed = lead.status_id == WON || lead.status_id == LOST;
        let mut path: Vec<u64> = unsorted.into_iter().collect();
        if closed {
            let reached = rng.usize(0..normal.len());
            path.extend(&normal[..=reached]);
            path.push(lead.status_id);
        } else if let Some(index) = normal.iter().position(|s| *s == lead.status_id) {
            path.extend(&normal[..=index]);
        }
        let age = (now - lead.created_at).max(1);
        let mut entered = if closed {
            lead.closed_at.unwrap_or(lead.updated_at)
        } else if Some(id) == stuck {
            lead.created_at + HOUR.min(age)
        } else if rng.u8(0..100) < STUCK_PERCENT {
            lead.created_at + rng.i64(0..=age.min(2 * DAY))
        } else {
            lead.created_at + rng.i64(0..=age)
        };
        if lead.is_deleted {
            entered = entered.min(lead.updated_at);
        }
        let steps = path.len().saturating_sub(1) as i64;
        for (step, pair) in path.windows(2).enumerate() {
            let at = lead.created_at + (entered - lead.created_at) * (step as i64 + 1) / steps;
            store.record_event(
                "lead_status_changed",
                "lead",
                id,
                by,
                at,
                json!([{"lead_status": {"id": pair[0], "pipeline_id": lead.pipeline_id}}]),
                json!([{"lead_status": {"id": pair[1], "pipeline_id": lead.pipeline_id}}]),
            );
        }
        if lead.is_deleted {
            store.record_event(
                "lead_deleted",
                "lead",
                id,
                by,
                lead.updated_at,
                empty(),
                empty(),
            );
        } else if let Some(stored) = store.leads.get_mut(&id) {
            stored.updated_at = stored.updated_at.max(entered);
        }
    }
    let tasks: Vec<Task> = store.tasks.values().cloned().collect();
    for task in tasks {
        store.record_event(
            "task_added",
            "task",
            task.id,
            task.created_by,
            task.created_at,
            empty(),
            empty(),
        );
        if task.is_completed {
            store.record_event(
                "task_completed",
                "task",
                task.id,
                task.updated_by,
                task.updated_at,
                empty(),
                empty(),
            );
        }
    }
    let notes: Vec<Note> = store.notes.values().cloned().collect();
    for note in notes {
        store.record_event(
            "common_note_added",
            "lead",
            note.entity_id,
            note.created_by,
            note.created_at,
            empty(),
            json!([{"note": {"id": note.id}}]),
        );
    }
}

/// Account, users, task types, pipelines, loss reasons, tags, custom fields and catalogs.
fn skeleton(rng: &mut fastrand::Rng, now: i64) -> Store {
    let created = now - 400 * DAY;
    let mut store = Store::new(Account {
        id: 30_125_479,
        name: "ООО «ЛикГард Демо»".into(),
        subdomain: "leakguard-demo".into(),
        country: "RU".into(),
        currency: "RUB".into(),
        currency_symbol: "₽".into(),
        timezone: "Europe/Moscow".into(),
        is_loss_reason_enabled: true,
        created_at: created,
        created_by: ADMIN_ID,
        uuid: crate::state::uuid_from(rng),
        amojo_id: crate::state::uuid_from(rng),
    });
    for (kind, first) in [
        ("lead", 21_000_001),
        ("contact", 31_000_001),
        ("company", 41_000_001),
        ("task", 51_000_001),
        ("note", 71_000_001),
        ("tag", 300_001),
        ("field", 900_001),
        ("enum", 1_900_001),
        ("catalog", 5_001),
        ("element", 6_000_001),
        ("loss_reason", 9_500_001),
        ("pipeline", 7_100_001),
        ("status", 61_000_001),
        ("webhook", 1_056_001),
    ] {
        store.seed_ids(kind, first);
    }
    store.groups = [
        (0, "Отдел продаж"),
        (401_001, "Продажи Москва"),
        (401_002, "Продажи Регионы"),
    ]
    .into_iter()
    .map(|(id, name)| Group {
        id,
        name: name.into(),
        uuid: crate::state::uuid_from(rng),
    })
    .collect();
    let people = [
        (ADMIN_ID, "Ирина Соколова", "irina.sokolova", true, 0),
        (
            FIRST_MANAGER_ID,
            "Алексей Смирнов",
            "alexey.smirnov",
            false,
            401_001,
        ),
        (
            8_100_003,
            "Мария Кузнецова",
            "maria.kuznetsova",
            false,
            401_001,
        ),
        (8_100_004, "Дмитрий Попов", "dmitry.popov", false, 401_001),
        (
            8_100_005,
            "Елена Васильева",
            "elena.vasilieva",
            false,
            401_002,
        ),
        (
            8_100_006,
            "Сергей Новиков",
            "sergey.novikov",
            false,
            401_002,
        ),
    ];
    store.users = people
        .into_iter()
        .map(|(id, name, login, is_admin, group_id)| User {
            id,
            name: name.into(),
            email: format!("{login}@leakguard-demo.ru"),
            lang: "ru".into(),
            is_admin,
            is_free: false,
            is_active: true,
            group_id,
            role_id: (!is_admin).then_some(3_141),
            uuid: crate::state::uuid_from(rng),
            amojo_id: crate::state::uuid_from(rng),
        })
        .collect();
    store.task_types = vec![
        TaskType {
            id: 1,
            name: "Связаться".into(),
            color: None,
            icon_id: None,
            code: Some("FOLLOW_UP".into()),
        },
        TaskType {
            id: 2,
            name: "Встреча".into(),
            color: None,
            icon_id: None,
            code: Some("MEETING".into()),
        },
        TaskType {
            id: 2_210_001,
            name: "Отправить КП".into(),
            color: Some("#f7d56e".into()),
            icon_id: Some(5),
            code: None,
        },
        TaskType {
            id: 2_210_002,
            name: "Выставить счёт".into(),
            color: Some("#8ac6e8".into()),
            icon_id: Some(9),
            code: None,
        },
        TaskType {
            id: 2_210_003,
            name: "Проконтролировать оплату".into(),
            color: Some("#f5a3a3".into()),
            icon_id: Some(12),
            code: None,
        },
    ];
    let pipelines: [(&str, &[&str]); 3] = [
        (
            "Основная воронка",
            &[
                "Новая заявка",
                "Первичный контакт",
                "Переговоры",
                "Принимают решение",
                "Согласование договора",
            ],
        ),
        (
            "Оптовые продажи",
            &[
                "Новая заявка",
                "Квалификация",
                "Расчёт КП",
                "КП отправлено",
                "Счёт выставлен",
            ],
        ),
        (
            "Повторные продажи",
            &["Новый запрос", "Подбор решения", "Ожидание оплаты"],
        ),
    ];
    let colors = [
        "#99ccff", "#ffff99", "#ffcc66", "#ff9966", "#deff81", "#87f2c0", "#f9deff",
    ];
    for (index, (name, stages)) in pipelines.into_iter().enumerate() {
        let id = store.next_id("pipeline");
        let mut statuses = vec![Status {
            id: store.next_id("status"),
            name: "Неразобранное".into(),
            sort: 10,
            is_editable: false,
            color: "#c1c1c1".into(),
            kind: 1,
        }];
        for (i, stage) in stages.iter().enumerate() {
            statuses.push(Status {
                id: store.next_id("status"),
                name: (*stage).into(),
                sort: 20 + 10 * i as i64,
                is_editable: true,
                color: colors[i % colors.len()].into(),
                kind: 0,
            });
        }
        statuses.push(Status {
            id: WON,
            name: "Успешно реализовано".into(),
            sort: 10_000,
            is_editable: false,
            color: "#CCFF66".into(),
            kind: 0,
        });
        statuses.push(Status {
            id: LOST,
            name: "Закрыто и не реализовано".into(),
            sort: 11_000,
            is_editable: false,
            color: "#D5D8DB".into(),
            kind: 0,
        });
        store.pipelines.push(Pipeline {
            id,
            name: name.into(),
            sort: 1 + index as i64,
            is_main: index == 0,
            is_unsorted_on: true,
            is_archive: false,
            statuses,
        });
    }
    for (sort, name) in [
        "Дорого",
        "Неактуально",
        "Выбрали конкурента",
        "Не дозвонились",
        "Нет бюджета",
    ]
    .into_iter()
    .enumerate()
    {
        let id = store.next_id("loss_reason");
        store.loss_reasons.push(LossReason {
            id,
            name: name.into(),
            sort: 100 * (sort as i64 + 1),
            created_at: created,
            updated_at: created,
        });
    }
    for (name, color) in [
        ("VIP", "FF8F92"),
        ("Повторный клиент", "C7DB8C"),
        ("Тендер", "FFCE5A"),
        ("С сайта", "86C0FC"),
        ("Рекомендация", "D1A4DC"),
    ] {
        store.ensure_tag("leads", name, Some(color.into()));
    }
    lead_fields(&mut store);
    catalogs(&mut store, created);
    store.showcase = Showcase {
        manager_user_id: FIRST_MANAGER_ID,
        admin_user_id: ADMIN_ID,
        ..Showcase::default()
    };
    store
}

/// A field definition with enums; ids come from the store.
fn field(
    store: &mut Store,
    entity: &str,
    name: &str,
    code: Option<&str>,
    kind: &str,
    enums: &[(&str, Option<&str>)],
) -> FieldDef {
    let id = store.next_id("field");
    let enums = enums
        .iter()
        .enumerate()
        .map(|(i, (value, code))| FieldEnum {
            id: store.next_id("enum"),
            value: (*value).into(),
            sort: 500 + 10 * i as i64,
            code: code.map(Into::into),
        })
        .collect();
    FieldDef {
        id,
        name: name.into(),
        code: code.map(Into::into),
        sort: 500 + id as i64 % 1000,
        kind: kind.into(),
        entity_type: entity.into(),
        is_api_only: false,
        is_predefined: code.is_some(),
        enums,
        currency: None,
    }
}

fn lead_fields(store: &mut Store) {
    let leads = vec![
        field(
            store,
            "leads",
            "Источник",
            None,
            "select",
            &[
                ("Сайт", None),
                ("Рекомендация", None),
                ("Выставка", None),
                ("Холодный звонок", None),
                ("Повторное обращение", None),
            ],
        ),
        field(store, "leads", "Номер договора", None, "text", &[]),
        field(store, "leads", "Дата оплаты", None, "date", &[]),
        field(
            store,
            "leads",
            "Каналы связи",
            None,
            "multiselect",
            &[
                ("Телефон", None),
                ("Email", None),
                ("WhatsApp", None),
                ("Telegram", None),
            ],
        ),
        field(store, "leads", "Срочная сделка", None, "checkbox", &[]),
        field(store, "leads", "Сайт клиента", None, "url", &[]),
        field(store, "leads", "Маржа, %", None, "numeric", &[]),
    ];
    let phone = [
        ("WORK", Some("WORK")),
        ("WORKDD", Some("WORKDD")),
        ("MOB", Some("MOB")),
        ("FAX", Some("FAX")),
        ("HOME", Some("HOME")),
        ("OTHER", Some("OTHER")),
    ];
    let contacts = vec![
        field(
            store,
            "contacts",
            "Телефон",
            Some("PHONE"),
            "multitext",
            &phone,
        ),
        field(
            store,
            "contacts",
            "Email",
            Some("EMAIL"),
            "multitext",
            &[
                ("WORK", Some("WORK")),
                ("PRIV", Some("PRIV")),
                ("OTHER", Some("OTHER")),
            ],
        ),
        field(
            store,
            "contacts",
            "Должность",
            Some("POSITION"),
            "text",
            &[],
        ),
    ];
    store.fields.insert("leads".into(), leads);
    store.fields.insert("contacts".into(), contacts);
    store.fields.insert("companies".into(), Vec::new());
}

/// The invoices catalog with the BILL_* fields of amocrm-api-v4.md §10.3 and a products catalog.
fn catalogs(store: &mut Store, created: i64) {
    let invoices = store.next_id("catalog");
    let products = store.next_id("catalog");
    for (id, name, kind) in [
        (invoices, "Счета-покупки", "invoices"),
        (products, "Товары", "products"),
    ] {
        store.catalogs.push(Catalog {
            id,
            name: name.into(),
            kind: kind.into(),
            sort: 10 * id as i64,
            can_add_elements: true,
            can_show_in_cards: true,
            can_link_multiple: kind == "invoices",
            can_be_deleted: false,
            created_by: ADMIN_ID,
            created_at: created,
            updated_at: created,
        });
    }
    let bill = vec![
        field(
            store,
            "catalogs",
            "Статус",
            Some("BILL_STATUS"),
            "select",
            &[
                ("Создан", Some("created")),
                ("Оплачен", Some("paid")),
                ("Предоплачен", Some("paid_in_advance")),
                ("Частично оплачен", Some("partially_paid")),
            ],
        ),
        field(
            store,
            "catalogs",
            "Итого к оплате",
            Some("BILL_PRICE"),
            "numeric",
            &[],
        ),
        field(
            store,
            "catalogs",
            "Дата оплаты",
            Some("BILL_PAYMENT_DATE"),
            "date",
            &[],
        ),
        field(
            store,
            "catalogs",
            "Комментарий",
            Some("BILL_COMMENT"),
            "text",
            &[],
        ),
        field(
            store,
            "catalogs",
            "НДС",
            Some("BILL_VAT_TYPE"),
            "select",
            &[
                ("Без НДС", Some("vat_exempt")),
                ("НДС включён в цену", Some("vat_included")),
                ("НДС не включён в цену", Some("vat_not_included")),
            ],
        ),
        field(
            store,
            "catalogs",
            "Причина отсутствия НДС",
            Some("BILL_REASON_FOR_NO_VAT"),
            "text",
            &[],
        ),
        field(store, "catalogs", "Плательщик", Some("PAYER"), "payer", &[]),
        field(
            store,
            "catalogs",
            "Поставщик",
            Some("SUPPLIER"),
            "supplier",
            &[],
        ),
        field(
            store,
            "catalogs",
            "Юр. лицо",
            Some("LEGAL_ENTITY"),
            "legal_entity",
            &[],
        ),
        field(store, "catalogs", "Позиции", Some("ITEMS"), "items", &[]),
    ];
    let mut price = field(store, "catalogs", "Цена", Some("PRICE"), "price", &[]);
    price.currency = Some("RUB".into());
    let goods = vec![
        field(store, "catalogs", "Артикул", Some("SKU"), "text", &[]),
        price,
    ];
    store.catalog_fields.insert(invoices, bill);
    store.catalog_fields.insert(products, goods);
}

const PRODUCTS: [&str; 12] = [
    "Поставка оборудования",
    "Внедрение CRM",
    "Годовое обслуживание",
    "Лицензии 1С",
    "Монтаж вентиляции",
    "Аренда спецтехники",
    "Партия упаковки",
    "Разработка сайта",
    "Аудит безопасности",
    "Обучение персонала",
    "Поставка металлопроката",
    "Ремонт офиса",
];
const COMPANIES: [&str; 16] = [
    "ООО «Ромашка»",
    "АО «Северсталь-Сервис»",
    "ООО «ТехноПарк»",
    "ИП Воробьёв",
    "ООО «Альфа Логистик»",
    "ООО «СтройИнвест»",
    "АО «Уралхим»",
    "ООО «Вектор»",
    "ООО «Медиагруппа Восход»",
    "ООО «АгроТрейд»",
    "ООО «Балтийский берег»",
    "ИП Захарова",
    "ООО «Сибирские сети»",
    "ООО «Гранит»",
    "ООО «Фармлайн»",
    "АО «Волга-Тур»",
];
const FIRST_NAMES: [&str; 10] = [
    "Андрей",
    "Ольга",
    "Никита",
    "Татьяна",
    "Павел",
    "Анна",
    "Игорь",
    "Светлана",
    "Роман",
    "Юлия",
];
const LAST_NAMES: [&str; 10] = [
    "Иванов",
    "Петрова",
    "Морозов",
    "Волкова",
    "Лебедев",
    "Соколова",
    "Козлов",
    "Новикова",
    "Фёдоров",
    "Орлова",
];
const TASK_TEXTS: [&str; 6] = [
    "Перезвонить клиенту",
    "Отправить коммерческое предложение",
    "Уточнить бюджет",
    "Назначить встречу",
    "Проконтролировать оплату счёта",
    "Согласовать договор",
];

/// The state of a generated deal.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Won,
    Lost,
    Active,
}

/// Which open task a generated active deal has.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NextStep {
    Future,
    Overdue,
    Nothing,
}

/// Generates deals, contacts, tasks, notes and invoices into a skeleton store.
struct Floor<'a> {
    store: &'a mut Store,
    rng: fastrand::Rng,
    now: i64,
    managers: Vec<u64>,
    companies: Vec<u64>,
}

impl<'a> Floor<'a> {
    fn new(store: &'a mut Store, rng: fastrand::Rng, now: i64) -> Self {
        let managers = store
            .users
            .iter()
            .filter(|u| !u.is_admin)
            .map(|u| u.id)
            .collect();
        let mut floor = Floor {
            store,
            rng,
            now,
            managers,
            companies: Vec::new(),
        };
        for name in COMPANIES {
            let id = floor.store.next_id("company");
            floor.store.companies.insert(
                id,
                Company {
                    id,
                    name: name.into(),
                },
            );
            floor.companies.push(id);
        }
        floor
    }

    fn fill(mut self, deals: usize) {
        let main = self.store.main_pipeline().clone();
        let stage = |i: usize| main.statuses[i].id;
        let mut showcase = self.store.showcase.clone();
        let manager = FIRST_MANAGER_ID;
        let now = self.now;
        let with_task = self.deal(
            "Поставка оборудования — ООО «Ромашка»",
            main.id,
            stage(3),
            manager,
            480_000,
            now - 12 * DAY,
        );
        self.task(with_task, manager, 1, now + DAY, false);
        let overdue = self.deal(
            "Внедрение CRM — ООО «Вектор»",
            main.id,
            stage(4),
            manager,
            1_250_000,
            now - 30 * DAY,
        );
        self.task(overdue, manager, 1, now - 2 * DAY, false);
        let without = self.deal(
            "Годовое обслуживание — ООО «Гранит»",
            main.id,
            stage(2),
            manager,
            210_000,
            now - 9 * DAY,
        );
        self.task(without, manager, 1, now - 3 * DAY, true);
        let won = self.deal(
            "Лицензии 1С — АО «Уралхим»",
            main.id,
            WON,
            manager,
            760_000,
            now - 40 * DAY,
        );
        self.close(won, WON, now - 5 * DAY, None);
        self.invoice(won, 760_000, "paid", now - 4 * DAY);
        let lost = self.deal(
            "Монтаж вентиляции — ООО «СтройИнвест»",
            main.id,
            LOST,
            manager,
            340_000,
            now - 25 * DAY,
        );
        let reason = self.store.loss_reasons[0].id;
        self.close(lost, LOST, now - 6 * DAY, Some(reason));
        let fresh = self.deal(
            "Разработка сайта — ИП Захарова",
            main.id,
            stage(1),
            manager,
            150_000,
            now - HOUR,
        );
        showcase.deal_with_task = Some(with_task);
        showcase.deal_overdue = Some(overdue);
        showcase.deal_without_task = Some(without);
        showcase.deal_won = Some(won);
        showcase.deal_lost = Some(lost);
        showcase.deal_new_stage = Some(fresh);
        showcase.deal_stuck = Some(overdue);
        self.store.showcase = showcase;
        let deleted = 3.min(deals / 100);
        for index in 6..deals {
            let id = self.random_deal();
            if index >= deals - deleted {
                let at = now - self.rng.i64(HOUR..10 * DAY);
                if let Some(lead) = self.store.leads.get_mut(&id) {
                    lead.is_deleted = true;
                    lead.updated_at = at;
                }
            }
        }
    }

    fn random_deal(&mut self) -> u64 {
        let rng = &mut self.rng;
        let pipeline = match rng.u8(0..100) {
            0..60 => 0,
            60..85 => 1,
            _ => 2,
        };
        let pipeline = self.store.pipelines[pipeline].clone();
        let outcome = match rng.u8(0..100) {
            0..15 => Outcome::Won,
            15..27 => Outcome::Lost,
            _ => Outcome::Active,
        };
        let normal: Vec<u64> = pipeline
            .statuses
            .iter()
            .filter(|s| s.kind == 0 && s.id != WON && s.id != LOST)
            .map(|s| s.id)
            .collect();
        let status = match outcome {
            Outcome::Won => WON,
            Outcome::Lost => LOST,
            Outcome::Active if rng.u8(0..100) < 4 => pipeline.statuses[0].id,
            Outcome::Active => normal[rng.usize(0..normal.len())],
        };
        let responsible = if rng.u8(0..100) < 5 {
            ADMIN_ID
        } else {
            self.managers[rng.usize(0..self.managers.len())]
        };
        let name = format!(
            "{} — {}",
            PRODUCTS[rng.usize(0..PRODUCTS.len())],
            COMPANIES[rng.usize(0..COMPANIES.len())]
        );
        let price = rng.i64(5..1500) * 1000;
        let created = self.now - rng.i64(HOUR..180 * DAY);
        let id = self.deal(&name, pipeline.id, status, responsible, price, created);
        let age = self.now - created;
        match outcome {
            Outcome::Won | Outcome::Lost => {
                let closed = created + self.rng.i64(0..=age);
                if self.rng.bool() {
                    let till = created + self.rng.i64(0..=(closed - created));
                    self.task(id, responsible, 1, till, true);
                }
                let reason = (outcome == Outcome::Lost).then(|| {
                    self.store.loss_reasons[self.rng.usize(0..self.store.loss_reasons.len())].id
                });
                self.close(id, status, closed, reason);
                if outcome == Outcome::Won && self.rng.u8(0..100) < 30 {
                    self.invoice(id, price, "paid", closed);
                }
            }
            Outcome::Active => {
                let step = match self.rng.u8(0..100) {
                    0..55 => NextStep::Future,
                    55..75 => NextStep::Overdue,
                    _ => NextStep::Nothing,
                };
                if self.rng.u8(0..100) < 40 {
                    let till = created + self.rng.i64(0..=age);
                    self.task(id, responsible, 1, till, true);
                }
                let task_type = [1, 2, 2_210_001, 2_210_002, 2_210_003][self.rng.usize(0..5)];
                match step {
                    NextStep::Future => {
                        let till = self.now + self.rng.i64(HOUR..10 * DAY);
                        self.task(id, responsible, task_type, till, false);
                    }
                    NextStep::Overdue => {
                        let till = self.now - self.rng.i64(HOUR..20 * DAY).min(age.max(HOUR));
                        self.task(id, responsible, task_type, till, false);
                    }
                    NextStep::Nothing => {}
                }
                if self.rng.u8(0..100) < 8 {
                    let at = self.now - self.rng.i64(0..=age.min(20 * DAY));
                    self.invoice(id, price, "created", at);
                }
            }
        }
        id
    }

    /// Creates a deal with a contact, a company, sometimes tags and custom field values.
    fn deal(
        &mut self,
        name: &str,
        pipeline_id: u64,
        status_id: u64,
        responsible: u64,
        price: i64,
        created: i64,
    ) -> u64 {
        let id = self.store.next_id("lead");
        let contact = self.store.next_id("contact");
        let person = format!(
            "{} {}",
            FIRST_NAMES[self.rng.usize(0..10)],
            LAST_NAMES[self.rng.usize(0..10)]
        );
        self.store.contacts.insert(
            contact,
            Contact {
                id: contact,
                name: person,
                responsible_user_id: responsible,
                created_at: created,
                updated_at: created,
            },
        );
        let company = self.companies[self.rng.usize(0..self.companies.len())];
        let mut tags = Vec::new();
        if self.rng.u8(0..100) < 25 {
            let dict = self.store.tag_dict("leads");
            tags.push(dict[self.rng.usize(0..dict.len())].id);
        }
        let mut values = Vec::new();
        let fields = self.store.fields_of("leads");
        if self.rng.u8(0..100) < 70 {
            let source = &fields[0];
            let option = &source.enums[self.rng.usize(0..source.enums.len())];
            values.push(FieldValues {
                field_id: source.id,
                values: vec![FieldValueItem {
                    value: json!(option.value),
                    enum_id: Some(option.id),
                    enum_code: None,
                }],
            });
        }
        if self.rng.u8(0..100) < 30 {
            values.push(FieldValues {
                field_id: fields[6].id,
                values: vec![FieldValueItem {
                    value: json!(self.rng.u8(5..45).to_string()),
                    enum_id: None,
                    enum_code: None,
                }],
            });
        }
        let updated = created + self.rng.i64(0..=(self.now - created).min(3 * DAY));
        self.store.leads.insert(
            id,
            Lead {
                id,
                name: name.into(),
                price,
                responsible_user_id: responsible,
                group_id: self.store.group_of(responsible),
                status_id,
                pipeline_id,
                loss_reason_id: None,
                source_id: None,
                created_by: responsible,
                updated_by: responsible,
                created_at: created,
                updated_at: updated,
                closed_at: None,
                closest_task_at: None,
                is_deleted: false,
                score: None,
                custom_fields_values: values,
                tags,
                contacts: vec![ContactLink {
                    id: contact,
                    is_main: true,
                }],
                companies: vec![company],
                catalog_elements: Vec::new(),
            },
        );
        if self.rng.u8(0..100) < 30 {
            let note = self.store.next_id("note");
            let at = created + self.rng.i64(0..=(self.now - created));
            self.store.notes.insert(
                note,
                Note {
                    id: note,
                    entity_type: "leads".into(),
                    entity_id: id,
                    created_by: responsible,
                    updated_by: responsible,
                    created_at: at,
                    updated_at: at,
                    responsible_user_id: responsible,
                    group_id: self.store.group_of(responsible),
                    note_type: "common".into(),
                    params: json!({"text": "Клиент попросил прислать условия оплаты"}),
                },
            );
        }
        id
    }

    fn close(&mut self, id: u64, status: u64, closed_at: i64, reason: Option<u64>) {
        if let Some(lead) = self.store.leads.get_mut(&id) {
            lead.status_id = status;
            lead.closed_at = Some(closed_at);
            lead.loss_reason_id = reason;
            lead.updated_at = lead.updated_at.max(closed_at);
        }
    }

    fn task(
        &mut self,
        lead: u64,
        responsible: u64,
        task_type_id: u64,
        complete_till: i64,
        done: bool,
    ) {
        let id = self.store.next_id("task");
        let created = self
            .store
            .leads
            .get(&lead)
            .map(|l| l.created_at)
            .unwrap_or(self.now)
            .min(complete_till);
        let text = TASK_TEXTS[self.rng.usize(0..TASK_TEXTS.len())];
        self.store.put_task(Task {
            id,
            created_by: responsible,
            updated_by: responsible,
            created_at: created,
            updated_at: if done {
                complete_till.min(self.now)
            } else {
                created
            },
            responsible_user_id: responsible,
            group_id: self.store.group_of(responsible),
            entity_id: Some(lead),
            entity_type: Some("leads".into()),
            is_completed: done,
            task_type_id,
            text: text.into(),
            duration: 0,
            complete_till,
            result: done.then(|| "Связались с клиентом".to_owned()),
        });
    }

    /// Adds an invoice for `price` with `BILL_STATUS` `status` and links it to the lead.
    fn invoice(&mut self, lead: u64, price: i64, status: &str, at: i64) {
        let Some(catalog) = self.store.invoices_catalog().map(|c| c.id) else {
            return;
        };
        let fields = &self.store.catalog_fields[&catalog];
        let by_code = |code: &str| {
            fields
                .iter()
                .find(|f| f.code.as_deref() == Some(code))
                .expect("invoice field")
        };
        let status_field = by_code("BILL_STATUS");
        let option = status_field
            .enums
            .iter()
            .find(|e| e.code.as_deref() == Some(status))
            .expect("bill status");
        let mut values = vec![
            FieldValues {
                field_id: status_field.id,
                values: vec![FieldValueItem {
                    value: json!(option.value),
                    enum_id: Some(option.id),
                    enum_code: option.code.clone(),
                }],
            },
            FieldValues {
                field_id: by_code("BILL_PRICE").id,
                values: vec![item(json!(price.to_string()))],
            },
        ];
        if status == "paid" {
            values.push(FieldValues {
                field_id: by_code("BILL_PAYMENT_DATE").id,
                values: vec![item(json!(at))],
            });
        }
        let id = self.store.next_id("element");
        let number = id - 6_000_000;
        self.store.elements.insert(
            id,
            CatalogElement {
                id,
                catalog_id: catalog,
                name: format!("Счёт №{number}"),
                created_by: ADMIN_ID,
                updated_by: ADMIN_ID,
                created_at: at,
                updated_at: at,
                is_deleted: false,
                custom_fields_values: values,
            },
        );
        if let Some(lead) = self.store.leads.get_mut(&lead) {
            lead.catalog_elements.push(ElementLink {
                id,
                catalog_id: catalog,
                quantity: 1.0,
                price_id: None,
            });
        }
    }
}

fn item(value: Value) -> FieldValueItem {
    FieldValueItem {
        value,
        enum_id: None,
        enum_code: None,
    }
}
