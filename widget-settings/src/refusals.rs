//! The refusal rules section: one row per loss reason of the account (`GET /api/v4/leads/loss_reasons`)
//! with its follow-up (delay in working days, task text with `{deal}`, task type, responsible, copy to
//! the refusal pipeline and its stage); administrators also add and rename reasons through the API.
//!
//! Rows start from the stored rules, and reasons without one get the core's defaults
//! (`RefusalSettings::fill_missing`). Rules of reasons that no longer exist stay stored untouched.

use std::rc::Rc;

use leakguard_core::deal::StageRef;
use leakguard_core::settings::{RefusalRule, RefusalSettings, Responsible};
use wasm_bindgen::JsValue;
use web_sys::Element;

use crate::dom;
use crate::form::Texts;
use crate::host::{self, PipelineChoice};
use crate::http;
use crate::page::{all, checked, error_text, value_of, Page};
use crate::render::{add, section, text};

/// A loss reason as the table shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason {
    pub id: u64,
    pub name: String,
}

/// What one row's controls hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowValues {
    pub reason_id: u64,
    /// The working days as typed.
    pub delay: String,
    /// The task text; empty uses the default text.
    pub text: String,
    pub task_type: String,
    /// A user id, or empty for the deal's manager.
    pub responsible: String,
    pub copy: bool,
    /// `pipeline:status`, or empty.
    pub stage: String,
}

/// Writes one row into its rule, keeping what the row does not show.
pub fn apply_row(values: &RowValues, rule: &mut RefusalRule) {
    rule.reason_id = values.reason_id;
    // An unreadable number is out of range, which validation reports.
    rule.delay_working_days = values.delay.trim().parse().unwrap_or(u32::MAX);
    rule.task_text = Some(values.text.trim())
        .filter(|text| !text.is_empty())
        .map(str::to_owned);
    rule.task_type_id = values.task_type.trim().parse().unwrap_or(0);
    rule.responsible = match values.responsible.trim() {
        "" => Responsible::DealManager,
        id => Responsible::User {
            id: id.parse().unwrap_or(0),
        },
    };
    rule.copy = values.copy;
    if let Some(stage) = parse_stage(&values.stage) {
        rule.copy_to = Some(stage);
    } else if values.copy {
        rule.copy_to = None;
    }
}

/// A stage choice `pipeline:status`.
pub fn parse_stage(value: &str) -> Option<StageRef> {
    let (pipeline, status) = value.split_once(':')?;
    Some(StageRef::new(pipeline.parse().ok()?, status.parse().ok()?))
}

/// The section with its "loading" line; the rows come with the account's reasons.
pub fn draw_section(texts: &impl Texts) -> Result<Element, JsValue> {
    let t = |key: &str| texts.text(key);
    let fieldset = section(&t("ui.settings.refusals.title"))?;
    fieldset.set_attribute("data-refusals", "")?;
    add(
        &fieldset,
        text(
            "p",
            "leakguard-settings__hint",
            &t("ui.settings.refusals.hint"),
        ),
    )?;
    let rows = dom::element("div", "leakguard-settings__rules")?;
    rows.set_attribute("data-refusal-rows", "")?;
    add(
        &rows,
        text(
            "p",
            "leakguard-settings__hint",
            &t("ui.settings.refusals.loading"),
        ),
    )?;
    fieldset.append_child(&rows)?;
    if host::user_is_admin() {
        let adder = dom::element("div", "leakguard-settings__field")?;
        let name = dom::element("input", "leakguard-settings__input")?;
        name.set_attribute("type", "text")?;
        name.set_attribute("data-new-reason", "")?;
        name.set_attribute("aria-label", &t("ui.settings.refusals.new_reason"))?;
        name.set_attribute("placeholder", &t("ui.settings.refusals.new_reason"))?;
        adder.append_child(&name)?;
        let button = text(
            "button",
            "leakguard-settings__add",
            &t("ui.settings.refusals.add_reason"),
        )?;
        button.set_attribute("type", "button")?;
        button.set_attribute("data-add-reason", "")?;
        adder.append_child(&button)?;
        fieldset.append_child(&adder)?;
    }
    let status = dom::element("p", "leakguard-settings__error")?;
    status.set_attribute("data-refusal-status", "")?;
    status.set_attribute("role", "alert")?;
    fieldset.append_child(&status)?;
    Ok(fieldset)
}

/// A `<select>` with `(value, label)` options, `chosen` selected.
fn select(
    attribute: &str,
    label: &str,
    options: &[(String, String)],
    chosen: &str,
) -> Result<Element, JsValue> {
    let select = dom::element("select", "leakguard-settings__input")?;
    select.set_attribute(attribute, "")?;
    select.set_attribute("aria-label", label)?;
    for (value, name) in options {
        let option = text("option", "", name)?;
        option.set_attribute("value", value)?;
        if value == chosen {
            option.set_attribute("selected", "")?;
        }
        select.append_child(&option)?;
    }
    Ok(select)
}

/// The stage options: none, then every open stage as "pipeline: stage".
fn stage_options(pipelines: &[PipelineChoice], texts: &impl Texts) -> Vec<(String, String)> {
    std::iter::once((String::new(), texts.text("ui.settings.refusals.no_stage")))
        .chain(pipelines.iter().flat_map(|pipeline| {
            pipeline.stages.iter().map(move |(status, name)| {
                (
                    format!("{}:{status}", pipeline.id),
                    format!("{}: {name}", pipeline.name),
                )
            })
        }))
        .collect()
}

fn stage_value(stage: Option<StageRef>) -> String {
    stage.map_or_else(String::new, |s| {
        format!("{}:{}", s.pipeline_id, s.status_id)
    })
}

/// One row of the table.
fn row(
    reason: &Reason,
    rule: &RefusalRule,
    pipelines: &[PipelineChoice],
    admin: bool,
    texts: &impl Texts,
) -> Result<Element, JsValue> {
    let t = |key: &str| texts.text(key);
    let row = dom::element("div", "leakguard-settings__rule")?;
    row.set_attribute("data-refusal-row", &reason.id.to_string())?;
    if admin {
        let name = dom::element("input", "leakguard-settings__input")?;
        name.set_attribute("type", "text")?;
        name.set_attribute("data-reason-name", "")?;
        name.set_attribute("aria-label", &t("ui.settings.refusals.reason"))?;
        name.set_attribute("value", &reason.name)?;
        row.append_child(&name)?;
        let rename = text(
            "button",
            "leakguard-settings__add",
            &t("ui.settings.refusals.rename"),
        )?;
        rename.set_attribute("type", "button")?;
        rename.set_attribute("data-rename-reason", "")?;
        row.append_child(&rename)?;
    } else {
        add(
            &row,
            text("span", "leakguard-settings__reason", &reason.name),
        )?;
    }
    let number = |attribute: &str, label: &str, value: &str| -> Result<Element, JsValue> {
        let input = dom::element(
            "input",
            "leakguard-settings__input leakguard-settings__days",
        )?;
        input.set_attribute("type", "number")?;
        input.set_attribute("min", "0")?;
        input.set_attribute("max", "260")?;
        input.set_attribute(attribute, "")?;
        input.set_attribute("aria-label", label)?;
        input.set_attribute("value", value)?;
        Ok(input)
    };
    add(
        &row,
        number(
            "data-refusal-delay",
            &t("ui.settings.refusals.delay"),
            &rule.delay_working_days.to_string(),
        ),
    )?;
    let task_text = dom::element("input", "leakguard-settings__input")?;
    task_text.set_attribute("type", "text")?;
    task_text.set_attribute("data-refusal-text", "")?;
    task_text.set_attribute("aria-label", &t("ui.settings.refusals.text"))?;
    task_text.set_attribute("placeholder", &t("ui.settings.refusals.text_placeholder"))?;
    task_text.set_attribute("value", rule.task_text.as_deref().unwrap_or_default())?;
    row.append_child(&task_text)?;
    let mut types: Vec<(String, String)> = host::task_types()
        .into_iter()
        .map(|choice| (choice.id.to_string(), choice.name))
        .collect();
    let chosen_type = rule.task_type_id.to_string();
    if !types.iter().any(|(id, _)| *id == chosen_type) {
        types.insert(0, (chosen_type.clone(), chosen_type.clone()));
    }
    add(
        &row,
        select(
            "data-refusal-type",
            &t("ui.settings.refusals.task_type"),
            &types,
            &chosen_type,
        ),
    )?;
    let people: Vec<(String, String)> =
        std::iter::once((String::new(), t("ui.settings.refusals.deal_manager")))
            .chain(
                host::managers()
                    .into_iter()
                    .map(|choice| (choice.id.to_string(), choice.name)),
            )
            .collect();
    let chosen_person = match rule.responsible {
        Responsible::DealManager => String::new(),
        Responsible::User { id } => id.to_string(),
    };
    add(
        &row,
        select(
            "data-refusal-responsible",
            &t("ui.settings.refusals.responsible"),
            &people,
            &chosen_person,
        ),
    )?;
    let copy = dom::element("label", "leakguard-settings__choice")?;
    let checkbox = dom::element("input", "")?;
    checkbox.set_attribute("type", "checkbox")?;
    checkbox.set_attribute("data-refusal-copy", "")?;
    checkbox.set_attribute("value", "1")?;
    if rule.copy {
        checkbox.set_attribute("checked", "")?;
    }
    copy.append_child(&checkbox)?;
    add(&copy, text("span", "", &t("ui.settings.refusals.copy")))?;
    row.append_child(&copy)?;
    let mut stages = stage_options(pipelines, texts);
    let chosen_stage = stage_value(rule.copy_to);
    if !stages.iter().any(|(value, _)| *value == chosen_stage) {
        stages.push((chosen_stage.clone(), chosen_stage.clone()));
    }
    add(
        &row,
        select(
            "data-refusal-stage",
            &t("ui.settings.refusals.copy_stage"),
            &stages,
            &chosen_stage,
        ),
    )?;
    Ok(row)
}

/// Reads one row.
fn read_row(row: &Element) -> Option<RowValues> {
    Some(RowValues {
        reason_id: row.get_attribute("data-refusal-row")?.parse().ok()?,
        delay: value_of(row, "[data-refusal-delay]"),
        text: value_of(row, "[data-refusal-text]"),
        task_type: value_of(row, "[data-refusal-type]"),
        responsible: value_of(row, "[data-refusal-responsible]"),
        copy: !checked(row, "[data-refusal-copy]").is_empty(),
        stage: value_of(row, "[data-refusal-stage]"),
    })
}

/// Writes every row into the refusal settings.
pub fn apply(root: &Element, settings: &mut RefusalSettings) {
    for values in all(root, "[data-refusal-row]").iter().filter_map(read_row) {
        let index = match settings
            .rules
            .iter()
            .position(|r| r.reason_id == values.reason_id)
        {
            Some(index) => index,
            None => {
                settings
                    .rules
                    .push(settings.rule_for(values.reason_id, None));
                settings.rules.len() - 1
            }
        };
        apply_row(&values, &mut settings.rules[index]);
    }
}

/// The account's reasons as the page last drew them.
fn drawn_reasons(root: &Element) -> Vec<Reason> {
    all(root, "[data-refusal-row]")
        .iter()
        .filter_map(|row| {
            Some(Reason {
                id: row.get_attribute("data-refusal-row")?.parse().ok()?,
                name: row.get_attribute("data-reason")?,
            })
        })
        .collect()
}

/// Draws the rows for `reasons`, adding the core's default rule for reasons without one.
fn draw_rows(page: &Page, reasons: &[Reason]) {
    let root = page.root.element();
    let Ok(Some(rows)) = root.query_selector("[data-refusal-rows]") else {
        return;
    };
    rows.set_text_content(None);
    let admin = host::user_is_admin();
    let pipelines = page.pipelines.borrow();
    let mut config = page.settings.borrow_mut();
    let named: Vec<(u64, &str)> = reasons.iter().map(|r| (r.id, r.name.as_str())).collect();
    config.settings.refusals.fill_missing(&named);
    if reasons.is_empty() {
        let _ = add(
            &rows,
            text(
                "p",
                "leakguard-settings__hint",
                &page.widget.text("ui.settings.refusals.none"),
            ),
        );
    }
    for reason in reasons {
        let rule = config
            .settings
            .refusals
            .rule_for(reason.id, Some(&reason.name));
        if let Ok(row) = row(reason, &rule, &pipelines, admin, &page.widget) {
            let _ = row.set_attribute("data-reason", &reason.name);
            let _ = rows.append_child(&row);
        }
    }
}

/// Shows a line under the table (an API error, or empty to clear it).
fn status(page: &Page, line: &str) {
    if let Ok(Some(status)) = page.root.element().query_selector("[data-refusal-status]") {
        status.set_text_content(Some(line));
    }
}

/// Asks amoCRM for the account's loss reasons and draws their rows.
pub(crate) fn load_reasons(page: &Rc<Page>) {
    let Some(signal) = page.hold() else {
        return;
    };
    let weak = Rc::downgrade(page);
    wasm_bindgen_futures::spawn_local(async move {
        let result = http::loss_reasons(&signal).await;
        let Some(page) = weak.upgrade() else {
            return;
        };
        match result {
            Ok(reasons) => {
                let mut reasons: Vec<_> = reasons
                    .into_iter()
                    .map(|r| {
                        (
                            r.sort,
                            Reason {
                                id: r.id,
                                name: r.name,
                            },
                        )
                    })
                    .collect();
                reasons.sort_by_key(|(sort, reason)| (*sort, reason.id));
                let reasons: Vec<Reason> = reasons.into_iter().map(|(_, r)| r).collect();
                draw_rows(&page, &reasons);
                page.store_quietly();
            }
            Err(error) => {
                if let Ok(Some(rows)) = page.root.element().query_selector("[data-refusal-rows]") {
                    rows.set_text_content(Some(&error_text(error, &page.widget)));
                }
            }
        }
    });
}

/// The pipelines became known: redraws the rows so their stage lists offer every stage.
pub(crate) fn pipelines_known(page: &Page) {
    let reasons = drawn_reasons(page.root.element());
    if !reasons.is_empty() {
        page.changed_quietly(|| draw_rows(page, &reasons));
    }
}

/// Handles "add reason" and "rename"; `true` when the click was one of them.
pub(crate) fn clicked(page: &Rc<Page>, target: &Element) -> bool {
    let root = page.root.element();
    if target.closest("[data-add-reason]").ok().flatten().is_some() {
        let name = value_of(root, "[data-new-reason]").trim().to_owned();
        if name.is_empty() {
            status(
                page,
                &page.widget.text("ui.settings.refusals.name_required"),
            );
            return true;
        }
        let Some(signal) = page.hold() else {
            return true;
        };
        let weak = Rc::downgrade(page);
        wasm_bindgen_futures::spawn_local(async move {
            let result = http::add_loss_reason(&name, &signal).await;
            let Some(page) = weak.upgrade() else {
                return;
            };
            match result {
                Ok(reason) => {
                    status(&page, "");
                    let mut reasons = drawn_reasons(page.root.element());
                    reasons.push(Reason {
                        id: reason.id,
                        name: if reason.name.is_empty() {
                            name
                        } else {
                            reason.name
                        },
                    });
                    page.changed_quietly(|| draw_rows(&page, &reasons));
                    if let Ok(Some(input)) = page.root.element().query_selector("[data-new-reason]")
                    {
                        let _ = js_sys::Reflect::set(&input, &"value".into(), &"".into());
                    }
                    page.changed();
                }
                Err(error) => status(&page, &error_text(error, &page.widget)),
            }
        });
        return true;
    }
    let Some(row) = target
        .closest("[data-rename-reason]")
        .ok()
        .flatten()
        .and_then(|button| button.closest("[data-refusal-row]").ok().flatten())
    else {
        return false;
    };
    let Some(id) = row
        .get_attribute("data-refusal-row")
        .and_then(|id| id.parse::<u64>().ok())
    else {
        return true;
    };
    let name = value_of(&row, "[data-reason-name]").trim().to_owned();
    if name.is_empty() {
        status(
            page,
            &page.widget.text("ui.settings.refusals.name_required"),
        );
        return true;
    }
    let Some(signal) = page.hold() else {
        return true;
    };
    let weak = Rc::downgrade(page);
    wasm_bindgen_futures::spawn_local(async move {
        let result = http::rename_loss_reason(id, &name, &signal).await;
        let Some(page) = weak.upgrade() else {
            return;
        };
        match result {
            Ok(()) => {
                let _ = row.set_attribute("data-reason", &name);
                status(&page, &page.widget.text("ui.settings.refusals.renamed"));
            }
            Err(error) => status(&page, &error_text(error, &page.widget)),
        }
    });
    true
}

#[cfg(test)]
mod tests {
    use leakguard_core::settings::{default_refusal_delay, Settings};

    use super::*;

    fn values() -> RowValues {
        RowValues {
            reason_id: 7,
            delay: " 4 ".into(),
            text: "Call back: {deal}".into(),
            task_type: "2".into(),
            responsible: "".into(),
            copy: true,
            stage: "3:30".into(),
        }
    }

    #[test]
    fn a_row_becomes_its_rule() {
        let mut rule = RefusalRule::default();
        apply_row(&values(), &mut rule);
        assert_eq!(rule.reason_id, 7);
        assert_eq!(rule.delay_working_days, 4);
        assert_eq!(rule.task_text.as_deref(), Some("Call back: {deal}"));
        assert_eq!(rule.task_type_id, 2);
        assert_eq!(rule.responsible, Responsible::DealManager);
        assert!(rule.copy);
        assert_eq!(rule.copy_to, Some(StageRef::new(3, 30)));
        let mut user = values();
        user.responsible = "12".into();
        user.text = "  ".into();
        apply_row(&user, &mut rule);
        assert_eq!(rule.responsible, Responsible::User { id: 12 });
        assert_eq!(rule.task_text, None, "an empty text uses the default text");
    }

    #[test]
    fn unreadable_rows_are_left_for_validation_to_report() {
        let mut rule = RefusalRule::default();
        let mut bad = values();
        bad.delay = "soon".into();
        bad.stage = String::new();
        apply_row(&bad, &mut rule);
        let mut settings = Settings::default();
        settings.refusals.rules.push(rule);
        let paths: Vec<String> = settings.validate().into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "refusals.rules[0].delay_working_days",
                "refusals.rules[0].copy_to"
            ]
        );
    }

    #[test]
    fn a_stage_switched_off_keeps_its_choice() {
        let mut rule = RefusalRule::default();
        apply_row(&values(), &mut rule);
        let mut off = values();
        off.copy = false;
        off.stage = String::new();
        apply_row(&off, &mut rule);
        assert!(!rule.copy);
        assert_eq!(rule.copy_to, Some(StageRef::new(3, 30)));
        assert_eq!(parse_stage("x:1"), None);
        assert_eq!(default_refusal_delay("Дорого"), 5);
    }
}
