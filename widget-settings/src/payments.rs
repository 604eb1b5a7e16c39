//! The payments section (issue 6): the panel on or off, who may edit payments, the gate stages, the
//! monthly margin plan and the overdue reminder's time and text per language.
//!
//! Amounts of the margin plan are typed in the account currency and read with the core's
//! `parse_amount` (integer minor units, never floats); a row whose month or amount cannot be read
//! stays in the form and is reported by the form itself, everything else by `Settings::validate()`.
//! Every field carries `data-path` (the core's problem path), so a problem shows next to its field.

use leakguard_core::dates::YearMonth;
use leakguard_core::deal::{StageRef, STATUS_WON};
use leakguard_core::locale::{Lang, Localized};
use leakguard_core::payments::store::amount_text;
use leakguard_core::payments::{parse_amount, Currency};
use leakguard_core::settings::{MarginTarget, PaymentEditors, PaymentSettings, PlanScope, Problem};
use wasm_bindgen::JsValue;
use web_sys::Element;

use crate::dom;
use crate::form::{format_time, parse_time, Texts};
use crate::host::{Choice, PipelineChoice};
use crate::page::{all, checked, value_of};
use crate::render::{add, choice, section, text};

/// The i18n key of a margin row whose month cannot be read.
pub const MONTH_PROBLEM: &str = "ui.settings.payments.error_month";
/// The i18n key of a margin row whose amount cannot be read.
pub const AMOUNT_PROBLEM: &str = "ui.settings.payments.error_amount";

/// Who may edit, as the radio value says: `all`, `users` or `admins`.
pub fn editors_mode(editors: &PaymentEditors) -> &'static str {
    match editors {
        PaymentEditors::All => "all",
        PaymentEditors::Users { .. } => "users",
        PaymentEditors::Admins => "admins",
    }
}

/// The editors of a radio value and the ticked users (anything unknown is "all users").
pub fn editors_of(mode: &str, ids: Vec<u64>) -> PaymentEditors {
    match mode {
        "users" => PaymentEditors::Users { ids },
        "admins" => PaymentEditors::Admins,
        _ => PaymentEditors::All,
    }
}

/// A plan scope as the select's value: `company` or `user:<id>`.
pub fn scope_value(scope: PlanScope) -> String {
    match scope {
        PlanScope::Company => "company".to_owned(),
        PlanScope::Manager { user_id } => format!("user:{user_id}"),
    }
}

/// The plan scope of a select value; anything unreadable is a manager with id 0, which validation reports.
pub fn parse_scope(value: &str) -> PlanScope {
    match value.strip_prefix("user:") {
        Some(id) => PlanScope::Manager {
            user_id: id.trim().parse().unwrap_or(0),
        },
        None => PlanScope::Company,
    }
}

/// A gate stage as the checkbox value: `<pipeline>:<status>`.
pub fn stage_value(stage: StageRef) -> String {
    format!("{}:{}", stage.pipeline_id, stage.status_id)
}

/// The stage of a checkbox value.
pub fn parse_stage(value: &str) -> Option<StageRef> {
    let (pipeline, status) = value.split_once(':')?;
    Some(StageRef::new(pipeline.parse().ok()?, status.parse().ok()?))
}

/// The amount of a stored target as the input shows it (plain decimal text `parse_amount` reads back).
pub fn amount_field(minor: i64, currency: Currency) -> String {
    amount_text(minor, currency)
}

/// One margin row as typed: the month (`YYYY-MM`), the scope's select value and the amount. The
/// error lists the i18n keys of the parts that cannot be read (month, then amount).
pub fn parse_target(
    month: &str,
    scope: &str,
    amount: &str,
    currency: Currency,
) -> Result<MarginTarget, Vec<&'static str>> {
    let month = month.trim().parse::<YearMonth>().ok();
    let amount = parse_amount(amount, currency).ok();
    match (month, amount) {
        (Some(month), Some(amount)) => Ok(MarginTarget {
            month,
            scope: parse_scope(scope),
            amount_minor: amount.minor,
        }),
        (month, amount) => Err([
            month.is_none().then_some(MONTH_PROBLEM),
            amount.is_none().then_some(AMOUNT_PROBLEM),
        ]
        .into_iter()
        .flatten()
        .collect()),
    }
}

/// The text stored for `lang`, without the English fallback.
fn raw(text: &Localized, lang: Lang) -> &str {
    match lang {
        Lang::Ru => &text.ru,
        Lang::En => &text.en,
        Lang::Es => &text.es,
        Lang::Pt => &text.pt,
    }
}

/// A labelled field holding `control`, marked with the problem path it answers for.
fn field(parent: &Element, path: &str, label: &str, control: &Element) -> Result<(), JsValue> {
    let field = dom::element("label", "leakguard-settings__field")?;
    field.set_attribute("data-path", path)?;
    add(&field, text("span", "", label))?;
    field.append_child(control)?;
    parent.append_child(&field).map(drop)
}

fn input(kind: &str, attribute: &str, value: &str, label: &str) -> Result<Element, JsValue> {
    let input = dom::element("input", "leakguard-settings__input")?;
    input.set_attribute("type", kind)?;
    input.set_attribute(attribute, "")?;
    input.set_attribute("aria-label", label)?;
    input.set_attribute("value", value)?;
    Ok(input)
}

/// The section for `settings`; the gate stages are filled by [`show_gates`] once the pipelines are known.
pub fn draw_section(
    settings: &PaymentSettings,
    users: &[Choice],
    groups: &[Choice],
    currency: Currency,
    texts: &impl Texts,
) -> Result<Element, JsValue> {
    let t = |key: &str| texts.text(&format!("ui.settings.payments.{key}"));
    let root = section(&t("title"))?;
    root.set_attribute("data-payments", "")?;
    add(
        &root,
        choice(
            "checkbox",
            "",
            "data-payments-enabled",
            "1",
            &t("enabled"),
            settings.enabled,
        ),
    )?;

    let editors = dom::element("div", "leakguard-settings__group")?;
    editors.set_attribute("data-path", "payments.editors")?;
    add(
        &editors,
        text("p", "leakguard-settings__subtitle", &t("editors")),
    )?;
    let mode = editors_mode(&settings.editors);
    for option in ["all", "users", "admins"] {
        add(
            &editors,
            choice(
                "radio",
                "leakguard-payments-editors",
                "data-payments-editors",
                option,
                &t(&format!("editors_{option}")),
                mode == option,
            ),
        )?;
    }
    let chosen: &[u64] = match &settings.editors {
        PaymentEditors::Users { ids } => ids,
        _ => &[],
    };
    let people = dom::element("div", "leakguard-settings__lists")?;
    people.set_attribute("data-payments-people", "")?;
    for user in users {
        add(
            &people,
            choice(
                "checkbox",
                "",
                "data-payments-editor",
                &user.id.to_string(),
                &user.name,
                chosen.contains(&user.id),
            ),
        )?;
    }
    if !groups.is_empty() {
        // A group ticks or clears all its users at once (the setting itself keeps users).
        add(
            &people,
            text("p", "leakguard-settings__hint", &t("groups_hint")),
        )?;
        for group in groups {
            let button = text("button", "leakguard-settings__add", &group.name)?;
            button.set_attribute("type", "button")?;
            button.set_attribute("data-payments-group", &group.id.to_string())?;
            people.append_child(&button)?;
        }
    }
    editors.append_child(&people)?;
    root.append_child(&editors)?;

    let gates = dom::element("div", "leakguard-settings__group")?;
    gates.set_attribute("data-path", "payments.gate_stages")?;
    add(
        &gates,
        text("p", "leakguard-settings__subtitle", &t("gates")),
    )?;
    add(
        &gates,
        text("p", "leakguard-settings__hint", &t("gates_hint")),
    )?;
    let list = dom::element("div", "leakguard-settings__lists")?;
    list.set_attribute("data-payments-gates", "")?;
    add(
        &list,
        text(
            "p",
            "leakguard-settings__hint",
            &texts.text("ui.settings.loading_pipelines"),
        ),
    )?;
    gates.append_child(&list)?;
    root.append_child(&gates)?;

    let plan = dom::element("div", "leakguard-settings__group")?;
    plan.set_attribute("data-path", "payments.margin_plan")?;
    add(
        &plan,
        text("p", "leakguard-settings__subtitle", &t("margin")),
    )?;
    let rows = dom::element("div", "leakguard-settings__presets")?;
    rows.set_attribute("data-margin-rows", "")?;
    for target in &settings.margin_plan {
        let row = margin_row(
            &target.month.to_string(),
            &scope_value(target.scope),
            &amount_field(target.amount_minor, currency),
            users,
            texts,
        )?;
        rows.append_child(&row)?;
    }
    plan.append_child(&rows)?;
    let add_row = text("button", "leakguard-settings__add", &t("add_target"))?;
    add_row.set_attribute("type", "button")?;
    add_row.set_attribute("data-add-margin", "")?;
    plan.append_child(&add_row)?;
    root.append_child(&plan)?;

    let time = input(
        "time",
        "data-payments-time",
        &format_time(settings.default_time),
        &t("default_time"),
    )?;
    field(&root, "payments.default_time", &t("default_time"), &time)?;
    for lang in Lang::ALL {
        let label = format!("{} ({})", t("reminder_text"), lang.code());
        let control = input(
            "text",
            &format!("data-payments-text-{}", lang.code()),
            raw(&settings.reminder_task_text, lang),
            &label,
        )?;
        field(
            &root,
            &format!("payments.reminder_task_text.{}", lang.code()),
            &label,
            &control,
        )?;
    }
    let status = dom::element("p", "leakguard-settings__hint")?;
    status.set_attribute("data-payments-store", "")?;
    status.set_attribute("data-path", "payments.store")?;
    status.set_attribute("role", "status")?;
    root.append_child(&status)?;
    Ok(root)
}

/// One margin target row: month, whose target, amount and a remove button.
pub fn margin_row(
    month: &str,
    scope: &str,
    amount: &str,
    users: &[Choice],
    texts: &impl Texts,
) -> Result<Element, JsValue> {
    let t = |key: &str| texts.text(&format!("ui.settings.payments.{key}"));
    let row = dom::element("div", "leakguard-settings__preset")?;
    row.set_attribute("data-margin-row", "")?;
    let month = input("month", "data-margin-month", month, &t("month"))?;
    month.set_attribute("placeholder", "2026-01")?;
    row.append_child(&month)?;
    let select = dom::element("select", "leakguard-settings__input")?;
    select.set_attribute("data-margin-scope", "")?;
    select.set_attribute("aria-label", &t("scope"))?;
    let options = std::iter::once(("company".to_owned(), t("company"))).chain(
        users
            .iter()
            .map(|u| (format!("user:{}", u.id), u.name.clone())),
    );
    let mut known = false;
    for (value, name) in options {
        let option = text("option", "", &name)?;
        option.set_attribute("value", &value)?;
        if value == scope {
            option.set_attribute("selected", "")?;
            known = true;
        }
        select.append_child(&option)?;
    }
    if !known {
        // A manager who left the account keeps their target, shown by id.
        let option = text("option", "", scope)?;
        option.set_attribute("value", scope)?;
        option.set_attribute("selected", "")?;
        select.append_child(&option)?;
    }
    row.append_child(&select)?;
    let amount = input("text", "data-margin-amount", amount, &t("amount"))?;
    amount.set_attribute("inputmode", "decimal")?;
    row.append_child(&amount)?;
    let remove = text("button", "leakguard-settings__remove", "×")?;
    remove.set_attribute("type", "button")?;
    remove.set_attribute("data-remove-margin", "")?;
    remove.set_attribute("aria-label", &t("remove_target"))?;
    row.append_child(&remove)?;
    Ok(row)
}

/// Fills the gate stages: each pipeline's open stages and its "won" stage (142). The lost stage
/// (143) is not offered; a stored one is kept and refused by validation.
pub fn show_gates(
    root: &Element,
    pipelines: &[PipelineChoice],
    settings: &PaymentSettings,
    texts: &impl Texts,
) -> Result<(), JsValue> {
    let Some(list) = root.query_selector("[data-payments-gates]")? else {
        return Ok(());
    };
    list.set_text_content(None);
    let won = texts.text("ui.settings.payments.won");
    for pipeline in pipelines {
        add(
            &list,
            text("p", "leakguard-settings__pipeline", &pipeline.name),
        )?;
        let stages = pipeline
            .stages
            .iter()
            .map(|(status, name)| (*status, name.as_str()))
            .chain(std::iter::once((STATUS_WON, won.as_str())));
        for (status, name) in stages {
            let stage = StageRef::new(pipeline.id, status);
            add(
                &list,
                choice(
                    "checkbox",
                    "",
                    "data-payments-gate",
                    &stage_value(stage),
                    name,
                    settings.gate_stages.contains(&stage),
                ),
            )?;
        }
    }
    Ok(())
}

/// Ticks (or, when all are ticked, clears) the editors of group `group_id`.
pub fn toggle_group(root: &Element, members: &[u64]) {
    let boxes: Vec<web_sys::HtmlInputElement> = all(root, "[data-payments-editor]")
        .into_iter()
        .filter_map(|e| wasm_bindgen::JsCast::dyn_into(e).ok())
        .filter(|input: &web_sys::HtmlInputElement| {
            input
                .value()
                .parse()
                .is_ok_and(|id: u64| members.contains(&id))
        })
        .collect();
    let tick = !boxes.iter().all(web_sys::HtmlInputElement::checked);
    for input in boxes {
        input.set_checked(tick);
    }
}

/// Writes the section's controls into `settings`; answers the problems only the form can see
/// (margin rows whose month or amount cannot be read; those rows are left out of the settings).
pub fn apply(root: &Element, settings: &mut PaymentSettings, currency: Currency) -> Vec<Problem> {
    let Ok(Some(section)) = root.query_selector("[data-payments]") else {
        return Vec::new();
    };
    settings.enabled = !checked(&section, "[data-payments-enabled]").is_empty();
    let ids = checked(&section, "[data-payments-editor]")
        .iter()
        .filter_map(|id| id.parse().ok())
        .collect();
    let mode = checked(&section, "[data-payments-editors]");
    settings.editors = editors_of(mode.first().map_or("", String::as_str), ids);
    let shown = all(&section, "[data-payments-gate]");
    if !shown.is_empty() {
        let offered: Vec<StageRef> = shown
            .iter()
            .filter_map(|input| parse_stage(&input.get_attribute("value")?))
            .collect();
        // Stages the board no longer shows (or never offers, such as 143) keep their stored state.
        settings
            .gate_stages
            .retain(|stage| !offered.contains(stage));
        settings.gate_stages.extend(
            checked(&section, "[data-payments-gate]")
                .iter()
                .filter_map(|value| parse_stage(value)),
        );
    }
    let mut problems = Vec::new();
    settings.margin_plan.clear();
    for (row_number, row) in all(&section, "[data-margin-row]").iter().enumerate() {
        let parsed = parse_target(
            &value_of(row, "[data-margin-month]"),
            &value_of(row, "[data-margin-scope]"),
            &value_of(row, "[data-margin-amount]"),
            currency,
        );
        let path = match parsed {
            Ok(target) => {
                settings.margin_plan.push(target);
                format!("payments.margin_plan[{}]", settings.margin_plan.len() - 1)
            }
            Err(keys) => {
                // Not in the settings, so not a core index: the form names the row by its place.
                let path = format!("payments.margin_rows[{row_number}]");
                problems.extend(keys.into_iter().map(|key| Problem {
                    path: path.clone(),
                    key,
                }));
                path
            }
        };
        let _ = row.set_attribute("data-path", &path);
    }
    settings.default_time = parse_time(&value_of(&section, "[data-payments-time]"));
    let text = |lang: Lang| value_of(&section, &format!("[data-payments-text-{}]", lang.code()));
    settings.reminder_task_text = Localized::new(
        &text(Lang::Ru),
        &text(Lang::En),
        &text(Lang::Es),
        &text(Lang::Pt),
    );
    problems
}

/// Shows each `payments.*` problem next to the field whose `data-path` is the longest prefix of its
/// path (and clears the previous ones); `line` words a problem.
pub fn show_field_problems(
    root: &Element,
    problems: &[Problem],
    line: impl Fn(&Problem) -> String,
) -> Result<(), JsValue> {
    let Some(section) = root.query_selector("[data-payments]")? else {
        return Ok(());
    };
    for old in all(&section, "[data-field-error]") {
        old.remove();
    }
    let fields = all(&section, "[data-path]");
    for problem in problems.iter().filter(|p| p.path.starts_with("payments.")) {
        let owner = fields
            .iter()
            .filter_map(|field| Some((field.get_attribute("data-path")?, field)))
            .filter(|(path, _)| is_within(&problem.path, path))
            .max_by_key(|(path, _)| path.len());
        if let Some((_, field)) = owner {
            let message = text("p", "leakguard-settings__error", &line(problem))?;
            message.set_attribute("data-field-error", &problem.path)?;
            field.append_child(&message)?;
        }
    }
    Ok(())
}

/// Whether `path` is `prefix` or lies under it (`a.b[1].c` is within `a.b[1]` and `a.b`).
pub fn is_within(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

#[cfg(test)]
mod tests {
    use leakguard_core::settings::{problem, Settings};

    use super::*;

    fn rub() -> Currency {
        Currency::RUB
    }

    #[test]
    fn margin_rows_are_read_without_floats() {
        let target = parse_target("2026-11", "user:7", "1 500 000,50 ₽", rub()).unwrap();
        assert_eq!(target.month, "2026-11".parse().unwrap());
        assert_eq!(target.scope, PlanScope::Manager { user_id: 7 });
        assert_eq!(target.amount_minor, 150_000_050);
        let company = parse_target("2026-12", "company", "0.1", rub()).unwrap();
        assert_eq!(
            (company.scope, company.amount_minor),
            (PlanScope::Company, 10)
        );
        assert_eq!(
            parse_target("", "company", "1.2.3", rub()).unwrap_err(),
            [MONTH_PROBLEM, AMOUNT_PROBLEM]
        );
        assert_eq!(
            parse_target("2026-13", "company", "5", rub()).unwrap_err(),
            [MONTH_PROBLEM]
        );
        assert_eq!(
            parse_target("2026-01", "company", "five", rub()).unwrap_err(),
            [AMOUNT_PROBLEM]
        );
    }

    #[test]
    fn stored_amounts_come_back_unchanged() {
        let jpy = Currency::from_code("JPY").unwrap();
        let kwd = Currency::from_code("KWD").unwrap();
        for (minor, currency) in [
            (0, rub()),
            (1, rub()),
            (150_000_050, rub()),
            (1_500, jpy),
            (1_500, kwd),
            (1_234_567, kwd),
        ] {
            let text = amount_field(minor, currency);
            assert_eq!(
                parse_amount(&text, currency).map(|m| m.minor),
                Ok(minor),
                "{text}"
            );
        }
    }

    #[test]
    fn selects_and_radios_round_trip() {
        for scope in [PlanScope::Company, PlanScope::Manager { user_id: 42 }] {
            assert_eq!(parse_scope(&scope_value(scope)), scope);
        }
        assert_eq!(parse_scope("user:x"), PlanScope::Manager { user_id: 0 });
        for editors in [
            PaymentEditors::All,
            PaymentEditors::Admins,
            PaymentEditors::Users { ids: vec![3, 5] },
        ] {
            assert_eq!(editors_of(editors_mode(&editors), vec![3, 5]), editors);
        }
        let won = StageRef::new(7, STATUS_WON);
        assert_eq!(parse_stage(&stage_value(won)), Some(won));
        assert_eq!(parse_stage("7"), None);
    }

    #[test]
    fn the_core_refuses_what_the_form_cannot() {
        let mut settings = Settings::default();
        settings.payments.gate_stages = vec![StageRef::new(7, 143), StageRef::new(7, STATUS_WON)];
        settings.payments.editors = editors_of("users", Vec::new());
        settings.payments.margin_plan = vec![
            parse_target("2026-11", "company", "100", rub()).unwrap(),
            parse_target("2026-11", "company", "200", rub()).unwrap(),
        ];
        let found: Vec<(String, &str)> = settings
            .validate()
            .into_iter()
            .map(|p| (p.path, p.key))
            .collect();
        assert_eq!(
            found,
            [
                ("payments.editors.ids".to_owned(), problem::REQUIRED),
                ("payments.gate_stages[0]".to_owned(), problem::LOST_STAGE),
                ("payments.margin_plan[1]".to_owned(), problem::DUPLICATE),
            ]
        );
    }

    #[test]
    fn problems_find_their_field() {
        assert!(is_within(
            "payments.margin_plan[1]",
            "payments.margin_plan[1]"
        ));
        assert!(is_within(
            "payments.margin_plan[1].scope",
            "payments.margin_plan"
        ));
        assert!(is_within(
            "payments.reminder_task_text.en",
            "payments.reminder_task_text.en"
        ));
        assert!(!is_within(
            "payments.margin_plan[10]",
            "payments.margin_plan[1]"
        ));
        assert!(!is_within("payments.editorsX", "payments.editors"));
    }
}
