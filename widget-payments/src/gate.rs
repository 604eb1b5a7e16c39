//! The stage gate: a deal may enter a stage listed in `payments.gate_stages` only once every
//! planned payment is paid. The card asks before it lets a move to such a stage stand; a stage
//! that is not a gate is answered without a request, a gate stage reads the payments (2 requests),
//! and when they cannot be read the move is refused with a retry (fail closed).

use leakguard_core::deal::StageRef;
use leakguard_core::payments::store::{deal_payments, format_date};
use leakguard_core::payments::{allocate, format_money, may_enter_stage, Money};
use leakguard_core::text::interpolate;

use crate::data::{self, Context};
use crate::http::{ErrorKey, InFlight};

/// The card's answer: whether the move may stand, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// The payments are not all paid: the reason to show.
    Refused(String),
    /// The payments could not be read: the reason to show, with a retry.
    Failed(String),
}

/// Whether a gate stage matches `target`: the same status, and the same pipeline unless one of
/// them does not say (won and lost are the same ids in every pipeline).
fn matches(gate: StageRef, target: StageRef) -> bool {
    gate.status_id == target.status_id
        && (gate.pipeline_id == target.pipeline_id
            || gate.pipeline_id == 0
            || target.pipeline_id == 0)
}

/// The verdict for moving the context's deal to `target`.
pub async fn check(context: &Context, target: StageRef) -> Verdict {
    let widget = &context.widget;
    let Some(settings) = &context.settings else {
        return Verdict::Failed(widget.text("ui.payments.gate.unreadable"));
    };
    let gate = settings
        .payments
        .gate_stages
        .iter()
        .copied()
        .find(|&gate| matches(gate, target));
    let (Some(gate), true) = (gate, settings.payments.enabled) else {
        return Verdict::Allowed;
    };
    // Without a catalog no payment was ever recorded, so there is nothing unpaid.
    let Some(store) = context.store() else {
        return Verdict::Allowed;
    };
    let Ok(request) = InFlight::new() else {
        return Verdict::Failed(widget.text("ui.payments.gate.failed"));
    };
    let records = match data::load(context, &store, &request.signal()).await {
        Ok((_, records)) => records,
        Err(error) => {
            return Verdict::Failed(format!(
                "{} {}",
                widget.text("ui.payments.gate.failed"),
                widget.text(error.key())
            ))
        }
    };
    let payments = deal_payments(&records, context.currency);
    match may_enter_stage(gate, &settings.payments, &payments) {
        Ok(()) => Verdict::Allowed,
        Err(refusal) => {
            let money = |minor| format_money(Money::new(minor, context.currency), context.lang);
            let rows: Vec<String> = allocate(&payments.planned, &payments.actual)
                .rows
                .iter()
                .filter(|row| row.remaining > 0)
                .map(|row| {
                    format!(
                        "{} — {}",
                        format_date(row.due, context.lang),
                        money(row.remaining)
                    )
                })
                .collect();
            Verdict::Refused(interpolate(
                &widget.text("ui.payments.gate.refused"),
                &[
                    ("amount", &money(refusal.unpaid)),
                    ("count", &refusal.unpaid_rows.to_string()),
                    ("rows", &rows.join("; ")),
                ],
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gate_matches_its_status_in_its_pipeline_or_in_any_when_unsaid() {
        let won = StageRef::new(7, 142);
        assert!(matches(won, StageRef::new(7, 142)));
        assert!(!matches(won, StageRef::new(8, 142)));
        assert!(!matches(won, StageRef::new(7, 143)));
        assert!(matches(StageRef::new(0, 142), StageRef::new(8, 142)));
        assert!(matches(won, StageRef::new(0, 142)));
    }
}
