//! The quality-control queue on the key-metrics page: every current breach the backend sees
//! (`GET <backend>/api/qc`), with acknowledge, comment and reassign. Actions show at once and
//! are undone, with a message, when the backend refuses them.

use std::rc::Rc;

use leakguard_core::text::interpolate;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlInputElement, HtmlSelectElement};

use super::{button, BackendState, Page};
use crate::backend::{age_unit, Action, Breach};
use crate::dom;
use crate::http::HttpError;

/// Where the queue stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    /// The page has not asked the backend yet.
    #[default]
    Waiting,
    /// The settings name no backend.
    NeedsBackend,
    NotInstalled,
    Loading,
    Ready,
    Failed(HttpError),
}

/// Which editor is open in a breach's row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Editor {
    Comment,
    Reassign,
}

/// The queue's part of the page state.
#[derive(Clone, Debug, Default)]
pub(super) struct QcState {
    phase: Phase,
    breaches: Vec<Breach>,
    editing: Option<(String, Editor)>,
    /// The last refused action.
    error: Option<HttpError>,
    /// How many rows are shown beyond the first page.
    more: usize,
}

/// How many breaches the table shows before "show more".
const QC_PAGE: usize = 100;

impl Page {
    fn qt(&self, key: &str) -> String {
        self.widget.text(&format!("ui.qc.{key}"))
    }

    /// A duration in its largest whole unit ("3 min").
    pub(super) fn age(&self, seconds: i64) -> String {
        let (unit, n) = age_unit(seconds);
        interpolate(
            &self.t(&format!("age.{unit}")),
            &[("n", &self.formats.count(n))],
        )
    }

    /// Reads the queue from the backend, or says why there is none.
    pub(super) fn load_queue(self: &Rc<Self>) {
        let phase = match self.state.borrow().backend {
            BackendState::Absent => Phase::NeedsBackend,
            BackendState::NotInstalled => Phase::NotInstalled,
            BackendState::Failed(error) => Phase::Failed(error),
            BackendState::Checking => Phase::Waiting,
            BackendState::Installed => Phase::Loading,
        };
        self.state.borrow_mut().qc.phase = phase;
        self.draw_queue().ok();
        let (Phase::Loading, Some(backend)) = (phase, self.backend.clone()) else {
            return;
        };
        let weak = Rc::downgrade(self);
        wasm_bindgen_futures::spawn_local(async move {
            let answer = backend.queue().await;
            let Some(page) = weak.upgrade() else { return };
            {
                let mut state = page.state.borrow_mut();
                match answer {
                    Ok(queue) => {
                        state.qc.breaches = queue.breaches;
                        state.qc.phase = Phase::Ready;
                    }
                    Err(error) => state.qc.phase = Phase::Failed(error),
                }
            }
            page.draw_queue().ok();
        });
    }

    /// A click on one of the queue's buttons.
    pub(super) fn qc_clicked(self: &Rc<Self>, action: &str, button: &Element) {
        let row = button.closest("[data-breach]").ok().flatten();
        let id = row
            .as_ref()
            .and_then(|row| row.get_attribute("data-breach"))
            .unwrap_or_default();
        let field = |name: &str| -> Option<String> {
            let element = row
                .as_ref()?
                .query_selector(&format!("[name=\"{name}\"]"))
                .ok()??;
            let value = match element.dyn_ref::<HtmlSelectElement>() {
                Some(select) => select.value(),
                None => element.dyn_ref::<HtmlInputElement>()?.value(),
            };
            Some(value.trim().to_owned()).filter(|v| !v.is_empty())
        };
        match action {
            "qc-refresh" => self.load_queue(),
            "qc-more" => {
                self.state.borrow_mut().qc.more += QC_PAGE;
                self.draw_queue().ok();
            }
            "qc-ack" => self.qc_act(&id, Action::Acknowledge, |b| b.acknowledged = true),
            "qc-comment" => self.qc_edit(id, Editor::Comment),
            "qc-reassign" => self.qc_edit(id, Editor::Reassign),
            "qc-cancel" => {
                self.state.borrow_mut().qc.editing = None;
                self.draw_queue().ok();
            }
            "qc-comment-send" => {
                if let Some(text) = field("qc-comment") {
                    self.qc_act(&id, Action::Comment(text), |b| b.comments += 1);
                }
            }
            "qc-reassign-send" => {
                let Some(user) = field("qc-manager").and_then(|v| v.parse::<u64>().ok()) else {
                    return;
                };
                let name = self
                    .state
                    .borrow()
                    .directory
                    .as_ref()
                    .and_then(|d| d.person(user).map(str::to_owned));
                self.qc_act(&id, Action::Reassign(user), move |b| {
                    b.manager_id = user;
                    b.manager_name = name;
                });
            }
            _ => {}
        }
    }

    fn qc_edit(&self, id: String, editor: Editor) {
        self.state.borrow_mut().qc.editing = Some((id, editor));
        self.draw_queue().ok();
        let input = self
            .part("qc")
            .query_selector("[name=\"qc-comment\"], [name=\"qc-manager\"]")
            .ok()
            .flatten();
        if let Some(input) = input.and_then(|i| i.dyn_into::<web_sys::HtmlElement>().ok()) {
            input.focus().ok();
        }
    }

    /// Shows `change` at once, sends `action`, and undoes the change if the backend refuses it.
    fn qc_act(self: &Rc<Self>, id: &str, action: Action, change: impl FnOnce(&mut Breach)) {
        let Some(backend) = self.backend.clone() else {
            return;
        };
        let previous = {
            let mut state = self.state.borrow_mut();
            let qc = &mut state.qc;
            let Some(breach) = qc.breaches.iter_mut().find(|b| b.id == id) else {
                return;
            };
            let previous = breach.clone();
            change(breach);
            qc.editing = None;
            qc.error = None;
            previous
        };
        self.draw_queue().ok();
        let weak = Rc::downgrade(self);
        wasm_bindgen_futures::spawn_local(async move {
            let result = backend.act(&previous.id, &action).await;
            let Some(page) = weak.upgrade() else { return };
            if let Err(error) = result {
                {
                    let mut state = page.state.borrow_mut();
                    let qc = &mut state.qc;
                    if let Some(breach) = qc.breaches.iter_mut().find(|b| b.id == previous.id) {
                        *breach = previous;
                    }
                    qc.error = Some(error);
                }
                page.draw_queue().ok();
            }
        });
    }

    /// Draws the queue's section.
    fn draw_queue(&self) -> Result<(), JsValue> {
        let state = self.state.borrow();
        let qc = &state.qc;
        let part = self.part("qc");
        part.set_text_content(None);
        part.set_attribute(
            "data-qc-state",
            match qc.phase {
                Phase::Waiting | Phase::Loading => "loading",
                Phase::NeedsBackend => "needs-backend",
                Phase::NotInstalled => "not-installed",
                Phase::Ready => "ready",
                Phase::Failed(_) => "error",
            },
        )?;
        dom::append(
            &part,
            &dom::text("h2", "leakguard-metrics__section-title", &self.qt("title"))?,
        )?;
        dom::append(
            &part,
            &dom::text("p", "leakguard-metrics__note", &self.qt("intro"))?,
        )?;
        let message = |text: &str, alert: bool| -> Result<(), JsValue> {
            let class = if alert {
                "leakguard-metrics__message leakguard-metrics__message--alert"
            } else {
                "leakguard-metrics__message"
            };
            let line = dom::text("p", class, text)?;
            line.set_attribute("data-qc-message", "")?;
            if alert {
                line.set_attribute("role", "alert")?;
            }
            dom::append(&part, &line)
        };
        let failed = |error: HttpError, key: &str| {
            interpolate(&self.qt(key), &[("status", &super::backend_status(error))])
        };
        match qc.phase {
            Phase::Waiting | Phase::Loading => return message(&self.qt("loading"), false),
            Phase::NeedsBackend => return message(&self.qt("needs_backend"), false),
            Phase::NotInstalled => return message(&self.qt("not_installed"), false),
            Phase::Failed(error) => {
                message(&failed(error, "failed"), true)?;
                return dom::append(&part, &button(&self.qt("refresh"), "qc-refresh")?);
            }
            Phase::Ready => {}
        }
        if let Some(error) = qc.error {
            message(&failed(error, "action_failed"), true)?;
        }
        let open: Vec<&Breach> = qc.breaches.iter().filter(|b| !b.acknowledged).collect();
        let count = dom::text(
            "p",
            "leakguard-metrics__note",
            &interpolate(
                &self.qt("count"),
                &[("count", &self.formats.count(open.len() as i64))],
            ),
        )?;
        count.set_attribute("data-qc-count", &open.len().to_string())?;
        dom::append(&part, &count)?;
        dom::append(&part, &button(&self.qt("refresh"), "qc-refresh")?)?;
        if open.is_empty() {
            return message(&self.qt("empty"), false);
        }
        let table = dom::element("table", "leakguard-metrics__table leakguard-metrics__qc")?;
        table.set_attribute("data-table", "qc")?;
        let head = dom::element("tr", "")?;
        for column in [
            "kind", "deal", "manager", "stage", "value", "age", "actions",
        ] {
            let th = dom::text("th", "", &self.qt(&format!("col.{column}")))?;
            th.set_attribute("scope", "col")?;
            dom::append(&head, &th)?;
        }
        let thead = dom::element("thead", "")?;
        dom::append(&thead, &head)?;
        dom::append(&table, &thead)?;
        let body = dom::element("tbody", "")?;
        let shown = QC_PAGE + qc.more;
        let left = open.len().saturating_sub(shown);
        for breach in open.into_iter().take(shown) {
            let editing = qc
                .editing
                .as_ref()
                .filter(|(id, _)| *id == breach.id)
                .map(|(_, editor)| *editor);
            dom::append(&body, &self.breach_row(breach, editing)?)?;
        }
        dom::append(&table, &body)?;
        dom::append(&part, &table)?;
        if left > 0 {
            let more = interpolate(
                &self.t("drill.more"),
                &[("count", &self.formats.count(left.min(QC_PAGE) as i64))],
            );
            dom::append(&part, &button(&more, "qc-more")?)?;
        }
        Ok(())
    }

    fn breach_row(&self, breach: &Breach, editing: Option<Editor>) -> Result<Element, JsValue> {
        let state = self.state.borrow();
        let directory = state.directory.as_deref();
        let unknown = |id: u64| interpolate(&self.t("unknown"), &[("id", &id.to_string())]);
        let tr = dom::element("tr", "")?;
        tr.set_attribute("data-breach", &breach.id)?;
        tr.set_attribute("data-kind", &breach.kind)?;
        tr.set_attribute("data-deal", &breach.deal_id.to_string())?;
        let td = |child: Element| -> Result<(), JsValue> {
            let td = dom::element("td", "")?;
            dom::append(&td, &child)?;
            dom::append(&tr, &td)
        };
        td(dom::text(
            "span",
            "",
            &self.qt(&format!("kind.{}", breach.kind)),
        )?)?;
        let name = if breach.deal_name.trim().is_empty() {
            unknown(breach.deal_id)
        } else {
            breach.deal_name.clone()
        };
        let link = dom::text("a", "js-navigate-link leakguard-metrics__deal", &name)?;
        link.set_attribute("href", &format!("/leads/detail/{}", breach.deal_id))?;
        td(link)?;
        let manager = breach
            .manager_name
            .clone()
            .or_else(|| directory.and_then(|d| d.person(breach.manager_id).map(str::to_owned)))
            .unwrap_or_else(|| unknown(breach.manager_id));
        let manager = dom::text("span", "", &manager)?;
        manager.set_attribute("data-manager", &breach.manager_id.to_string())?;
        td(manager)?;
        let stage = match (&breach.pipeline, &breach.stage) {
            (Some(pipeline), Some(stage)) => format!("{pipeline} / {stage}"),
            (None, Some(stage)) => stage.clone(),
            _ => String::new(),
        };
        td(dom::text("span", "", &stage)?)?;
        let value = dom::text(
            "span",
            "leakguard-metrics__number",
            &self.formats.money(breach.value),
        )?;
        value.set_attribute("data-value", &breach.value.to_string())?;
        td(value)?;
        td(dom::text("span", "", &self.age(breach.age_seconds))?)?;
        let actions = dom::element("div", "leakguard-metrics__qc-actions")?;
        match editing {
            Some(Editor::Comment) => {
                let input: HtmlInputElement =
                    dom::element("input", "leakguard-metrics__input")?.unchecked_into();
                input.set_type("text");
                input.set_name("qc-comment");
                input.set_max_length(2000);
                input.set_placeholder(&self.qt("comment_placeholder"));
                dom::append(&actions, &input)?;
                dom::append(&actions, &button(&self.qt("comment"), "qc-comment-send")?)?;
                dom::append(&actions, &button(&self.t("drill.close"), "qc-cancel")?)?;
            }
            Some(Editor::Reassign) => {
                let people: Vec<(String, String)> = directory
                    .map(|d| {
                        d.people
                            .iter()
                            .map(|p| (p.id.to_string(), p.name.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                dom::append(
                    &actions,
                    &super::select(
                        &self.qt("reassign_to"),
                        "qc-manager",
                        &people,
                        Some(breach.manager_id.to_string()),
                        None,
                    )?,
                )?;
                dom::append(&actions, &button(&self.qt("reassign"), "qc-reassign-send")?)?;
                dom::append(&actions, &button(&self.t("drill.close"), "qc-cancel")?)?;
            }
            None => {
                for (key, action) in [
                    ("ack", "qc-ack"),
                    ("comment", "qc-comment"),
                    ("reassign", "qc-reassign"),
                ] {
                    dom::append(&actions, &button(&self.qt(key), action)?)?;
                }
            }
        }
        if breach.comments > 0 {
            let comments = dom::text(
                "span",
                "leakguard-metrics__note",
                &interpolate(
                    &self.qt("comments"),
                    &[("count", &self.formats.count(breach.comments as i64))],
                ),
            )?;
            comments.set_attribute("data-comments", &breach.comments.to_string())?;
            dom::append(&actions, &comments)?;
        }
        td(actions)?;
        Ok(tr)
    }
}
