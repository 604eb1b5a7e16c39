//! The whole LeakGuard configuration: one persisted format shared by the widget, the backend and the automations.
//!
//! Every struct has defaults that work on a fresh install, and loading is tolerant: unknown fields
//! are ignored and missing fields take their defaults, so settings saved by an older version keep
//! loading. [`Settings::validate`] lists every problem (field path and i18n message key) at once.

use std::collections::{BTreeSet, HashSet};

use serde::{Deserialize, Serialize};

use crate::dates::{Calendar, CalendarError, Date, Weekday, WeekdaySet, YearMonth};
use crate::deal::{StageRef, STATUS_LOST};
use crate::locale::Localized;

/// The i18n keys of the validation messages (under `ui.settings.error`).
pub mod problem {
    /// A number is outside its allowed range.
    pub const OUT_OF_RANGE: &str = "ui.settings.error.out_of_range";
    /// A required value (an id, a text, a list entry) is missing.
    pub const REQUIRED: &str = "ui.settings.error.required";
    /// The same entry appears twice.
    pub const DUPLICATE: &str = "ui.settings.error.duplicate";
    /// A closed stage (142/143) was chosen where only open stages make sense.
    pub const CLOSED_STAGE: &str = "ui.settings.error.closed_stage";
    /// The lost stage (143) was chosen as a payment gate.
    pub const LOST_STAGE: &str = "ui.settings.error.lost_stage";
    /// An escalation limit is not longer than the stuck limit it follows.
    pub const ESCALATION_NOT_AFTER_LIMIT: &str = "ui.settings.error.escalation_not_after_limit";
    /// Escalation is configured but nobody to escalate to.
    pub const SUPERVISOR_REQUIRED: &str = "ui.settings.error.supervisor_required";
    /// Every weekday is a day off.
    pub const NO_WORKING_WEEKDAY: &str = "ui.settings.error.no_working_weekday";
    /// A preset label is not an i18n key under `ui.`.
    pub const LABEL_KEY: &str = "ui.settings.error.label_key";
}

/// The longest delay or limit in working days the settings accept (about a year).
pub const MAX_WORKING_DAYS: u32 = 260;
/// The longest limit in hours the settings accept (a year of working days).
pub const MAX_HOURS: u32 = MAX_WORKING_DAYS * 24;
/// The longest watchdog grace period in minutes (one week).
pub const MAX_GRACE_MINUTES: u32 = 7 * 24 * 60;
/// The most quick presets the task dialog shows.
pub const MAX_PRESETS: usize = 6;
/// amoCRM's built-in task type "follow-up" (`FOLLOW_UP`), present in every account.
pub const TASK_TYPE_FOLLOW_UP: u32 = 1;

/// One problem found by [`Settings::validate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The field, as a path such as `refusals.rules[2].copy_to`.
    pub path: String,
    /// The i18n key of the message, one of [`problem`].
    pub key: &'static str,
}

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The format version, for migrations; this code writes 1.
    pub version: u32,
    pub next_step: NextStepSettings,
    pub refusals: RefusalSettings,
    pub stuck: StuckSettings,
    pub overdue_tasks: OverdueTaskSettings,
    pub escalation: EscalationSettings,
    pub payments: PaymentSettings,
    pub calendar: CalendarSettings,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            version: 1,
            next_step: NextStepSettings::default(),
            refusals: RefusalSettings::default(),
            stuck: StuckSettings::default(),
            overdue_tasks: OverdueTaskSettings::default(),
            escalation: EscalationSettings::default(),
            payments: PaymentSettings::default(),
            calendar: CalendarSettings::default(),
        }
    }
}

/// A wall-clock time in the account's time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeOfDay {
    pub hour: u8,
    pub minute: u8,
}

impl TimeOfDay {
    /// `hour:minute`.
    pub const fn new(hour: u8, minute: u8) -> TimeOfDay {
        TimeOfDay { hour, minute }
    }
}

impl Default for TimeOfDay {
    /// 10:00, the default hour of task deadlines.
    fn default() -> TimeOfDay {
        TimeOfDay::new(10, 0)
    }
}

/// How long something may last, counted in working time (see [`crate::dates::working_seconds_between`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    WorkingDays(u32),
    Hours(u32),
}

impl Limit {
    /// The limit in seconds of working time (a working day counts 24 hours).
    pub const fn seconds(self) -> i64 {
        match self {
            Limit::WorkingDays(days) => days as i64 * 86_400,
            Limit::Hours(hours) => hours as i64 * 3600,
        }
    }

    fn is_in_range(self) -> bool {
        match self {
            Limit::WorkingDays(days) => (1..=MAX_WORKING_DAYS).contains(&days),
            Limit::Hours(hours) => (1..=MAX_HOURS).contains(&hours),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Next step

/// Which stages a rule applies to. Closed stages (142/143) are never in scope.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum StageScope {
    /// Every open stage of every pipeline.
    #[default]
    AllOpen,
    /// Every open stage of these pipelines.
    Pipelines { pipeline_ids: Vec<u32> },
    /// Only these stages.
    Stages { stages: Vec<StageRef> },
}

impl StageScope {
    /// Whether `stage` is in scope.
    pub fn contains(&self, stage: StageRef) -> bool {
        if stage.is_closed() {
            return false;
        }
        match self {
            StageScope::AllOpen => true,
            StageScope::Pipelines { pipeline_ids } => pipeline_ids.contains(&stage.pipeline_id),
            StageScope::Stages { stages } => stages.contains(&stage),
        }
    }
}

/// A quick deadline choice in the task dialog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preset {
    /// The i18n key of the label; the label may use `{count}` for the number of working days.
    pub label_key: String,
    /// Working days from today (0: today if the default hour is still ahead, else the next working day).
    pub working_days: u32,
}

impl Default for Preset {
    fn default() -> Preset {
        Preset {
            label_key: "ui.preset.in_working_days".to_owned(),
            working_days: 1,
        }
    }
}

/// What the guard does when it cannot learn whether the deal has an open task.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailMode {
    /// Hold the manager with a retry and a logged "leave anyway".
    #[default]
    Closed,
    /// Let the manager go and show the error.
    Open,
}

/// The mandatory next step (issue 4) and its backend watchdog (issue 9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NextStepSettings {
    pub enabled: bool,
    pub scope: StageScope,
    pub exempt_users: Vec<u64>,
    pub exempt_groups: Vec<u64>,
    pub admins_exempt: bool,
    /// The deadline time of tasks created from presets.
    pub default_time: TimeOfDay,
    pub presets: Vec<Preset>,
    pub fail_mode: FailMode,
    /// How long a deal may stay without an open task before the watchdog acts.
    pub watchdog_grace_minutes: u32,
    /// The text of the watchdog's fallback task; `{deal}` is the deal name.
    pub fallback_task_text: Localized,
    pub fallback_task_type_id: u32,
}

impl Default for NextStepSettings {
    fn default() -> NextStepSettings {
        let preset = |key: &str, working_days| Preset {
            label_key: key.to_owned(),
            working_days,
        };
        NextStepSettings {
            enabled: true,
            scope: StageScope::AllOpen,
            exempt_users: Vec::new(),
            exempt_groups: Vec::new(),
            admins_exempt: false,
            default_time: TimeOfDay::default(),
            presets: vec![
                preset("ui.preset.tomorrow", 1),
                preset("ui.preset.in_two_days", 2),
                preset("ui.preset.in_a_week", 5),
            ],
            fail_mode: FailMode::Closed,
            watchdog_grace_minutes: 15,
            fallback_task_text: Localized::new(
                "Запланируйте следующий шаг: {deal}",
                "Schedule the next step: {deal}",
                "Programe el siguiente paso: {deal}",
                "Agende o próximo passo: {deal}",
            ),
            fallback_task_type_id: TASK_TYPE_FOLLOW_UP,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Refusals

/// Who gets a task.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Responsible {
    /// The deal's responsible manager.
    #[default]
    DealManager,
    /// A chosen user.
    User { id: u64 },
}

impl Responsible {
    /// The user id for a deal whose manager is `deal_manager`.
    pub const fn resolve(self, deal_manager: u64) -> u64 {
        match self {
            Responsible::DealManager => deal_manager,
            Responsible::User { id } => id,
        }
    }
}

/// The follow-up of one loss reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefusalRule {
    /// The amoCRM loss reason id.
    pub reason_id: u64,
    /// The follow-up deadline in working days after the refusal.
    pub delay_working_days: u32,
    /// The task text with `{deal}` for the deal name; `None` uses the default text of the account language.
    pub task_text: Option<String>,
    pub task_type_id: u32,
    pub responsible: Responsible,
    /// Whether the deal is copied into the refusal pipeline ("Способ 1" of the article).
    pub copy: bool,
    /// The stage the copy lands in; kept when `copy` is switched off so the choice is not lost.
    pub copy_to: Option<StageRef>,
}

impl Default for RefusalRule {
    fn default() -> RefusalRule {
        RefusalRule {
            reason_id: 0,
            delay_working_days: DEFAULT_REFUSAL_DELAY,
            task_text: None,
            task_type_id: TASK_TYPE_FOLLOW_UP,
            responsible: Responsible::DealManager,
            copy: false,
            copy_to: None,
        }
    }
}

/// The delay for "too expensive": about a week of working days.
pub const EXPENSIVE_REFUSAL_DELAY: u32 = 5;
/// The delay for "not relevant": about a month of working days.
pub const NOT_RELEVANT_REFUSAL_DELAY: u32 = 21;
/// The delay for every other reason: two working weeks.
pub const DEFAULT_REFUSAL_DELAY: u32 = 10;

/// Name fragments of the common reasons, lower case, in the four languages.
const EXPENSIVE_NAMES: &[&str] = &[
    "дорог",
    "высокая цена",
    "expensive",
    "price too high",
    "too costly",
    "caro",
    "cara",
];
const NOT_RELEVANT_NAMES: &[&str] = &[
    "неактуальн",
    "не актуальн",
    "not relevant",
    "no longer relevant",
    "irrelevant",
    "no relevante",
    "ya no es relevante",
    "não é relevante",
    "nao e relevante",
    "irrelevante",
];

/// The default follow-up delay for a loss reason called `name`: 5 working days for
/// "Дорого" / "Too expensive", 21 for "Неактуально" / "Not relevant", 10 for the others.
pub fn default_refusal_delay(name: &str) -> u32 {
    let name = name.trim().to_lowercase();
    let matches = |fragments: &[&str]| fragments.iter().any(|f| name.contains(f));
    // "Not relevant" is checked first so that "неактуально, дорого" style names do not flip.
    if matches(NOT_RELEVANT_NAMES) {
        NOT_RELEVANT_REFUSAL_DELAY
    } else if matches(EXPENSIVE_NAMES) {
        EXPENSIVE_REFUSAL_DELAY
    } else {
        DEFAULT_REFUSAL_DELAY
    }
}

/// The refusal picker (issue 5) and "lost anywhere" (issue 9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefusalSettings {
    pub rules: Vec<RefusalRule>,
    /// The follow-up text of rules without their own; `{deal}` is the deal name.
    pub default_task_text: Localized,
    /// The tag put on copies in the refusal pipeline.
    pub copy_tag: Localized,
    /// The text of the task asking a manager to set the reason of a deal lost without one.
    pub missing_reason_task_text: Localized,
}

impl Default for RefusalSettings {
    fn default() -> RefusalSettings {
        RefusalSettings {
            rules: Vec::new(),
            default_task_text: Localized::new(
                "Связаться повторно: {deal}",
                "Follow up: {deal}",
                "Volver a contactar: {deal}",
                "Retomar contato: {deal}",
            ),
            copy_tag: Localized::new("Отказ", "Refusal", "Rechazo", "Recusa"),
            missing_reason_task_text: Localized::new(
                "Укажите причину отказа: {deal}",
                "Set the loss reason: {deal}",
                "Indique el motivo de pérdida: {deal}",
                "Informe o motivo da perda: {deal}",
            ),
        }
    }
}

impl RefusalSettings {
    /// The rule for a reason: the configured one, or the default for its name (`None`: unknown name).
    pub fn rule_for(&self, reason_id: u64, reason_name: Option<&str>) -> RefusalRule {
        self.rules
            .iter()
            .find(|rule| rule.reason_id == reason_id)
            .cloned()
            .unwrap_or_else(|| RefusalRule {
                reason_id,
                delay_working_days: reason_name
                    .map_or(DEFAULT_REFUSAL_DELAY, default_refusal_delay),
                ..RefusalRule::default()
            })
    }

    /// Adds a default rule for every reason of the account that has none yet, in the given order.
    pub fn fill_missing(&mut self, reasons: &[(u64, &str)]) {
        for &(id, name) in reasons {
            if !self.rules.iter().any(|rule| rule.reason_id == id) {
                let rule = self.rule_for(id, Some(name));
                self.rules.push(rule);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Stuck deals, overdue tasks, escalation

/// The limits of one stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageLimit {
    pub stage: StageRef,
    /// `None` exempts the stage from the default limit.
    #[serde(default)]
    pub limit: Option<Limit>,
    /// Time in the stage after which the supervisor is told; must exceed `limit`.
    #[serde(default)]
    pub escalate_after: Option<Limit>,
}

/// Stuck-deal tags and escalation (issue 9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StuckSettings {
    pub enabled: bool,
    /// The limit of every open stage not listed in `stages`.
    pub default_limit: Option<Limit>,
    /// The escalation limit of every open stage not listed in `stages`.
    pub default_escalate_after: Option<Limit>,
    pub stages: Vec<StageLimit>,
    /// The tag put on stuck deals (one per account language).
    pub tag: Localized,
}

impl Default for StuckSettings {
    fn default() -> StuckSettings {
        StuckSettings {
            enabled: true,
            // The article's quality-control example: five working days in one stage.
            default_limit: Some(Limit::WorkingDays(5)),
            // Escalation needs a supervisor, which a fresh install does not know yet.
            default_escalate_after: None,
            stages: Vec::new(),
            tag: Localized::new("Завис", "Stuck", "Estancado", "Parado"),
        }
    }
}

impl StuckSettings {
    /// The stuck and escalation limits of `stage`; both `None` for closed stages or when disabled.
    pub fn limits_for(&self, stage: StageRef) -> (Option<Limit>, Option<Limit>) {
        if !self.enabled || stage.is_closed() {
            return (None, None);
        }
        match self.stages.iter().find(|limit| limit.stage == stage) {
            Some(own) => (own.limit, own.escalate_after),
            None => (self.default_limit, self.default_escalate_after),
        }
    }
}

/// Escalation of overdue tasks (issue 9, the quality-control role).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OverdueTaskSettings {
    pub enabled: bool,
    /// How long past its deadline an open task may stay before the supervisor is told.
    pub escalate_after: Limit,
}

impl Default for OverdueTaskSettings {
    fn default() -> OverdueTaskSettings {
        OverdueTaskSettings {
            // Escalation needs a supervisor, which a fresh install does not know yet.
            enabled: false,
            escalate_after: Limit::WorkingDays(1),
        }
    }
}

/// Who is told when a deal is escalated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Supervisor {
    User { id: u64 },
    Group { id: u64 },
}

/// The escalation target and the task it gets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EscalationSettings {
    pub supervisor: Option<Supervisor>,
    /// The supervisor's task text; `{deal}` is the deal name.
    pub task_text: Localized,
    pub task_type_id: u32,
}

impl Default for EscalationSettings {
    fn default() -> EscalationSettings {
        EscalationSettings {
            supervisor: None,
            task_text: Localized::new(
                "Сделка требует внимания руководителя: {deal}",
                "A deal needs a supervisor's attention: {deal}",
                "Un negocio necesita la atención del supervisor: {deal}",
                "Um negócio precisa da atenção do supervisor: {deal}",
            ),
            task_type_id: TASK_TYPE_FOLLOW_UP,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Payments

/// Who may add, edit and delete payments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PaymentEditors {
    #[default]
    All,
    Users {
        ids: Vec<u64>,
    },
    Admins,
}

/// Whose margin a monthly target is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlanScope {
    Company,
    Manager { user_id: u64 },
}

/// A monthly margin target in the account currency's minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarginTarget {
    #[serde(with = "year_month_text")]
    pub month: YearMonth,
    pub scope: PlanScope,
    pub amount_minor: i64,
}

/// The ids of the payments catalog's fields (see [`crate::payments::store::StoreField`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoreFieldIds {
    pub kind: u64,
    pub amount: u64,
    pub date: u64,
    pub plan: u64,
    pub lead: u64,
    pub comment: u64,
}

impl StoreFieldIds {
    /// The id of `field`.
    pub const fn get(&self, field: crate::payments::store::StoreField) -> u64 {
        use crate::payments::store::StoreField;
        match field {
            StoreField::Kind => self.kind,
            StoreField::Amount => self.amount,
            StoreField::Date => self.date,
            StoreField::Plan => self.plan,
            StoreField::Lead => self.lead,
            StoreField::Comment => self.comment,
        }
    }

    /// Sets the id of `field`.
    pub fn set(&mut self, field: crate::payments::store::StoreField, id: u64) {
        use crate::payments::store::StoreField;
        let slot = match field {
            StoreField::Kind => &mut self.kind,
            StoreField::Amount => &mut self.amount,
            StoreField::Date => &mut self.date,
            StoreField::Plan => &mut self.plan,
            StoreField::Lead => &mut self.lead,
            StoreField::Comment => &mut self.comment,
        };
        *slot = id;
    }
}

/// Where the payments live: LeakGuard's catalog in the account, prepared by the settings module on save.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentStore {
    pub catalog_id: u64,
    pub fields: StoreFieldIds,
}

/// The payments panel (issue 6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentSettings {
    /// Whether the card shows the payments section.
    pub enabled: bool,
    /// The catalog and its fields; `None` until an administrator saves the settings once.
    pub store: Option<PaymentStore>,
    pub editors: PaymentEditors,
    /// Stages a deal may only enter once every planned payment is paid.
    pub gate_stages: Vec<StageRef>,
    pub margin_plan: Vec<MarginTarget>,
    /// The deadline time of overdue-payment reminder tasks.
    pub default_time: TimeOfDay,
    /// The reminder task text; `{deal}` is the deal name.
    pub reminder_task_text: Localized,
}

impl Default for PaymentSettings {
    fn default() -> PaymentSettings {
        PaymentSettings {
            enabled: true,
            store: None,
            editors: PaymentEditors::All,
            gate_stages: Vec::new(),
            margin_plan: Vec::new(),
            default_time: TimeOfDay::default(),
            reminder_task_text: Localized::new(
                "Напомнить клиенту об оплате: {deal}",
                "Remind the client about the payment: {deal}",
                "Recordar el pago al cliente: {deal}",
                "Lembrar o cliente do pagamento: {deal}",
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Calendar

/// Which working-day calendar the account uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarKind {
    /// The Russian production calendar for Russian accounts, the custom lists otherwise.
    #[default]
    Auto,
    Russian,
    Custom,
}

/// The working-day calendar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CalendarSettings {
    pub kind: CalendarKind,
    /// Weekly days off as ISO numbers (Monday = 1 … Sunday = 7), for the custom calendar.
    pub weekend: Vec<u8>,
    #[serde(with = "date_list")]
    pub holidays: Vec<Date>,
    /// Days off that are working days this time (transferred working Saturdays).
    #[serde(with = "date_list")]
    pub extra_working_days: Vec<Date>,
}

impl Default for CalendarSettings {
    fn default() -> CalendarSettings {
        CalendarSettings {
            kind: CalendarKind::Auto,
            weekend: vec![6, 7],
            holidays: Vec::new(),
            extra_working_days: Vec::new(),
        }
    }
}

impl CalendarSettings {
    /// The calendar for an account whose amoCRM `country` is `account_country` (e.g. `RU`).
    pub fn build(&self, account_country: Option<&str>) -> Result<Calendar, CalendarError> {
        let russian_account =
            account_country.is_some_and(|country| country.trim().eq_ignore_ascii_case("ru"));
        match self.kind {
            CalendarKind::Russian => Ok(Calendar::russian()),
            CalendarKind::Auto if russian_account => Ok(Calendar::russian()),
            CalendarKind::Auto | CalendarKind::Custom => Calendar::custom(
                self.weekend_set(),
                self.holidays.iter().copied().collect(),
                self.extra_working_days.iter().copied().collect(),
            ),
        }
    }

    /// The weekly days off; numbers outside 1–7 are ignored (and reported by `validate`).
    pub fn weekend_set(&self) -> WeekdaySet {
        self.weekend
            .iter()
            .filter_map(|&number| Weekday::from_number_from_monday(number))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Validation

/// Collects problems under a path prefix.
struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn report(&mut self, path: impl Into<String>, key: &'static str) {
        self.problems.push(Problem {
            path: path.into(),
            key,
        });
    }

    fn check(&mut self, ok: bool, path: impl Into<String>, key: &'static str) {
        if !ok {
            self.report(path, key);
        }
    }

    fn time(&mut self, time: TimeOfDay, path: &str) {
        self.check(
            time.hour < 24,
            format!("{path}.hour"),
            problem::OUT_OF_RANGE,
        );
        self.check(
            time.minute < 60,
            format!("{path}.minute"),
            problem::OUT_OF_RANGE,
        );
    }

    /// The English text is the fallback of every language, so it must exist.
    fn text(&mut self, text: &Localized, path: &str) {
        self.check(
            !text.en.trim().is_empty(),
            format!("{path}.en"),
            problem::REQUIRED,
        );
    }

    fn limit(&mut self, limit: Limit, path: impl Into<String>) {
        self.check(limit.is_in_range(), path, problem::OUT_OF_RANGE);
    }

    fn open_stage(&mut self, stage: StageRef, path: impl Into<String>) {
        let path = path.into();
        self.check(
            stage.pipeline_id != 0,
            format!("{path}.pipeline_id"),
            problem::REQUIRED,
        );
        self.check(
            stage.status_id != 0,
            format!("{path}.status_id"),
            problem::REQUIRED,
        );
        self.check(!stage.is_closed(), path, problem::CLOSED_STAGE);
    }

    fn ids(&mut self, ids: &[u64], path: &str) {
        let mut seen = HashSet::new();
        for (i, &id) in ids.iter().enumerate() {
            self.check(id != 0, format!("{path}[{i}]"), problem::REQUIRED);
            self.check(seen.insert(id), format!("{path}[{i}]"), problem::DUPLICATE);
        }
    }
}

impl Settings {
    /// Every problem of the configuration; empty when it is valid.
    pub fn validate(&self) -> Vec<Problem> {
        let mut c = Checker {
            problems: Vec::new(),
        };
        self.validate_next_step(&mut c);
        self.validate_refusals(&mut c);
        self.validate_automation(&mut c);
        self.validate_payments(&mut c);
        self.validate_calendar(&mut c);
        c.problems
    }

    fn validate_next_step(&self, c: &mut Checker) {
        let s = &self.next_step;
        match &s.scope {
            StageScope::AllOpen => {}
            StageScope::Pipelines { pipeline_ids } => {
                c.check(
                    !pipeline_ids.is_empty(),
                    "next_step.scope.pipeline_ids",
                    problem::REQUIRED,
                );
                let ids: Vec<u64> = pipeline_ids.iter().map(|&id| u64::from(id)).collect();
                c.ids(&ids, "next_step.scope.pipeline_ids");
            }
            StageScope::Stages { stages } => {
                c.check(
                    !stages.is_empty(),
                    "next_step.scope.stages",
                    problem::REQUIRED,
                );
                let mut seen = HashSet::new();
                for (i, &stage) in stages.iter().enumerate() {
                    let path = format!("next_step.scope.stages[{i}]");
                    c.open_stage(stage, path.clone());
                    c.check(seen.insert(stage), path, problem::DUPLICATE);
                }
            }
        }
        c.ids(&s.exempt_users, "next_step.exempt_users");
        c.ids(&s.exempt_groups, "next_step.exempt_groups");
        c.time(s.default_time, "next_step.default_time");
        c.check(
            !s.presets.is_empty(),
            "next_step.presets",
            problem::REQUIRED,
        );
        c.check(
            s.presets.len() <= MAX_PRESETS,
            "next_step.presets",
            problem::OUT_OF_RANGE,
        );
        for (i, preset) in s.presets.iter().enumerate() {
            let key = &preset.label_key;
            let well_formed = key.len() > 3
                && key.starts_with("ui.")
                && key
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '.' || ch == '_');
            c.check(
                well_formed,
                format!("next_step.presets[{i}].label_key"),
                problem::LABEL_KEY,
            );
            c.check(
                preset.working_days <= MAX_WORKING_DAYS,
                format!("next_step.presets[{i}].working_days"),
                problem::OUT_OF_RANGE,
            );
        }
        c.check(
            (1..=MAX_GRACE_MINUTES).contains(&s.watchdog_grace_minutes),
            "next_step.watchdog_grace_minutes",
            problem::OUT_OF_RANGE,
        );
        c.text(&s.fallback_task_text, "next_step.fallback_task_text");
        c.check(
            s.fallback_task_type_id != 0,
            "next_step.fallback_task_type_id",
            problem::REQUIRED,
        );
    }

    fn validate_refusals(&self, c: &mut Checker) {
        let s = &self.refusals;
        let mut seen = HashSet::new();
        for (i, rule) in s.rules.iter().enumerate() {
            let path = format!("refusals.rules[{i}]");
            c.check(
                rule.reason_id != 0,
                format!("{path}.reason_id"),
                problem::REQUIRED,
            );
            c.check(
                seen.insert(rule.reason_id),
                format!("{path}.reason_id"),
                problem::DUPLICATE,
            );
            c.check(
                rule.delay_working_days <= MAX_WORKING_DAYS,
                format!("{path}.delay_working_days"),
                problem::OUT_OF_RANGE,
            );
            if let Some(text) = &rule.task_text {
                c.check(
                    !text.trim().is_empty(),
                    format!("{path}.task_text"),
                    problem::REQUIRED,
                );
            }
            c.check(
                rule.task_type_id != 0,
                format!("{path}.task_type_id"),
                problem::REQUIRED,
            );
            c.check(
                rule.responsible != Responsible::User { id: 0 },
                format!("{path}.responsible"),
                problem::REQUIRED,
            );
            match rule.copy_to {
                Some(stage) if rule.copy => c.open_stage(stage, format!("{path}.copy_to")),
                None if rule.copy => c.report(format!("{path}.copy_to"), problem::REQUIRED),
                _ => {}
            }
        }
        c.text(&s.default_task_text, "refusals.default_task_text");
        c.text(&s.copy_tag, "refusals.copy_tag");
        c.text(
            &s.missing_reason_task_text,
            "refusals.missing_reason_task_text",
        );
    }

    fn validate_automation(&self, c: &mut Checker) {
        let s = &self.stuck;
        let mut escalates = false;
        let mut pair = |c: &mut Checker,
                        limit: Option<Limit>,
                        escalate: Option<Limit>,
                        path: &str,
                        names: (&str, &str)| {
            if let Some(limit) = limit {
                c.limit(limit, format!("{path}{}", names.0));
            }
            if let Some(escalate) = escalate {
                escalates = true;
                c.limit(escalate, format!("{path}{}", names.1));
                if let Some(limit) = limit {
                    c.check(
                        escalate.seconds() > limit.seconds(),
                        format!("{path}{}", names.1),
                        problem::ESCALATION_NOT_AFTER_LIMIT,
                    );
                }
            }
        };
        pair(
            c,
            s.default_limit,
            s.default_escalate_after,
            "stuck.",
            ("default_limit", "default_escalate_after"),
        );
        let mut seen = HashSet::new();
        for (i, stage) in s.stages.iter().enumerate() {
            let path = format!("stuck.stages[{i}].");
            c.open_stage(stage.stage, format!("{path}stage"));
            c.check(
                seen.insert(stage.stage),
                format!("{path}stage"),
                problem::DUPLICATE,
            );
            pair(
                c,
                stage.limit,
                stage.escalate_after,
                &path,
                ("limit", "escalate_after"),
            );
        }
        c.text(&s.tag, "stuck.tag");

        let o = &self.overdue_tasks;
        c.limit(o.escalate_after, "overdue_tasks.escalate_after");

        let e = &self.escalation;
        let needs_supervisor = (s.enabled && escalates) || o.enabled;
        match e.supervisor {
            None if needs_supervisor => {
                c.report("escalation.supervisor", problem::SUPERVISOR_REQUIRED)
            }
            Some(Supervisor::User { id: 0 } | Supervisor::Group { id: 0 }) => {
                c.report("escalation.supervisor", problem::REQUIRED)
            }
            _ => {}
        }
        c.text(&e.task_text, "escalation.task_text");
        c.check(
            e.task_type_id != 0,
            "escalation.task_type_id",
            problem::REQUIRED,
        );
    }

    fn validate_payments(&self, c: &mut Checker) {
        let s = &self.payments;
        if let Some(store) = &s.store {
            c.check(
                store.catalog_id != 0,
                "payments.store.catalog_id",
                problem::REQUIRED,
            );
            for field in crate::payments::store::StoreField::ALL {
                c.check(
                    store.fields.get(field) != 0,
                    format!(
                        "payments.store.fields.{}",
                        field.code().trim_start_matches("LG_").to_ascii_lowercase()
                    ),
                    problem::REQUIRED,
                );
            }
        }
        if let PaymentEditors::Users { ids } = &s.editors {
            c.check(!ids.is_empty(), "payments.editors.ids", problem::REQUIRED);
            c.ids(ids, "payments.editors.ids");
        }
        let mut seen = HashSet::new();
        for (i, &stage) in s.gate_stages.iter().enumerate() {
            let path = format!("payments.gate_stages[{i}]");
            c.check(
                stage.pipeline_id != 0,
                format!("{path}.pipeline_id"),
                problem::REQUIRED,
            );
            c.check(
                stage.status_id != 0,
                format!("{path}.status_id"),
                problem::REQUIRED,
            );
            c.check(
                stage.status_id != STATUS_LOST,
                path.clone(),
                problem::LOST_STAGE,
            );
            c.check(seen.insert(stage), path, problem::DUPLICATE);
        }
        let mut seen = HashSet::new();
        for (i, target) in s.margin_plan.iter().enumerate() {
            let path = format!("payments.margin_plan[{i}]");
            c.check(
                target.amount_minor >= 0,
                format!("{path}.amount_minor"),
                problem::OUT_OF_RANGE,
            );
            if let PlanScope::Manager { user_id: 0 } = target.scope {
                c.report(format!("{path}.scope"), problem::REQUIRED);
            }
            c.check(
                seen.insert((target.month, target.scope)),
                path,
                problem::DUPLICATE,
            );
        }
        c.time(s.default_time, "payments.default_time");
        c.text(&s.reminder_task_text, "payments.reminder_task_text");
    }

    fn validate_calendar(&self, c: &mut Checker) {
        let s = &self.calendar;
        let mut seen = BTreeSet::new();
        for (i, &number) in s.weekend.iter().enumerate() {
            let path = format!("calendar.weekend[{i}]");
            c.check(
                (1..=7).contains(&number),
                path.clone(),
                problem::OUT_OF_RANGE,
            );
            c.check(seen.insert(number), path, problem::DUPLICATE);
        }
        c.check(
            s.weekend_set().len() < 7,
            "calendar.weekend",
            problem::NO_WORKING_WEEKDAY,
        );
        for (name, list) in [
            ("holidays", &s.holidays),
            ("extra_working_days", &s.extra_working_days),
        ] {
            let mut seen = BTreeSet::new();
            for (i, day) in list.iter().enumerate() {
                c.check(
                    seen.insert(*day),
                    format!("calendar.{name}[{i}]"),
                    problem::DUPLICATE,
                );
            }
        }
    }
}

/// Dates as ISO `YYYY-MM-DD` strings in the persisted settings.
mod date_list {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::dates::Date;

    pub fn serialize<S: Serializer>(dates: &[Date], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(dates.iter().map(ToString::to_string))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Date>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|text| {
                text.parse()
                    .map_err(|_| D::Error::custom(format!("not a date: {text}")))
            })
            .collect()
    }
}

/// A month as a `YYYY-MM` string in the persisted settings.
mod year_month_text {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::dates::YearMonth;

    pub fn serialize<S: Serializer>(month: &YearMonth, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(month)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<YearMonth, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse()
            .map_err(|_| D::Error::custom(format!("not a month: {text}")))
    }
}

#[cfg(test)]
mod tests;
