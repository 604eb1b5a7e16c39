//! The next-step section of the settings form: the guard's switches, scope, exemptions,
//! default hour, presets and fail mode, drawn with `textContent` from the saved settings.
//!
//! The controls carry `data-*` attributes that the settings page reads back (see `crate::settings`).

use leakguard_core::deal::StageRef;
use leakguard_core::settings::{FailMode, NextStepSettings, StageScope, MAX_PRESETS};
use wasm_bindgen::JsValue;
use web_sys::Element;

use crate::dom;
use crate::form::{format_time, ScopeMode, Texts, PRESET_LABELS};
use crate::host::{Choice, PipelineChoice};

/// Appends a freshly built child.
pub(crate) fn add(parent: &Element, child: Result<Element, JsValue>) -> Result<(), JsValue> {
    let child: web_sys::Node = child?.into();
    parent.append_child(&child).map(drop)
}

pub(crate) fn text(tag: &str, class: &str, content: &str) -> Result<Element, JsValue> {
    let element = dom::element(tag, class)?;
    element.set_text_content(Some(content));
    Ok(element)
}

/// A fieldset with a legend.
pub(crate) fn section(legend: &str) -> Result<Element, JsValue> {
    let fieldset = dom::element("fieldset", "leakguard-settings__section")?;
    add(
        &fieldset,
        text("legend", "leakguard-settings__legend", legend),
    )?;
    Ok(fieldset)
}

/// A checkbox or radio with its label; `attribute` marks what it stands for.
pub(crate) fn choice(
    kind: &str,
    name: &str,
    attribute: &str,
    value: &str,
    label: &str,
    checked: bool,
) -> Result<Element, JsValue> {
    let wrapper = dom::element("label", "leakguard-settings__choice")?;
    let input = dom::element("input", "")?;
    input.set_attribute("type", kind)?;
    if !name.is_empty() {
        input.set_attribute("name", name)?;
    }
    input.set_attribute(attribute, "")?;
    input.set_attribute("value", value)?;
    if checked {
        input.set_attribute("checked", "")?;
    }
    wrapper.append_child(&input)?;
    add(&wrapper, text("span", "", label))?;
    Ok(wrapper)
}

/// The whole form for `settings`; the scope lists are filled by [`draw_scope_lists`] once the pipelines are known.
pub fn draw_form(
    settings: &NextStepSettings,
    users: &[Choice],
    groups: &[Choice],
    texts: &impl Texts,
) -> Result<Element, JsValue> {
    let t = |key: &str| texts.text(key);
    let root = dom::element("div", "leakguard-settings")?;
    root.set_attribute("data-leakguard-settings", "")?;
    add(
        &root,
        text("h3", "leakguard-settings__title", &t("ui.settings.title")),
    )?;

    let main = section(&t("ui.settings.guard"))?;
    add(
        &main,
        choice(
            "checkbox",
            "",
            "data-enabled",
            "1",
            &t("ui.settings.enabled"),
            settings.enabled,
        ),
    )?;
    root.append_child(&main)?;

    let scope = section(&t("ui.settings.scope"))?;
    let mode = ScopeMode::of(&settings.scope);
    for (option, key) in [
        (ScopeMode::AllOpen, "ui.settings.scope_all"),
        (ScopeMode::Pipelines, "ui.settings.scope_pipelines"),
        (ScopeMode::Stages, "ui.settings.scope_stages"),
    ] {
        add(
            &scope,
            choice(
                "radio",
                "leakguard-scope",
                "data-scope",
                option.code(),
                &t(key),
                mode == option,
            ),
        )?;
    }
    let lists = dom::element("div", "leakguard-settings__lists")?;
    lists.set_attribute("data-scope-lists", "")?;
    add(
        &lists,
        text(
            "p",
            "leakguard-settings__hint",
            &t("ui.settings.loading_pipelines"),
        ),
    )?;
    scope.append_child(&lists)?;
    root.append_child(&scope)?;

    let exempt = section(&t("ui.settings.exemptions"))?;
    add(
        &exempt,
        choice(
            "checkbox",
            "",
            "data-admins-exempt",
            "1",
            &t("ui.settings.admins_exempt"),
            settings.admins_exempt,
        ),
    )?;
    for (title, attribute, list, chosen) in [
        (
            "ui.settings.exempt_users",
            "data-user",
            users,
            &settings.exempt_users,
        ),
        (
            "ui.settings.exempt_groups",
            "data-group",
            groups,
            &settings.exempt_groups,
        ),
    ] {
        let group = dom::element("div", "leakguard-settings__group")?;
        add(&group, text("p", "leakguard-settings__subtitle", &t(title)))?;
        for item in list {
            add(
                &group,
                choice(
                    "checkbox",
                    "",
                    attribute,
                    &item.id.to_string(),
                    &item.name,
                    chosen.contains(&item.id),
                ),
            )?;
        }
        exempt.append_child(&group)?;
    }
    root.append_child(&exempt)?;

    let tasks = section(&t("ui.settings.tasks"))?;
    let time = dom::element("label", "leakguard-settings__field")?;
    add(&time, text("span", "", &t("ui.settings.default_time")))?;
    let input = dom::element("input", "leakguard-settings__input")?;
    input.set_attribute("type", "time")?;
    input.set_attribute("data-default-time", "")?;
    input.set_attribute("value", &format_time(settings.default_time))?;
    time.append_child(&input)?;
    tasks.append_child(&time)?;
    let presets = dom::element("div", "leakguard-settings__presets")?;
    presets.set_attribute("data-presets", "")?;
    add(
        &presets,
        text(
            "p",
            "leakguard-settings__subtitle",
            &t("ui.settings.presets"),
        ),
    )?;
    for preset in &settings.presets {
        add(
            &presets,
            preset_row(&preset.label_key, preset.working_days, texts),
        )?;
    }
    tasks.append_child(&presets)?;
    let add_preset = text(
        "button",
        "leakguard-settings__add",
        &t("ui.settings.add_preset"),
    )?;
    add_preset.set_attribute("type", "button")?;
    add_preset.set_attribute("data-add-preset", "")?;
    if settings.presets.len() >= MAX_PRESETS {
        add_preset.set_attribute("disabled", "")?;
    }
    tasks.append_child(&add_preset)?;
    root.append_child(&tasks)?;

    let fail = section(&t("ui.settings.fail_mode"))?;
    let open = settings.fail_mode == FailMode::Open;
    add(
        &fail,
        choice(
            "radio",
            "leakguard-fail",
            "data-fail",
            "closed",
            &t("ui.settings.fail_closed"),
            !open,
        ),
    )?;
    add(
        &fail,
        choice(
            "radio",
            "leakguard-fail",
            "data-fail",
            "open",
            &t("ui.settings.fail_open"),
            open,
        ),
    )?;
    root.append_child(&fail)?;

    let errors = dom::element("div", "leakguard-settings__errors")?;
    errors.set_attribute("data-errors", "")?;
    errors.set_attribute("role", "alert")?;
    root.append_child(&errors)?;
    show_scope(&root, mode)?;
    Ok(root)
}

/// One preset row: the label choice, the working days and a remove button.
pub fn preset_row(
    label_key: &str,
    working_days: u32,
    texts: &impl Texts,
) -> Result<Element, JsValue> {
    let row = dom::element("div", "leakguard-settings__preset")?;
    row.set_attribute("data-preset", "")?;
    let select = dom::element("select", "leakguard-settings__input")?;
    select.set_attribute("data-preset-label", "")?;
    select.set_attribute("aria-label", &texts.text("ui.settings.preset_label"))?;
    let known = PRESET_LABELS.contains(&label_key);
    for key in PRESET_LABELS
        .iter()
        .copied()
        .chain((!known).then_some(label_key))
    {
        let label = leakguard_core::text::interpolate(&texts.text(key), &[("count", "N")]);
        let option = text("option", "", &label)?;
        option.set_attribute("value", key)?;
        if key == label_key {
            option.set_attribute("selected", "")?;
        }
        select.append_child(&option)?;
    }
    row.append_child(&select)?;
    let days = dom::element(
        "input",
        "leakguard-settings__input leakguard-settings__days",
    )?;
    days.set_attribute("type", "number")?;
    days.set_attribute("min", "0")?;
    days.set_attribute("max", "260")?;
    days.set_attribute("data-preset-days", "")?;
    days.set_attribute("aria-label", &texts.text("ui.settings.preset_days"))?;
    days.set_attribute("value", &working_days.to_string())?;
    row.append_child(&days)?;
    add(
        &row,
        text("span", "", &texts.text("ui.settings.preset_days")),
    )?;
    let remove = text("button", "leakguard-settings__remove", "×")?;
    remove.set_attribute("type", "button")?;
    remove.set_attribute("data-remove-preset", "")?;
    remove.set_attribute("aria-label", &texts.text("ui.settings.remove_preset"))?;
    row.append_child(&remove)?;
    Ok(row)
}

/// Fills the scope lists: a checkbox per pipeline and per open stage.
pub fn draw_scope_lists(
    root: &Element,
    pipelines: &[PipelineChoice],
    scope: &StageScope,
    texts: &impl Texts,
) -> Result<(), JsValue> {
    let Some(lists) = root.query_selector("[data-scope-lists]")? else {
        return Ok(());
    };
    lists.set_text_content(None);
    let (chosen_pipelines, chosen_stages): (&[u32], &[StageRef]) = match scope {
        StageScope::AllOpen => (&[], &[]),
        StageScope::Pipelines { pipeline_ids } => (pipeline_ids, &[]),
        StageScope::Stages { stages } => (&[], stages),
    };
    let by_pipeline = dom::element("div", "leakguard-settings__group")?;
    by_pipeline.set_attribute("data-list", "pipelines")?;
    add(
        &by_pipeline,
        text(
            "p",
            "leakguard-settings__subtitle",
            &texts.text("ui.settings.pipelines"),
        ),
    )?;
    let by_stage = dom::element("div", "leakguard-settings__group")?;
    by_stage.set_attribute("data-list", "stages")?;
    add(
        &by_stage,
        text(
            "p",
            "leakguard-settings__subtitle",
            &texts.text("ui.settings.stages"),
        ),
    )?;
    for pipeline in pipelines {
        let id = pipeline.id.to_string();
        add(
            &by_pipeline,
            choice(
                "checkbox",
                "",
                "data-pipeline",
                &id,
                &pipeline.name,
                chosen_pipelines.contains(&pipeline.id),
            ),
        )?;
        add(
            &by_stage,
            text("p", "leakguard-settings__pipeline", &pipeline.name),
        )?;
        for (status, name) in &pipeline.stages {
            let stage = StageRef::new(pipeline.id, *status);
            let value = format!("{}:{}", pipeline.id, status);
            add(
                &by_stage,
                choice(
                    "checkbox",
                    "",
                    "data-stage",
                    &value,
                    name,
                    chosen_stages.contains(&stage),
                ),
            )?;
        }
    }
    lists.append_child(&by_pipeline)?;
    lists.append_child(&by_stage)?;
    let mode = match scope {
        StageScope::AllOpen => ScopeMode::AllOpen,
        StageScope::Pipelines { .. } => ScopeMode::Pipelines,
        StageScope::Stages { .. } => ScopeMode::Stages,
    };
    show_scope(root, mode)
}

/// Shows the list that belongs to the chosen scope mode and hides the other.
pub fn show_scope(root: &Element, mode: ScopeMode) -> Result<(), JsValue> {
    for (list, visible) in [
        ("pipelines", mode == ScopeMode::Pipelines),
        ("stages", mode == ScopeMode::Stages),
    ] {
        if let Some(element) = root.query_selector(&format!("[data-list=\"{list}\"]"))? {
            if visible {
                element.remove_attribute("hidden")?;
            } else {
                element.set_attribute("hidden", "")?;
            }
        }
    }
    Ok(())
}

/// Shows the validation problems (or clears them).
pub fn show_problems(root: &Element, lines: &[String]) -> Result<(), JsValue> {
    let Some(errors) = root.query_selector("[data-errors]")? else {
        return Ok(());
    };
    errors.set_text_content(None);
    for line in lines {
        add(&errors, text("p", "leakguard-settings__error", line))?;
    }
    Ok(())
}
