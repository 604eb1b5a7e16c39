//! The automations section (issue 9): stage limits per pipeline stage in working days or hours, the
//! escalation limits and the supervisor, the stuck tag per language, the overdue-task threshold, the
//! watchdog's grace period, the working-day calendar and the backend address.
//!
//! Each control holds a value of the core's `settings` types; anything unreadable becomes a value the
//! core's validation rejects, except dates, which the form reports itself (see [`apply`]).

use leakguard_core::dates::Date;
use leakguard_core::deal::StageRef;
use leakguard_core::locale::{Lang, Localized};
use leakguard_core::settings::{
    CalendarKind, Limit, Problem, StageLimit, StuckSettings, Supervisor,
};
use wasm_bindgen::JsValue;
use web_sys::Element;

use crate::config::Config;
use crate::dom;
use crate::form::Texts;
use crate::host::{Choice, PipelineChoice};
use crate::page::{all, checked, value_of};
use crate::render::{add, choice, section, text};

/// A limit as the form shows it: the number (empty for none) and the unit (`days` or `hours`).
pub fn limit_fields(limit: Option<Limit>) -> (String, &'static str) {
    match limit {
        None => (String::new(), "days"),
        Some(Limit::WorkingDays(days)) => (days.to_string(), "days"),
        Some(Limit::Hours(hours)) => (hours.to_string(), "hours"),
    }
}

/// A limit from its number and unit: empty is none; anything unreadable is out of range.
pub fn parse_limit(number: &str, unit: &str) -> Option<Limit> {
    let number = number.trim();
    if number.is_empty() {
        return None;
    }
    let value = number.parse().unwrap_or(u32::MAX);
    Some(if unit == "hours" {
        Limit::Hours(value)
    } else {
        Limit::WorkingDays(value)
    })
}

/// Dates typed as `YYYY-MM-DD`, separated by commas, spaces or new lines; the unreadable ones apart.
pub fn parse_dates(text: &str) -> (Vec<Date>, Vec<String>) {
    let mut dates = Vec::new();
    let mut bad = Vec::new();
    for item in text
        .split([',', ';', ' ', '\n', '\t'])
        .filter(|s| !s.trim().is_empty())
    {
        match item.trim().parse() {
            Ok(date) => dates.push(date),
            Err(_) => bad.push(item.trim().to_owned()),
        }
    }
    dates.sort();
    dates.dedup();
    (dates, bad)
}

/// A supervisor as the select's value: `user:<id>`, `group:<id>` or empty.
pub fn supervisor_value(supervisor: Option<Supervisor>) -> String {
    match supervisor {
        None => String::new(),
        Some(Supervisor::User { id }) => format!("user:{id}"),
        Some(Supervisor::Group { id }) => format!("group:{id}"),
    }
}

/// The supervisor of a select value.
pub fn parse_supervisor(value: &str) -> Option<Supervisor> {
    let (kind, id) = value.split_once(':')?;
    let id = id.parse().ok()?;
    match kind {
        "user" => Some(Supervisor::User { id }),
        "group" => Some(Supervisor::Group { id }),
        _ => None,
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

fn input(kind: &str, attribute: &str, value: &str, label: &str) -> Result<Element, JsValue> {
    let input = dom::element("input", "leakguard-settings__input")?;
    input.set_attribute("type", kind)?;
    input.set_attribute(attribute, "")?;
    input.set_attribute("aria-label", label)?;
    input.set_attribute("value", value)?;
    Ok(input)
}

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

/// Appends to `parent` a labelled field holding `controls`.
fn field(parent: &Element, label: &str, controls: &[Element]) -> Result<(), JsValue> {
    let field = dom::element("label", "leakguard-settings__field")?;
    add(&field, text("span", "", label))?;
    for control in controls {
        field.append_child(control)?;
    }
    parent.append_child(&field).map(drop)
}

/// The number and unit controls of a limit; `name` prefixes their attributes.
fn limit_controls(
    name: &str,
    limit: Option<Limit>,
    texts: &impl Texts,
) -> Result<[Element; 2], JsValue> {
    let (number, unit) = limit_fields(limit);
    let amount = input(
        "number",
        &format!("data-{name}"),
        &number,
        &texts.text("ui.settings.limit.amount"),
    )?;
    amount.set_attribute("min", "0")?;
    let units = [
        ("days".to_owned(), texts.text("ui.settings.limit.days")),
        ("hours".to_owned(), texts.text("ui.settings.limit.hours")),
    ];
    let unit = select(
        &format!("data-{name}-unit"),
        &texts.text("ui.settings.limit.unit"),
        &units,
        unit,
    )?;
    Ok([amount, unit])
}

/// The section for `config`; the per-stage table is filled by [`show_stages`].
pub fn draw_section(
    config: &Config,
    users: &[Choice],
    groups: &[Choice],
    texts: &impl Texts,
) -> Result<Element, JsValue> {
    let t = |key: &str| texts.text(key);
    let s = &config.settings;
    let root = dom::element("div", "leakguard-settings__automations")?;
    root.set_attribute("data-automations", "")?;

    let stuck = section(&t("ui.settings.stuck.title"))?;
    add(
        &stuck,
        choice(
            "checkbox",
            "",
            "data-stuck-enabled",
            "1",
            &t("ui.settings.stuck.enabled"),
            s.stuck.enabled,
        ),
    )?;
    field(
        &stuck,
        &t("ui.settings.stuck.default_limit"),
        &limit_controls("stuck-default", s.stuck.default_limit, texts)?,
    )?;
    field(
        &stuck,
        &t("ui.settings.stuck.default_escalation"),
        &limit_controls("stuck-escalate", s.stuck.default_escalate_after, texts)?,
    )?;
    let stages = dom::element("div", "leakguard-settings__group")?;
    stages.set_attribute("data-stage-limits", "")?;
    add(
        &stages,
        text(
            "p",
            "leakguard-settings__hint",
            &t("ui.settings.loading_pipelines"),
        ),
    )?;
    stuck.append_child(&stages)?;
    for lang in Lang::ALL {
        let tag = input(
            "text",
            &format!("data-stuck-tag-{}", lang.code()),
            raw(&s.stuck.tag, lang),
            &format!("{} ({})", t("ui.settings.stuck.tag"), lang.code()),
        )?;
        field(
            &stuck,
            &format!("{} ({})", t("ui.settings.stuck.tag"), lang.code()),
            &[tag],
        )?;
    }
    root.append_child(&stuck)?;

    let escalation = section(&t("ui.settings.escalation.title"))?;
    let people: Vec<(String, String)> =
        std::iter::once((String::new(), t("ui.settings.escalation.nobody")))
            .chain(
                users
                    .iter()
                    .map(|u| (format!("user:{}", u.id), u.name.clone())),
            )
            .chain(groups.iter().map(|g| {
                (
                    format!("group:{}", g.id),
                    leakguard_core::text::interpolate(
                        &t("ui.settings.escalation.group"),
                        &[("name", &g.name)],
                    ),
                )
            }))
            .collect();
    let supervisor = select(
        "data-supervisor",
        &t("ui.settings.escalation.supervisor"),
        &people,
        &supervisor_value(s.escalation.supervisor),
    )?;
    field(
        &escalation,
        &t("ui.settings.escalation.supervisor"),
        &[supervisor],
    )?;
    add(
        &escalation,
        choice(
            "checkbox",
            "",
            "data-overdue-enabled",
            "1",
            &t("ui.settings.overdue.enabled"),
            s.overdue_tasks.enabled,
        ),
    )?;
    field(
        &escalation,
        &t("ui.settings.overdue.after"),
        &limit_controls("overdue", Some(s.overdue_tasks.escalate_after), texts)?,
    )?;
    let grace = input(
        "number",
        "data-watchdog-grace",
        &s.next_step.watchdog_grace_minutes.to_string(),
        &t("ui.settings.watchdog_grace"),
    )?;
    grace.set_attribute("min", "0")?;
    field(&escalation, &t("ui.settings.watchdog_grace"), &[grace])?;
    root.append_child(&escalation)?;

    let calendar = section(&t("ui.settings.calendar.title"))?;
    for (kind, code, key) in [
        (CalendarKind::Auto, "auto", "ui.settings.calendar.auto"),
        (
            CalendarKind::Russian,
            "russian",
            "ui.settings.calendar.russian",
        ),
        (
            CalendarKind::Custom,
            "custom",
            "ui.settings.calendar.custom",
        ),
    ] {
        add(
            &calendar,
            choice(
                "radio",
                "leakguard-calendar",
                "data-calendar-kind",
                code,
                &t(key),
                s.calendar.kind == kind,
            ),
        )?;
    }
    let weekend = dom::element("div", "leakguard-settings__group")?;
    add(
        &weekend,
        text(
            "p",
            "leakguard-settings__subtitle",
            &t("ui.settings.calendar.weekend"),
        ),
    )?;
    for day in 1..=7u8 {
        add(
            &weekend,
            choice(
                "checkbox",
                "",
                "data-weekend",
                &day.to_string(),
                &t(&format!("ui.settings.calendar.day{day}")),
                s.calendar.weekend.contains(&day),
            ),
        )?;
    }
    calendar.append_child(&weekend)?;
    for (attribute, key, dates) in [
        (
            "data-holidays",
            "ui.settings.calendar.holidays",
            &s.calendar.holidays,
        ),
        (
            "data-extra-days",
            "ui.settings.calendar.extra_days",
            &s.calendar.extra_working_days,
        ),
    ] {
        let area = dom::element("textarea", "leakguard-settings__input")?;
        area.set_attribute(attribute, "")?;
        area.set_attribute("aria-label", &t(key))?;
        area.set_attribute("placeholder", "2026-01-01, 2026-01-02")?;
        let listed: Vec<String> = dates.iter().map(ToString::to_string).collect();
        area.set_text_content(Some(&listed.join(", ")));
        field(&calendar, &t(key), &[area])?;
    }
    root.append_child(&calendar)?;

    let backend = section(&t("ui.settings.backend_title"))?;
    let url = input(
        "url",
        "data-backend-url",
        &config.backend_url,
        &t("ui.settings.backend_url"),
    )?;
    url.set_attribute("placeholder", "https://")?;
    field(&backend, &t("ui.settings.backend_url"), &[url])?;
    add(
        &backend,
        text(
            "p",
            "leakguard-settings__hint",
            &t("ui.settings.backend_hint"),
        ),
    )?;
    // Filled while a push of the saved settings to the backend is pending (see `crate::backend`).
    let pending = text("p", "leakguard-settings__hint", "")?;
    pending.set_attribute("data-backend-push", "")?;
    pending.set_attribute("hidden", "")?;
    backend.append_child(&pending)?;
    root.append_child(&backend)?;
    Ok(root)
}

/// Fills the per-stage limits: one row per open stage with its own limit and escalation (empty: the defaults).
pub fn show_stages(
    root: &Element,
    pipelines: &[PipelineChoice],
    stuck: &StuckSettings,
    texts: &impl Texts,
) -> Result<(), JsValue> {
    let Some(list) = root.query_selector("[data-stage-limits]")? else {
        return Ok(());
    };
    list.set_text_content(None);
    add(
        &list,
        text(
            "p",
            "leakguard-settings__subtitle",
            &texts.text("ui.settings.stuck.stages"),
        ),
    )?;
    for pipeline in pipelines {
        add(
            &list,
            text("p", "leakguard-settings__pipeline", &pipeline.name),
        )?;
        for (status, name) in &pipeline.stages {
            let stage = StageRef::new(pipeline.id, *status);
            let own = stuck.stages.iter().find(|limit| limit.stage == stage);
            let row = dom::element("div", "leakguard-settings__preset")?;
            row.set_attribute("data-stage-limit", &format!("{}:{status}", pipeline.id))?;
            add(&row, text("span", "leakguard-settings__reason", name))?;
            for control in limit_controls("stage-limit", own.and_then(|l| l.limit), texts)? {
                row.append_child(&control)?;
            }
            for control in
                limit_controls("stage-escalate", own.and_then(|l| l.escalate_after), texts)?
            {
                row.append_child(&control)?;
            }
            list.append_child(&row)?;
        }
    }
    Ok(())
}

/// Writes the section's controls into `config`; answers the problems only the form can see (unreadable dates).
pub fn apply(root: &Element, config: &mut Config) -> Vec<Problem> {
    let Ok(Some(section)) = root.query_selector("[data-automations]") else {
        return Vec::new();
    };
    let s = &mut config.settings;
    let flag = |selector| !checked(&section, selector).is_empty();
    let limit = |name: &str, scope: &Element| {
        parse_limit(
            &value_of(scope, &format!("[data-{name}]")),
            &value_of(scope, &format!("[data-{name}-unit]")),
        )
    };
    s.stuck.enabled = flag("[data-stuck-enabled]");
    s.stuck.default_limit = limit("stuck-default", &section);
    s.stuck.default_escalate_after = limit("stuck-escalate", &section);
    let rows = all(&section, "[data-stage-limit]");
    if !rows.is_empty() {
        let shown: Vec<StageLimit> = rows
            .iter()
            .filter_map(|row| {
                let (pipeline, status) = row
                    .get_attribute("data-stage-limit")?
                    .split_once(':')
                    .map(|(p, s)| (p.to_owned(), s.to_owned()))?;
                Some(StageLimit {
                    stage: StageRef::new(pipeline.parse().ok()?, status.parse().ok()?),
                    limit: limit("stage-limit", row),
                    escalate_after: limit("stage-escalate", row),
                })
            })
            .collect();
        // Stages the board no longer shows keep their stored limits; shown ones take the form's.
        s.stuck
            .stages
            .retain(|own| !shown.iter().any(|l| l.stage == own.stage));
        s.stuck.stages.extend(
            shown
                .into_iter()
                .filter(|l| l.limit.is_some() || l.escalate_after.is_some()),
        );
    }
    let tag = |lang: Lang| value_of(&section, &format!("[data-stuck-tag-{}]", lang.code()));
    s.stuck.tag = Localized::new(
        &tag(Lang::Ru),
        &tag(Lang::En),
        &tag(Lang::Es),
        &tag(Lang::Pt),
    );
    s.escalation.supervisor = parse_supervisor(&value_of(&section, "[data-supervisor]"));
    s.overdue_tasks.enabled = flag("[data-overdue-enabled]");
    // An empty threshold is out of range, which validation reports.
    s.overdue_tasks.escalate_after = limit("overdue", &section).unwrap_or(Limit::WorkingDays(0));
    s.next_step.watchdog_grace_minutes = value_of(&section, "[data-watchdog-grace]")
        .trim()
        .parse()
        .unwrap_or(u32::MAX);
    s.calendar.kind = match checked(&section, "[data-calendar-kind]")
        .first()
        .map(String::as_str)
    {
        Some("russian") => CalendarKind::Russian,
        Some("custom") => CalendarKind::Custom,
        _ => CalendarKind::Auto,
    };
    s.calendar.weekend = checked(&section, "[data-weekend]")
        .iter()
        .filter_map(|day| day.parse().ok())
        .collect();
    let mut problems = Vec::new();
    for (attribute, path, dates) in [
        (
            "[data-holidays]",
            "calendar.holidays",
            &mut s.calendar.holidays,
        ),
        (
            "[data-extra-days]",
            "calendar.extra_working_days",
            &mut s.calendar.extra_working_days,
        ),
    ] {
        let (parsed, bad) = parse_dates(&value_of(&section, attribute));
        *dates = parsed;
        if !bad.is_empty() {
            problems.push(Problem {
                path: path.to_owned(),
                key: "ui.settings.error.date",
            });
        }
    }
    config.backend_url = value_of(&section, "[data-backend-url]").trim().to_owned();
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_and_write_as_the_controls_do() {
        assert_eq!(parse_limit("", "days"), None);
        assert_eq!(parse_limit(" 3 ", "days"), Some(Limit::WorkingDays(3)));
        assert_eq!(parse_limit("12", "hours"), Some(Limit::Hours(12)));
        assert_eq!(
            parse_limit("soon", "days"),
            Some(Limit::WorkingDays(u32::MAX))
        );
        assert_eq!(
            limit_fields(Some(Limit::Hours(8))),
            ("8".to_owned(), "hours")
        );
        assert_eq!(limit_fields(None), (String::new(), "days"));
    }

    #[test]
    fn dates_are_read_and_the_unreadable_ones_reported() {
        let (dates, bad) = parse_dates("2026-01-02, 2026-01-01\n2026-01-02 31.12.2026");
        let text: Vec<String> = dates.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["2026-01-01", "2026-01-02"]);
        assert_eq!(bad, ["31.12.2026"]);
    }

    #[test]
    fn supervisors_round_trip_through_the_select() {
        for supervisor in [
            None,
            Some(Supervisor::User { id: 3 }),
            Some(Supervisor::Group { id: 401001 }),
        ] {
            assert_eq!(parse_supervisor(&supervisor_value(supervisor)), supervisor);
        }
        assert_eq!(parse_supervisor("team:1"), None);
    }
}
