//! Horizontal bar charts: the geometry (pure, in whole pixels) and its drawing as SVG built
//! with `createElementNS`, every text set with `textContent`.

use wasm_bindgen::JsValue;
use web_sys::{Document, Element};

/// The chart's width in pixels, its label column and the room left for the value text.
pub const WIDTH: u32 = 640;
pub const LABEL_WIDTH: u32 = 230;
pub const VALUE_WIDTH: u32 = 150;
/// The height of one row and of the bar inside it.
pub const ROW: u32 = 26;
pub const BAR: u32 = 16;
/// Labels longer than this many characters are cut with an ellipsis (the full text is the tooltip).
pub const LABEL_CHARS: usize = 34;

/// One bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bar {
    /// The label as shown, maybe shortened.
    pub label: String,
    /// The full label, for the tooltip.
    pub title: String,
    pub value_text: String,
    /// The top of the row.
    pub y: u32,
    /// The bar's length in pixels: proportional to the value, at least 2 for any value above 0.
    pub length: u32,
}

/// A chart ready to draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chart {
    pub title: String,
    pub height: u32,
    pub bars: Vec<Bar>,
}

/// The length available to the longest bar.
pub const PLOT_WIDTH: u32 = WIDTH - LABEL_WIDTH - VALUE_WIDTH;

/// A bar chart of `(label, value, value text)` rows, in the given order.
pub fn bar_chart(title: String, rows: Vec<(String, i64, String)>) -> Chart {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(0);
    let bars: Vec<Bar> = rows
        .into_iter()
        .enumerate()
        .map(|(i, (label, value, value_text))| Bar {
            label: shorten(&label, LABEL_CHARS),
            title: label,
            value_text,
            y: i as u32 * ROW,
            length: length(value, max),
        })
        .collect();
    Chart {
        title,
        height: bars.len() as u32 * ROW,
        bars,
    }
}

fn length(value: i64, max: i64) -> u32 {
    if value <= 0 || max <= 0 {
        return 0;
    }
    let scaled = i128::from(value) * i128::from(PLOT_WIDTH) / i128::from(max);
    (scaled as u32).clamp(2, PLOT_WIDTH)
}

/// `text` cut to `chars` characters, the last one an ellipsis, when it is longer.
pub fn shorten(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(chars.saturating_sub(1)).collect();
    short.push('…');
    short
}

const SVG: &str = "http://www.w3.org/2000/svg";

fn svg(document: &Document, tag: &str, attributes: &[(&str, String)]) -> Result<Element, JsValue> {
    let element = document.create_element_ns(Some(SVG), tag)?;
    for (name, value) in attributes {
        element.set_attribute(name, value)?;
    }
    Ok(element)
}

/// Draws `chart` as an `<svg>` with an accessible name.
pub fn draw(document: &Document, chart: &Chart) -> Result<Element, JsValue> {
    let root = svg(
        document,
        "svg",
        &[
            ("class", "leakguard-metrics__chart".into()),
            ("viewBox", format!("0 0 {WIDTH} {}", chart.height.max(ROW))),
            ("width", WIDTH.to_string()),
            ("height", chart.height.max(ROW).to_string()),
            ("role", "img".into()),
        ],
    )?;
    let title = svg(document, "title", &[])?;
    title.set_text_content(Some(&chart.title));
    root.append_child(&title)?;
    for bar in &chart.bars {
        let group = svg(document, "g", &[("class", "leakguard-metrics__bar".into())])?;
        let tooltip = svg(document, "title", &[])?;
        tooltip.set_text_content(Some(&format!("{}: {}", bar.title, bar.value_text)));
        group.append_child(&tooltip)?;
        let middle = bar.y + ROW / 2;
        let label = svg(
            document,
            "text",
            &[
                ("x", (LABEL_WIDTH - 8).to_string()),
                ("y", middle.to_string()),
                ("text-anchor", "end".into()),
                ("dominant-baseline", "middle".into()),
            ],
        )?;
        label.set_text_content(Some(&bar.label));
        let rect = svg(
            document,
            "rect",
            &[
                ("x", LABEL_WIDTH.to_string()),
                ("y", (bar.y + (ROW - BAR) / 2).to_string()),
                ("width", bar.length.to_string()),
                ("height", BAR.to_string()),
                ("rx", "2".into()),
            ],
        )?;
        let value = svg(
            document,
            "text",
            &[
                ("x", (LABEL_WIDTH + bar.length + 6).to_string()),
                ("y", middle.to_string()),
                ("dominant-baseline", "middle".into()),
            ],
        )?;
        value.set_text_content(Some(&bar.value_text));
        for part in [&label, &rect, &value] {
            group.append_child(part)?;
        }
        root.append_child(&group)?;
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, value: i64) -> (String, i64, String) {
        (label.to_owned(), value, value.to_string())
    }

    #[test]
    fn bars_are_proportional_and_stacked() {
        let chart = bar_chart(
            "t".into(),
            vec![row("a", 400), row("b", 100), row("c", 0), row("d", 1)],
        );
        let lengths: Vec<u32> = chart.bars.iter().map(|b| b.length).collect();
        assert_eq!(lengths, [PLOT_WIDTH, PLOT_WIDTH / 4, 0, 2]);
        let tops: Vec<u32> = chart.bars.iter().map(|b| b.y).collect();
        assert_eq!(tops, [0, ROW, 2 * ROW, 3 * ROW]);
        assert_eq!(chart.height, 4 * ROW);
    }

    #[test]
    fn empty_and_negative_values_draw_no_bar() {
        assert_eq!(bar_chart("t".into(), vec![]).height, 0);
        let chart = bar_chart("t".into(), vec![row("a", -5), row("b", 0)]);
        assert!(chart.bars.iter().all(|b| b.length == 0));
    }

    #[test]
    fn huge_values_do_not_overflow() {
        let chart = bar_chart("t".into(), vec![row("a", i64::MAX), row("b", i64::MAX / 2)]);
        assert_eq!(chart.bars[0].length, PLOT_WIDTH);
        assert!((PLOT_WIDTH / 2 - 1..=PLOT_WIDTH / 2).contains(&chart.bars[1].length));
    }

    #[test]
    fn long_labels_are_shortened_but_kept_for_the_tooltip() {
        let long = "Основная воронка / Согласование договора с юристами";
        let chart = bar_chart("t".into(), vec![row(long, 1)]);
        assert_eq!(chart.bars[0].label.chars().count(), LABEL_CHARS);
        assert!(chart.bars[0].label.ends_with('…'));
        assert_eq!(chart.bars[0].title, long);
        assert_eq!(shorten("short", 10), "short");
    }
}
