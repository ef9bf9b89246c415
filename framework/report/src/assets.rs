//! What the page inlines: the stylesheet and script of `templates/` and the
//! vendored chart library (uPlot, MIT, `templates/vendor/uplot`), so a report
//! needs no network and no file beside it; and the escaping of the charts'
//! JSON for a `<script>` block.

use serde::Serialize;

/// Stylesheets and scripts, inlined verbatim into the page.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Assets {
    pub style: &'static str,
    pub script: &'static str,
    pub chart_style: &'static str,
    pub chart_script: &'static str,
}

impl Assets {
    pub fn inlined() -> Self {
        Assets {
            style: include_str!("../../../templates/report.css"),
            script: include_str!("../../../templates/report.js"),
            chart_style: include_str!("../../../templates/vendor/uplot/uPlot.min.css"),
            chart_script: include_str!("../../../templates/vendor/uplot/uPlot.iife.min.js"),
        }
    }
}

/// `value` as JSON that can sit inside `<script type="application/json">`:
/// `<`, `>` and `&` (only ever inside JSON strings) become `\u003c`,
/// `\u003e` and `\u0026`, so no data — a product description holding
/// `</script>` or `<!--` — can end the block or open markup. `JSON.parse`
/// reads the escapes back as the original characters.
pub fn script_json(value: &impl Serialize) -> String {
    let json = serde_json::to_string(value).expect("report data serialises");
    let mut escaped = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => escaped.push_str("\\u003c"),
            '>' => escaped.push_str("\\u003e"),
            '&' => escaped.push_str("\\u0026"),
            // Valid in JSON, but line terminators in older JavaScript.
            '\u{2028}' => escaped.push_str("\\u2028"),
            '\u{2029}' => escaped.push_str("\\u2029"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_round_trips_and_cannot_close_the_script_block() {
        let text = "</script><script>alert(\"x\")</script> <!-- & \u{2028}";
        let json = script_json(&serde_json::json!({ "text": text }));
        assert!(!json.contains('<') && !json.contains('>') && !json.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["text"], text);
    }
}
