//! Drawing the payments section: totals, the schedule, payments and expenses tables, the unsent
//! change and the forms, all from the section's state with `textContent`.

use leakguard_core::payments::store::{record_name, RecordKind};
use leakguard_core::settings::PaymentEditors;
use leakguard_core::text::interpolate;
use wasm_bindgen::JsValue;
use web_sys::Element;

use super::{now, FormKind, OpenForm, Phase, Remind, Section, State};
use crate::dom;
use crate::form::{self, ScheduleMode, PRESETS};
use crate::http::ErrorKey;
use crate::model::{self, RowStatus};
use crate::pending::{Change, Pending};

/// The section's few layout rules, inline: the archive's stylesheet belongs to the card, and the
/// section must fit the card's narrow right column (wide tables scroll inside it).
pub(super) mod style {
    pub const ROOT: &str = "font-size:12px;max-width:100%;overflow-x:auto";
    pub const TOTALS: &str = "margin:4px 0";
    pub const TOTAL: &str = "display:flex;justify-content:space-between;gap:8px";
    pub const AMOUNT: &str = "margin:0;font-weight:bold;white-space:nowrap";
    pub const TABLE: &str = "border-collapse:collapse;width:100%;margin-top:8px";
    pub const CAPTION: &str = "text-align:left;font-weight:bold";
    pub const FIELD: &str = "display:flex;flex-direction:column;margin:4px 0;flex:1";
    pub const INPUT: &str = "width:100%;box-sizing:border-box";
    pub const PART: &str = "display:flex;gap:4px;align-items:flex-end";
}

impl Section {
    /// Draws everything for the current state.
    pub(super) fn render(&self) {
        let root = self.root.element();
        root.set_text_content(None);
        let state = self.state.borrow();
        let _ = root.set_attribute("data-state", state.phase.code());
        let _ = self.draw(root, &state);
        drop(state);
        self.preview();
    }

    fn draw(&self, root: &Element, state: &State) -> Result<(), JsValue> {
        match state.phase {
            Phase::Loading => {
                dom::text(
                    root,
                    "p",
                    "leakguard-payments__hint",
                    &self.text("ui.payments.loading"),
                )?;
                return Ok(());
            }
            Phase::NoStore => {
                dom::text(
                    root,
                    "p",
                    "leakguard-payments__hint",
                    &self.text("ui.payments.no_store"),
                )?;
                return Ok(());
            }
            Phase::Unreadable => {
                dom::text(
                    root,
                    "p",
                    "leakguard-payments__alert",
                    &self.text("ui.payments.unreadable"),
                )?
                .set_attribute("role", "alert")?;
                return Ok(());
            }
            Phase::Failed(error) => {
                let line = format!(
                    "{} {}",
                    self.text("ui.payments.load_failed"),
                    self.text(error.key())
                );
                dom::text(root, "p", "leakguard-payments__alert", &line)?
                    .set_attribute("role", "alert")?;
                dom::button(root, "retry-load", &self.text("ui.payments.retry"), None)?;
                return Ok(());
            }
            Phase::Ready => {}
        }
        let may_edit = self.may_edit();
        if !may_edit {
            let key = match self.context.settings.as_ref().map(|s| &s.payments.editors) {
                Some(PaymentEditors::Admins) => "ui.payments.read_only_admins",
                _ => "ui.payments.read_only_users",
            };
            dom::text(root, "p", "leakguard-payments__hint", &self.text(key))?
                .set_attribute("data-lg-read-only", "")?;
        }
        self.draw_pending(root, state)?;
        let view = model::view(
            &state.records,
            self.context.currency,
            now(),
            &self.context.zone,
        );
        self.draw_totals(root, &view.totals)?;
        let idle = may_edit && state.pending.is_none() && !state.saving;
        self.draw_plans(root, state, &view, idle)?;
        self.draw_entries(root, state, &view.payments, RecordKind::Payment, idle)?;
        self.draw_entries(root, state, &view.expenses, RecordKind::Expense, idle)?;
        if let Some(open) = &state.form {
            self.draw_form(root, state, open)?;
        } else if idle {
            let actions = dom::child(root, "div", "leakguard-payments__actions")?;
            dom::button(
                &actions,
                "open-schedule",
                &self.text("ui.payments.add_schedule"),
                None,
            )?;
            dom::button(
                &actions,
                "open-payment",
                &self.text("ui.payments.add_payment"),
                None,
            )?;
            dom::button(
                &actions,
                "open-expense",
                &self.text("ui.payments.add_expense"),
                None,
            )?;
        }
        Ok(())
    }

    fn describe(&self, pending: &Pending) -> String {
        let names: Vec<String> = pending
            .records()
            .iter()
            .map(|r| {
                let r = match (&pending.change, r.kind) {
                    (Change::Delete { record }, _) => {
                        record.record(r.lead_id).unwrap_or_else(|| r.clone())
                    }
                    _ => r.clone(),
                };
                let name = record_name(&r, self.context.currency, self.context.lang, None);
                match r.comment.trim() {
                    "" => name,
                    comment => format!("{name} ({comment})"),
                }
            })
            .collect();
        let prefix = match pending.change {
            Change::Delete { .. } => self.text("ui.payments.pending_delete"),
            _ => String::new(),
        };
        format!("{prefix}{}", names.join("; "))
    }

    fn draw_pending(&self, root: &Element, state: &State) -> Result<(), JsValue> {
        let Some(pending) = &state.pending else {
            return Ok(());
        };
        let banner = dom::child(root, "div", "leakguard-payments__pending")?;
        banner.set_attribute(
            "data-lg-pending",
            if state.saving { "saving" } else { "unsaved" },
        )?;
        banner.set_attribute("role", "status")?;
        if state.saving {
            dom::text(&banner, "p", "", &self.text("ui.payments.saving"))?;
        } else {
            let line = dom::text(
                &banner,
                "p",
                "leakguard-payments__alert",
                &self.text("ui.payments.not_saved"),
            )?;
            line.set_attribute("role", "alert")?;
            if let Some(error) = state.save_error {
                dom::text(
                    &banner,
                    "p",
                    "leakguard-payments__alert",
                    &self.text(error.key()),
                )?;
            }
        }
        dom::text(
            &banner,
            "p",
            "leakguard-payments__pending-what",
            &self.describe(pending),
        )?;
        if !state.saving {
            dom::button(
                &banner,
                "retry-save",
                &self.text("ui.payments.retry_save"),
                None,
            )?;
            dom::button(
                &banner,
                "discard-pending",
                &self.text("ui.payments.discard"),
                None,
            )?;
        }
        Ok(())
    }

    fn draw_totals(
        &self,
        root: &Element,
        totals: &leakguard_core::payments::Totals,
    ) -> Result<(), JsValue> {
        let list = dom::child(root, "dl", "leakguard-payments__totals")?;
        list.set_attribute("style", style::TOTALS)?;
        let overdue = if totals.overdue > 0 {
            interpolate(
                &self.text("ui.payments.overdue_days"),
                &[
                    ("amount", &self.money(totals.overdue)),
                    ("days", &totals.days_overdue.to_string()),
                ],
            )
        } else {
            self.money(0)
        };
        let mut items = vec![
            ("planned", self.money(totals.planned)),
            ("paid", self.money(totals.paid)),
            ("remaining", self.money(totals.remaining)),
            ("overdue", overdue),
            ("expenses", self.money(totals.expenses)),
            ("margin", self.money(totals.margin)),
        ];
        if totals.unallocated > 0 {
            items.push(("unallocated", self.money(totals.unallocated)));
        }
        for (key, value) in items {
            let item = dom::child(&list, "div", "leakguard-payments__total")?;
            item.set_attribute("data-total", key)?;
            item.set_attribute("style", style::TOTAL)?;
            if key == "overdue" && totals.overdue > 0 {
                item.set_attribute("data-alert", "")?;
            }
            dom::text(
                &item,
                "dt",
                "",
                &self.text(&format!("ui.payments.total.{key}")),
            )?;
            dom::text(&item, "dd", "", &value)?.set_attribute("style", style::AMOUNT)?;
        }
        Ok(())
    }

    /// A table with a caption and header cells, returning its body.
    fn table(&self, root: &Element, name: &str, heads: &[&str]) -> Result<Element, JsValue> {
        let table = dom::child(root, "table", "leakguard-payments__table")?;
        table.set_attribute("data-lg-table", name)?;
        table.set_attribute("style", style::TABLE)?;
        dom::text(
            &table,
            "caption",
            "",
            &self.text(&format!("ui.payments.table.{name}")),
        )?
        .set_attribute("style", style::CAPTION)?;
        let head = dom::child(&dom::child(&table, "thead", "")?, "tr", "")?;
        for key in heads {
            dom::text(
                &head,
                "th",
                "",
                &self.text(&format!("ui.payments.column.{key}")),
            )?
            .set_attribute("scope", "col")?;
        }
        dom::child(&table, "tbody", "")
    }

    /// Gives every data cell of `body` its column's header text as `data-label`, which the card's
    /// stylesheet shows before the value when the narrow widget column stacks the table's rows.
    fn label_cells(&self, body: &Element, heads: &[&str]) -> Result<(), JsValue> {
        let labels: Vec<String> = heads
            .iter()
            .map(|key| self.text(&format!("ui.payments.column.{key}")))
            .collect();
        let mut row = body.first_element_child();
        while let Some(current) = row {
            let mut cell = current.first_element_child();
            for (key, label) in heads.iter().zip(&labels) {
                let Some(this) = cell else { break };
                // A one-cell row ("nothing yet") spans the table and gets no label.
                if *key != "actions" && this.get_attribute("colspan").is_none() {
                    this.set_attribute("data-label", label)?;
                }
                cell = this.next_element_sibling();
            }
            row = current.next_element_sibling();
        }
        Ok(())
    }

    fn row_actions(
        &self,
        row: &Element,
        state: &State,
        id: u64,
        idle: bool,
    ) -> Result<(), JsValue> {
        let cell = dom::child(row, "td", "leakguard-payments__row-actions")?;
        if !idle {
            return Ok(());
        }
        if state.confirm == Some(id) {
            dom::text(&cell, "span", "", &self.text("ui.payments.confirm_delete"))?;
            dom::button(
                &cell,
                "confirm-delete",
                &self.text("ui.payments.yes"),
                Some(id),
            )?;
            dom::button(
                &cell,
                "cancel-delete",
                &self.text("ui.payments.no"),
                Some(id),
            )?;
        } else {
            dom::button(&cell, "edit", &self.text("ui.payments.edit"), Some(id))?;
            dom::button(&cell, "delete", &self.text("ui.payments.delete"), Some(id))?;
        }
        Ok(())
    }

    fn draw_plans(
        &self,
        root: &Element,
        state: &State,
        view: &model::View,
        idle: bool,
    ) -> Result<(), JsValue> {
        let body = self.table(
            root,
            "plans",
            &["due", "amount", "paid", "remaining", "status", "actions"],
        )?;
        if view.plans.is_empty() {
            self.empty(&body, 6)?;
        }
        for plan in &view.plans {
            let id = plan.record.id;
            let row = dom::child(&body, "tr", "")?;
            row.set_attribute("data-id", &id.to_string())?;
            for text in [
                self.date(plan.record.date),
                self.money(plan.record.amount),
                self.money(plan.paid),
                self.money(plan.remaining),
            ] {
                dom::text(&row, "td", "", &text)?;
            }
            let status = dom::child(&row, "td", "")?;
            match plan.status {
                RowStatus::Paid => {
                    row.set_attribute("data-status", "paid")?;
                    dom::text(&status, "span", "", &self.text("ui.payments.status.paid"))?;
                }
                RowStatus::Due => {
                    row.set_attribute("data-status", "due")?;
                    dom::text(&status, "span", "", &self.text("ui.payments.status.due"))?;
                }
                RowStatus::Overdue { days } => {
                    row.set_attribute("data-status", "overdue")?;
                    row.set_class_name("leakguard-payments__overdue");
                    // The card's stylesheet is not this module's: the highlight travels with the row.
                    row.set_attribute("style", "background-color:#fdecea")?;
                    let manager = crate::host::manager_name(state.deal.responsible_user_id)
                        .unwrap_or_else(|| state.deal.responsible_user_id.to_string());
                    let text = interpolate(
                        &self.text("ui.payments.status.overdue"),
                        &[("days", &days.to_string()), ("manager", &manager)],
                    );
                    dom::text(&status, "span", "", &text)?
                        .set_attribute("data-lg-manager", &manager)?;
                    match state.reminders.get(&id) {
                        Some(Remind::Sending) => {
                            dom::text(&status, "span", "", &self.text("ui.payments.reminding"))?;
                        }
                        Some(Remind::Done) => {
                            dom::text(&status, "span", "", &self.text("ui.payments.reminded"))?
                                .set_attribute("data-lg-reminded", "")?;
                        }
                        other => {
                            if let Some(Remind::Failed(error)) = other {
                                dom::text(
                                    &status,
                                    "span",
                                    "leakguard-payments__alert",
                                    &self.text(error.key()),
                                )?;
                            }
                            dom::button(
                                &status,
                                "remind",
                                &self.text("ui.payments.remind"),
                                Some(id),
                            )?;
                        }
                    }
                }
            }
            self.row_actions(&row, state, id, idle)?;
        }
        self.label_cells(
            &body,
            &["due", "amount", "paid", "remaining", "status", "actions"],
        )
    }

    fn empty(&self, body: &Element, columns: u32) -> Result<(), JsValue> {
        let cell = dom::text(
            &dom::child(body, "tr", "")?,
            "td",
            "leakguard-payments__hint",
            &self.text("ui.payments.empty"),
        )?;
        cell.set_attribute("colspan", &columns.to_string())
    }

    fn draw_entries(
        &self,
        root: &Element,
        state: &State,
        rows: &[model::EntryRow],
        kind: RecordKind,
        idle: bool,
    ) -> Result<(), JsValue> {
        let (name, heads): (&str, &[&str]) = match kind {
            RecordKind::Payment => (
                "payments",
                &["date", "amount", "planned", "comment", "actions"],
            ),
            _ => ("expenses", &["date", "amount", "comment", "actions"]),
        };
        let body = self.table(root, name, heads)?;
        if rows.is_empty() {
            self.empty(&body, heads.len() as u32)?;
        }
        for entry in rows {
            let row = dom::child(&body, "tr", "")?;
            row.set_attribute("data-id", &entry.record.id.to_string())?;
            dom::text(&row, "td", "", &self.date(entry.record.date))?;
            dom::text(&row, "td", "", &self.money(entry.record.amount))?;
            if kind == RecordKind::Payment {
                let planned = entry
                    .planned_due
                    .map_or_else(|| "—".to_owned(), |due| self.date(due));
                dom::text(&row, "td", "", &planned)?;
            }
            dom::text(&row, "td", "", &entry.record.comment)?;
            self.row_actions(&row, state, entry.record.id, idle)?;
        }
        self.label_cells(&body, heads)
    }

    /// A labelled input (`select_options` makes it a select).
    fn input(
        &self,
        parent: &Element,
        field: &str,
        label_key: &str,
        input_type: &str,
        open: &OpenForm,
        select_options: Option<&[(String, String)]>,
    ) -> Result<(), JsValue> {
        let label = dom::child(parent, "label", "leakguard-payments__field")?;
        label.set_attribute("style", style::FIELD)?;
        dom::text(&label, "span", "", &self.text(label_key))?;
        let input = match select_options {
            Some(options) => {
                let select = dom::child(&label, "select", "")?;
                for (value, text) in options {
                    dom::text(&select, "option", "", text)?.set_attribute("value", value)?;
                }
                select
            }
            None => {
                let input = dom::child(&label, "input", "")?;
                input.set_attribute("type", input_type)?;
                input
            }
        };
        input.set_attribute("data-field", field)?;
        input.set_attribute("style", style::INPUT)?;
        dom::set_value(&input, open.fields.get(field).map_or("", String::as_str));
        if open.error.as_ref().is_some_and(|e| e.field == field) {
            input.set_attribute("aria-invalid", "true")?;
        }
        Ok(())
    }

    fn draw_form(&self, root: &Element, state: &State, open: &OpenForm) -> Result<(), JsValue> {
        let box_ = dom::child(root, "div", "leakguard-payments__form")?;
        box_.set_attribute("role", "group")?;
        let (title, form_name) = match open.kind {
            FormKind::Schedule => ("ui.payments.form.schedule", "schedule"),
            FormKind::Record {
                kind: RecordKind::Payment,
                ..
            } => ("ui.payments.form.payment", "payment"),
            FormKind::Record {
                kind: RecordKind::Expense,
                ..
            } => ("ui.payments.form.expense", "expense"),
            FormKind::Record { .. } => ("ui.payments.form.plan", "plan"),
        };
        box_.set_attribute("data-lg-form", form_name)?;
        box_.set_attribute("aria-label", &self.text(title))?;
        dom::text(&box_, "h4", "", &self.text(title))?;
        match open.kind {
            FormKind::Schedule => self.draw_schedule_form(&box_, open)?,
            FormKind::Record { kind, .. } => {
                self.input(
                    &box_,
                    "amount",
                    "ui.payments.column.amount",
                    "text",
                    open,
                    None,
                )?;
                self.input(&box_, "date", "ui.payments.column.date", "date", open, None)?;
                if kind == RecordKind::Payment {
                    let mut options = vec![(String::new(), self.text("ui.payments.form.no_plan"))];
                    options.extend(
                        state
                            .records
                            .iter()
                            .filter(|r| r.kind == RecordKind::Plan)
                            .map(|r| {
                                (
                                    r.id.to_string(),
                                    format!("{} · {}", self.date(r.date), self.money(r.amount)),
                                )
                            }),
                    );
                    self.input(
                        &box_,
                        "planned",
                        "ui.payments.column.planned",
                        "",
                        open,
                        Some(&options),
                    )?;
                }
                self.input(
                    &box_,
                    "comment",
                    "ui.payments.column.comment",
                    "text",
                    open,
                    None,
                )?;
            }
        }
        if let Some(error) = &open.error {
            dom::text(
                &box_,
                "p",
                "leakguard-payments__alert",
                &self.text(error.key),
            )?
            .set_attribute("role", "alert")?;
        }
        let actions = dom::child(&box_, "div", "leakguard-payments__actions")?;
        dom::button(&actions, "save-form", &self.text("ui.payments.save"), None)?;
        dom::button(
            &actions,
            "cancel-form",
            &self.text("ui.payments.cancel"),
            None,
        )?;
        Ok(())
    }

    fn draw_schedule_form(&self, box_: &Element, open: &OpenForm) -> Result<(), JsValue> {
        let modes: Vec<(String, String)> = ScheduleMode::ALL
            .iter()
            .map(|m| {
                (
                    m.code().to_owned(),
                    self.text(&format!("ui.payments.mode.{}", m.code())),
                )
            })
            .collect();
        self.input(
            box_,
            "mode",
            "ui.payments.form.mode",
            "",
            open,
            Some(&modes),
        )?;
        let mode = ScheduleMode::from_code(open.fields.get("mode").map_or("", String::as_str));
        match mode {
            ScheduleMode::Template => {
                self.input(box_, "total", "ui.payments.form.total", "text", open, None)?;
                self.input(box_, "start", "ui.payments.form.start", "date", open, None)?;
                let presets: Vec<(String, String)> = PRESETS
                    .iter()
                    .enumerate()
                    .map(|(i, (key, _))| (i.to_string(), self.text(key)))
                    .collect();
                self.input(
                    box_,
                    "preset",
                    "ui.payments.form.preset",
                    "",
                    open,
                    Some(&presets),
                )?;
                for i in 0..form::row_count(&open.fields, "pct") {
                    let line = dom::child(box_, "div", "leakguard-payments__part")?;
                    line.set_attribute("style", style::PART)?;
                    self.input(
                        &line,
                        &format!("pct.{i}"),
                        "ui.payments.form.percent",
                        "number",
                        open,
                        None,
                    )?;
                    self.input(
                        &line,
                        &format!("days.{i}"),
                        "ui.payments.form.days",
                        "number",
                        open,
                        None,
                    )?;
                    dom::button(
                        &line,
                        "remove-part",
                        &self.text("ui.payments.remove_row"),
                        Some(i as u64),
                    )?;
                }
                dom::button(box_, "add-part", &self.text("ui.payments.add_row"), None)?;
            }
            ScheduleMode::Monthly => {
                self.input(box_, "total", "ui.payments.form.total", "text", open, None)?;
                self.input(
                    box_,
                    "start",
                    "ui.payments.form.first_due",
                    "date",
                    open,
                    None,
                )?;
                self.input(
                    box_,
                    "count",
                    "ui.payments.form.count",
                    "number",
                    open,
                    None,
                )?;
            }
            ScheduleMode::Manual => {
                for i in 0..form::row_count(&open.fields, "row_date") {
                    let line = dom::child(box_, "div", "leakguard-payments__part")?;
                    line.set_attribute("style", style::PART)?;
                    self.input(
                        &line,
                        &format!("row_date.{i}"),
                        "ui.payments.column.due",
                        "date",
                        open,
                        None,
                    )?;
                    self.input(
                        &line,
                        &format!("row_amount.{i}"),
                        "ui.payments.column.amount",
                        "text",
                        open,
                        None,
                    )?;
                    dom::button(
                        &line,
                        "remove-row",
                        &self.text("ui.payments.remove_row"),
                        Some(i as u64),
                    )?;
                }
                dom::button(box_, "add-row", &self.text("ui.payments.add_row"), None)?;
            }
        }
        dom::text(
            box_,
            "p",
            "leakguard-payments__hint",
            &self.text("ui.payments.form.preview"),
        )?;
        dom::child(box_, "ul", "leakguard-payments__preview")?
            .set_attribute("data-lg-preview", "")?;
        Ok(())
    }
}
