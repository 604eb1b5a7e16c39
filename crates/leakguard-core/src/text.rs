//! Message templates: `{name}` placeholders filled from a parameter list.

/// Replaces each `{name}` in `template` with the value of `name` in `params`.
///
/// Unknown placeholders and unmatched braces stay as written, and inserted values are not scanned
/// again. Nothing is HTML-escaped: the shell only ever sets text with `textContent`.
pub fn interpolate(template: &str, params: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after
            .find(['{', '}'])
            .filter(|&end| after.as_bytes()[end] == b'}')
            .and_then(|end| {
                params
                    .iter()
                    .find(|(key, _)| *key == &after[..end])
                    .map(|(_, value)| (end, *value))
            });
        match value {
            Some((end, value)) => {
                out.push_str(value);
                rest = &after[end + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::interpolate;

    #[test]
    fn placeholders_are_replaced() {
        assert_eq!(
            interpolate("{count} deals without a next step", &[("count", "3")]),
            "3 deals without a next step"
        );
        assert_eq!(interpolate("{a}{b}{a}", &[("a", "x"), ("b", "y")]), "xyx");
        assert_eq!(
            interpolate("Просрочено: {n} — {user}", &[("n", "2"), ("user", "Анна")]),
            "Просрочено: 2 — Анна"
        );
    }

    #[test]
    fn unknown_placeholders_and_stray_braces_stay() {
        assert_eq!(
            interpolate("{missing} and {count}", &[("count", "1")]),
            "{missing} and 1"
        );
        assert_eq!(interpolate("{ {count}", &[("count", "1")]), "{ 1");
        assert_eq!(interpolate("{{count}}", &[("count", "1")]), "{1}");
        assert_eq!(interpolate("open { only", &[]), "open { only");
        assert_eq!(interpolate("}{", &[]), "}{");
        assert_eq!(interpolate("{}", &[("", "empty")]), "empty");
        assert_eq!(interpolate("", &[("a", "b")]), "");
    }

    #[test]
    fn values_are_inserted_verbatim_and_not_rescanned() {
        assert_eq!(interpolate("{a}", &[("a", "{b}"), ("b", "no")]), "{b}");
        assert_eq!(
            interpolate("{name}", &[("name", "<b>&amp;</b>")]),
            "<b>&amp;</b>"
        );
    }
}
