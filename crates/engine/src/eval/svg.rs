//! A dependency-free SVG bar chart of an evaluation report: one group of bars per metric,
//! one bar per ranker.

use super::EvalReport;

/// A named metric and how to read it from a ranker's row.
type Metric = (&'static str, fn(&super::RankerMetrics) -> f64);

const COLOURS: [&str; 7] = ["#8c8c8c", "#e4a11b", "#2a7ab9", "#3f9d5a", "#b5476b", "#6a4fb3", "#17a2b8"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Renders the report's metrics per ranker as an SVG document.
pub fn render_svg(report: &EvalReport) -> String {
    let metrics: [Metric; 6] = [
        ("precision", |m| m.precision),
        ("recall", |m| m.recall),
        ("ndcg", |m| m.ndcg),
        ("map", |m| m.map),
        ("coverage", |m| m.coverage),
        ("novelty/10", |m| m.novelty / 10.0),
    ];
    let n = report.rankers.len().max(1);
    let (bar, gap, top, left, height) = (18.0, 26.0, 50.0, 50.0, 240.0);
    let group_w = bar * n as f64 + gap;
    let width = left + group_w * metrics.len() as f64 + 20.0;
    let max =
        report.rankers.iter().flat_map(|r| metrics.iter().map(move |(_, f)| f(r))).fold(0.0f64, f64::max).max(1e-9);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"11\">\n",
        w = width,
        h = top + height + 60.0
    );
    s += &format!(
        "<text x=\"{left}\" y=\"20\" font-size=\"14\">Luna rankers at k={} ({} users)</text>\n",
        report.k, report.users_evaluated
    );
    s += &format!(
        "<line x1=\"{left}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"#333\"/>\n",
        y = top + height,
        x2 = width - 10.0
    );
    for (gi, (name, f)) in metrics.iter().enumerate() {
        let gx = left + gi as f64 * group_w;
        for (ri, r) in report.rankers.iter().enumerate() {
            let v = f(r);
            let h = height * v / max;
            let x = gx + ri as f64 * bar;
            s += &format!(
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{h:.1}\" fill=\"{c}\"><title>{r} {name}: {v:.4}</title></rect>\n",
                y = top + height - h,
                bw = bar - 2.0,
                c = COLOURS[ri % COLOURS.len()],
                r = esc(&r.ranker),
            );
        }
        s += &format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            gx + bar * n as f64 / 2.0,
            top + height + 15.0,
            esc(name)
        );
    }
    for (ri, r) in report.rankers.iter().enumerate() {
        let x = left + ri as f64 * 110.0;
        let y = top + height + 40.0;
        s += &format!(
            "<rect x=\"{x}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{}\"/>",
            y - 9.0,
            COLOURS[ri % COLOURS.len()]
        );
        s += &format!("<text x=\"{:.1}\" y=\"{y:.1}\">{}</text>\n", x + 14.0, esc(&r.ranker));
    }
    s += "</svg>\n";
    s
}
