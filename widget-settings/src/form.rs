//! The next-step section of the settings form as plain values: what its controls hold, how that becomes the next-step settings,
//! and how the core's validation problems read to an admin.

use leakguard_core::deal::StageRef;
use leakguard_core::settings::{
    FailMode, NextStepSettings, Preset, Problem, StageScope, TimeOfDay,
};
use leakguard_core::text::interpolate;

/// What the form needs from its surroundings: the language file.
pub trait Texts {
    /// The text of a dotted `ui.*` key in the user's language.
    fn text(&self, key: &str) -> String;
}

/// The label keys an admin can pick for a preset (the last one counts working days with `{count}`).
pub const PRESET_LABELS: [&str; 4] = [
    "ui.preset.tomorrow",
    "ui.preset.in_two_days",
    "ui.preset.in_a_week",
    "ui.preset.in_working_days",
];

/// Which stages the guard applies to, as the radio buttons say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScopeMode {
    #[default]
    AllOpen,
    Pipelines,
    Stages,
}

impl ScopeMode {
    /// The radio value.
    pub fn code(self) -> &'static str {
        match self {
            ScopeMode::AllOpen => "all_open",
            ScopeMode::Pipelines => "pipelines",
            ScopeMode::Stages => "stages",
        }
    }

    /// The mode of a radio value (anything unknown is "all open stages").
    pub fn from_code(code: &str) -> ScopeMode {
        match code {
            "pipelines" => ScopeMode::Pipelines,
            "stages" => ScopeMode::Stages,
            _ => ScopeMode::AllOpen,
        }
    }

    /// The mode of saved settings.
    pub fn of(scope: &StageScope) -> ScopeMode {
        match scope {
            StageScope::AllOpen => ScopeMode::AllOpen,
            StageScope::Pipelines { .. } => ScopeMode::Pipelines,
            StageScope::Stages { .. } => ScopeMode::Stages,
        }
    }
}

/// What the form's controls hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormValues {
    pub enabled: bool,
    pub scope: ScopeMode,
    pub pipelines: Vec<u32>,
    pub stages: Vec<StageRef>,
    pub exempt_users: Vec<u64>,
    pub exempt_groups: Vec<u64>,
    pub admins_exempt: bool,
    /// The time input's value, `HH:MM`.
    pub default_time: String,
    /// `(label key, working days as typed)`.
    pub presets: Vec<(String, String)>,
    pub fail_open: bool,
}

/// A time input value as a time of day; anything unreadable becomes an out-of-range time, so the
/// core's validation reports it instead of the form guessing.
pub fn parse_time(value: &str) -> TimeOfDay {
    let parsed = value.trim().split_once(':').and_then(|(h, m)| {
        let hour: u8 = h.parse().ok()?;
        let minute: u8 = m.get(..2).unwrap_or(m).parse().ok()?;
        Some(TimeOfDay::new(hour, minute))
    });
    parsed.unwrap_or(TimeOfDay::new(u8::MAX, 0))
}

/// A time of day as the time input shows it.
pub fn format_time(time: TimeOfDay) -> String {
    format!("{:02}:{:02}", time.hour, time.minute)
}

/// Writes the form's values into `settings`, keeping the fields the form does not show.
pub fn apply(values: &FormValues, settings: &mut NextStepSettings) {
    settings.enabled = values.enabled;
    settings.scope = match values.scope {
        ScopeMode::AllOpen => StageScope::AllOpen,
        ScopeMode::Pipelines => StageScope::Pipelines {
            pipeline_ids: values.pipelines.clone(),
        },
        ScopeMode::Stages => StageScope::Stages {
            stages: values.stages.clone(),
        },
    };
    settings.exempt_users = values.exempt_users.clone();
    settings.exempt_groups = values.exempt_groups.clone();
    settings.admins_exempt = values.admins_exempt;
    settings.default_time = parse_time(&values.default_time);
    settings.presets = values
        .presets
        .iter()
        .map(|(label_key, days)| Preset {
            label_key: label_key.clone(),
            // An unreadable number is out of range, which validation reports.
            working_days: days.trim().parse().unwrap_or(u32::MAX),
        })
        .collect();
    settings.fail_mode = if values.fail_open {
        FailMode::Open
    } else {
        FailMode::Closed
    };
}

/// The i18n key naming the form field (or section) a problem path belongs to, if the form shows it.
fn field_key(path: &str) -> Option<&'static str> {
    let (section, rest) = path.split_once('.').unwrap_or((path, ""));
    let field = rest.split(['.', '[']).next().unwrap_or_default();
    Some(match (section, field) {
        ("next_step", "scope") => "ui.settings.scope",
        ("next_step", "exempt_users") => "ui.settings.exempt_users",
        ("next_step", "exempt_groups") => "ui.settings.exempt_groups",
        ("next_step", "default_time") => "ui.settings.default_time",
        ("next_step", "presets") => "ui.settings.presets",
        ("next_step", "watchdog_grace_minutes") => "ui.settings.watchdog_grace",
        ("refusals", "rules") => "ui.settings.refusals.rule",
        ("refusals", _) => "ui.settings.refusals.title",
        ("stuck", "stages") => "ui.settings.stuck.stage",
        ("stuck", "tag") => "ui.settings.stuck.tag",
        ("stuck", _) => "ui.settings.stuck.title",
        ("overdue_tasks", _) => "ui.settings.overdue.title",
        ("escalation", "supervisor") => "ui.settings.escalation.supervisor",
        ("escalation", _) => "ui.settings.escalation.title",
        ("calendar", _) => "ui.settings.calendar.title",
        ("payments", "editors") => "ui.settings.payments.editors",
        ("payments", "gate_stages") => "ui.settings.payments.gates",
        ("payments", "margin_plan" | "margin_rows") => "ui.settings.payments.margin_row",
        ("payments", "default_time") => "ui.settings.payments.default_time",
        ("payments", "reminder_task_text") => "ui.settings.payments.reminder_text",
        ("payments", _) => "ui.settings.payments.title",
        ("backend_url", _) => "ui.settings.backend_url",
        _ => return None,
    })
}

/// One problem as a line for the admin: the field's name (or the setting's path) and the message.
pub fn problem_line(problem: &Problem, texts: &impl Texts) -> String {
    let field =
        field_key(&problem.path).map_or_else(|| problem.path.clone(), |key| texts.text(key));
    let number = problem
        .path
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .and_then(|(index, _)| index.parse::<usize>().ok())
        .map(|index| (index + 1).to_string());
    let field = match number {
        Some(number) if field_key(&problem.path).is_some() => format!("{field} {number}"),
        _ => field,
    };
    interpolate(
        &texts.text("ui.settings.problem"),
        &[("field", &field), ("message", &texts.text(problem.key))],
    )
}

#[cfg(test)]
mod tests {
    use leakguard_core::settings::{problem, Settings};

    use super::*;

    fn values() -> FormValues {
        FormValues {
            enabled: true,
            scope: ScopeMode::Stages,
            pipelines: vec![7],
            stages: vec![StageRef::new(7, 70), StageRef::new(7, 71)],
            exempt_users: vec![3],
            exempt_groups: vec![401001],
            admins_exempt: true,
            default_time: "09:30".into(),
            presets: vec![
                ("ui.preset.tomorrow".into(), "1".into()),
                ("ui.preset.in_working_days".into(), " 3 ".into()),
            ],
            fail_open: true,
        }
    }

    #[test]
    fn the_form_values_become_settings_and_keep_the_rest() {
        let mut settings = NextStepSettings {
            watchdog_grace_minutes: 45,
            ..NextStepSettings::default()
        };
        apply(&values(), &mut settings);
        assert_eq!(
            settings.scope,
            StageScope::Stages {
                stages: vec![StageRef::new(7, 70), StageRef::new(7, 71)]
            }
        );
        assert_eq!(settings.exempt_users, [3]);
        assert_eq!(settings.exempt_groups, [401001]);
        assert!(settings.admins_exempt && settings.enabled);
        assert_eq!(settings.default_time, TimeOfDay::new(9, 30));
        assert_eq!(settings.presets[1].working_days, 3);
        assert_eq!(settings.fail_mode, FailMode::Open);
        assert_eq!(
            settings.watchdog_grace_minutes, 45,
            "fields the form does not show are kept"
        );
        let all = Settings {
            next_step: settings,
            ..Settings::default()
        };
        assert_eq!(all.validate(), []);
    }

    #[test]
    fn unreadable_input_is_left_for_validation_to_report() {
        let mut settings = NextStepSettings::default();
        let mut bad = values();
        bad.default_time = "soon".into();
        bad.presets = vec![("ui.preset.in_working_days".into(), "two".into())];
        bad.scope = ScopeMode::Pipelines;
        bad.pipelines.clear();
        apply(&bad, &mut settings);
        let all = Settings {
            next_step: settings,
            ..Settings::default()
        };
        let paths: Vec<(String, &str)> = all
            .validate()
            .into_iter()
            .map(|p| (p.path, p.key))
            .collect();
        assert_eq!(
            paths,
            [
                ("next_step.scope.pipeline_ids".to_owned(), problem::REQUIRED),
                (
                    "next_step.default_time.hour".to_owned(),
                    problem::OUT_OF_RANGE
                ),
                (
                    "next_step.presets[0].working_days".to_owned(),
                    problem::OUT_OF_RANGE
                ),
            ]
        );
    }

    #[test]
    fn times_are_read_and_written_as_the_time_input_does() {
        assert_eq!(parse_time("10:00"), TimeOfDay::new(10, 0));
        assert_eq!(parse_time("07:45:00"), TimeOfDay::new(7, 45));
        assert_eq!(parse_time("").hour, u8::MAX);
        assert_eq!(format_time(TimeOfDay::new(9, 5)), "09:05");
        assert_eq!(
            ScopeMode::from_code(ScopeMode::Stages.code()),
            ScopeMode::Stages
        );
        assert_eq!(ScopeMode::from_code("?"), ScopeMode::AllOpen);
    }

    struct English;

    impl Texts for English {
        fn text(&self, key: &str) -> String {
            match key {
                "ui.settings.problem" => "{field}: {message}",
                "ui.settings.presets" => "Preset",
                "ui.settings.scope" => "Stages",
                "ui.settings.stuck.tag" => "Stuck tag",
                "ui.settings.refusals.rule" => "Refusal rule",
                "ui.settings.error.out_of_range" => "the value is out of range",
                "ui.settings.error.required" => "choose at least one",
                other => other,
            }
            .to_owned()
        }
    }

    #[test]
    fn problems_name_the_field_and_the_preset_number() {
        let line = |path: &str, key| {
            problem_line(
                &Problem {
                    path: path.into(),
                    key,
                },
                &English,
            )
        };
        assert_eq!(
            line("next_step.presets[1].working_days", problem::OUT_OF_RANGE),
            "Preset 2: the value is out of range"
        );
        assert_eq!(
            line("next_step.scope.pipeline_ids", problem::REQUIRED),
            "Stages: choose at least one"
        );
        assert_eq!(
            line("stuck.tag.en", problem::REQUIRED),
            "Stuck tag: choose at least one"
        );
        assert_eq!(
            line("refusals.rules[2].copy_to.status_id", problem::REQUIRED),
            "Refusal rule 3: choose at least one"
        );
        assert_eq!(
            line("payments.margin_plan[0].scope", problem::REQUIRED),
            "ui.settings.payments.margin_row 1: choose at least one"
        );
        assert_eq!(
            line("unknown.path", problem::REQUIRED),
            "unknown.path: choose at least one"
        );
    }
}
