//! The report's HTML page: one self-contained file (inline stylesheet, inline SVG charts, no
//! script and nothing fetched from the network) made of sections of paragraphs, tables,
//! charts and code, with a table of contents at the top.
//!
//! Every piece of caller text is escaped. Charts are the SVG text of a [`Plot`], inlined and
//! scaled to the page width, with a caption and a link to the PNG beside the page.

use super::plots::Plot;

/// A whole page.
pub struct Page {
    pub title: String,
    pub sections: Vec<Section>,
}

/// One part of a page, listed in the table of contents.
pub struct Section {
    pub heading: String,
    pub blocks: Vec<Block>,
}

pub enum Block {
    /// Plain text.
    Paragraph(String),
    /// A table; cells that look like numbers are right-aligned (and so is the header of a
    /// column whose cells all do).
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// A chart: its SVG inline, its caption, and a link to its PNG (`<stem>.png`, relative,
    /// so the page is meant to sit in the directory the plot was written to).
    Plot { caption: String, plot: Plot },
    /// Preformatted text, e.g. the scenario's YAML.
    Code(String),
}

/// The page's stylesheet: a system font, a readable measure, light tables.
const STYLE: &str = "\
body{margin:0;background:#fff;color:#222;\
font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif;\
font-size:16px;line-height:1.5}
main{max-width:1100px;margin:0 auto;padding:1.5rem 1.25rem 4rem}
h1{font-size:1.8rem;margin:0 0 1rem}
h2{font-size:1.35rem;margin:2.5rem 0 .75rem;padding-bottom:.25rem;border-bottom:1px solid #e4e4e4}
nav ol{margin:.25rem 0 0;padding-left:1.5rem}
nav h2{margin-top:1rem;border:0;font-size:1.1rem}
a{color:#1f5fa6}
p{margin:.75rem 0}
.table{overflow-x:auto;margin:1rem 0}
table{border-collapse:collapse;font-size:.92rem}
th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f0f2f4}
tbody tr:nth-child(even){background:#f7f8fa}
.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1.25rem 0}
figure svg{display:block;width:100%;height:auto}
figcaption{font-size:.92rem;color:#555;margin-top:.3rem}
pre{background:#f6f8fa;border:1px solid #e4e4e4;padding:.75rem;overflow-x:auto;font-size:.88rem;line-height:1.4}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,\"DejaVu Sans Mono\",monospace}
";

impl Page {
    /// The page as one HTML document.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(64 * 1024);
        out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        out.push_str(&format!("<title>{}</title>\n", escape(&self.title)));
        out.push_str(&format!("<style>\n{STYLE}</style>\n</head>\n<body>\n<main>\n"));
        out.push_str(&format!("<h1>{}</h1>\n", escape(&self.title)));
        if !self.sections.is_empty() {
            out.push_str("<nav>\n<h2>Contents</h2>\n<ol>\n");
            for (i, section) in self.sections.iter().enumerate() {
                out.push_str(&format!(
                    "<li><a href=\"#{}\">{}</a></li>\n",
                    anchor(i),
                    escape(&section.heading)
                ));
            }
            out.push_str("</ol>\n</nav>\n");
        }
        for (i, section) in self.sections.iter().enumerate() {
            out.push_str(&format!(
                "<section id=\"{}\">\n<h2>{}</h2>\n",
                anchor(i),
                escape(&section.heading)
            ));
            for block in &section.blocks {
                render_block(&mut out, block);
            }
            out.push_str("</section>\n");
        }
        out.push_str("</main>\n</body>\n</html>\n");
        out
    }
}

/// The id of the i-th section: by position, so headings need not be unique.
fn anchor(i: usize) -> String {
    format!("section-{}", i + 1)
}

fn render_block(out: &mut String, block: &Block) {
    match block {
        Block::Paragraph(text) => out.push_str(&format!("<p>{}</p>\n", escape(text))),
        Block::Table { header, rows } => render_table(out, header, rows),
        Block::Plot { caption, plot } => {
            out.push_str("<figure>\n");
            out.push_str(&inline_svg(&plot.svg, caption));
            out.push_str(&format!(
                "<figcaption>{} <a href=\"{}\">(PNG)</a></figcaption>\n</figure>\n",
                escape(caption),
                escape(&url_path(&plot.png_file()))
            ));
        }
        Block::Code(text) => out.push_str(&format!("<pre>{}</pre>\n", escape(text))),
    }
}

fn render_table(out: &mut String, header: &[String], rows: &[Vec<String>]) {
    // A column is numeric when every non-empty body cell in it looks like a number.
    let columns = rows.iter().map(Vec::len).chain([header.len()]).max().unwrap_or(0);
    let numeric: Vec<bool> = (0..columns)
        .map(|c| {
            let mut cells = rows
                .iter()
                .filter_map(|r| r.get(c))
                .filter(|v| !v.trim().is_empty());
            let mut any = false;
            let all = cells.all(|v| {
                any = true;
                looks_numeric(v)
            });
            any && all
        })
        .collect();
    let class = |numeric: bool| if numeric { " class=\"num\"" } else { "" };
    out.push_str("<div class=\"table\"><table>\n");
    if !header.is_empty() {
        out.push_str("<thead><tr>");
        for (c, cell) in header.iter().enumerate() {
            out.push_str(&format!("<th{}>{}</th>", class(numeric[c]), escape(cell)));
        }
        out.push_str("</tr></thead>\n");
    }
    out.push_str("<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            out.push_str(&format!(
                "<td{}>{}</td>",
                class(looks_numeric(cell)),
                escape(cell)
            ));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
}

/// Whether a table cell reads as a number: optional sign, digits with an optional fraction
/// and exponent, thousands separators (`,` or `_`) and a trailing `%` allowed. "NaN", "inf"
/// and words are not numbers here.
pub fn looks_numeric(cell: &str) -> bool {
    let trimmed = cell.trim();
    let body = trimmed.strip_suffix('%').unwrap_or(trimmed).trim_end();
    let cleaned: String = body.chars().filter(|&c| c != ',' && c != '_').collect();
    let starts_well = cleaned
        .trim_start_matches(['+', '-'])
        .starts_with(|c: char| c.is_ascii_digit() || c == '.');
    let only_number_chars = cleaned
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '+' | '-' | 'e' | 'E'));
    starts_well && only_number_chars && cleaned.parse::<f64>().is_ok()
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A file name as a relative URL path: bytes outside a safe set are percent-encoded, so a
/// name with spaces or `#` still links to its file (and can never become `http:...`-like:
/// `:` is encoded too).
fn url_path(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The SVG of a plot ready to sit in the page: its root element keeps the viewBox but drops
/// the fixed width, height and namespace (HTML needs none), so the stylesheet scales it to
/// the content width; it gains role="img" and the caption as its accessible name.
fn inline_svg(svg: &str, caption: &str) -> String {
    let Some(body) = svg.trim_start().strip_prefix("<svg") else {
        // Not an SVG document: show it as text rather than inject it.
        return format!("<pre>{}</pre>\n", escape(svg));
    };
    let Some(end) = body.find('>') else {
        return format!("<pre>{}</pre>\n", escape(svg));
    };
    let (attributes, rest) = (&body[..end], &body[end + 1..]);
    let view_box = attribute(attributes, "viewBox").map(str::to_owned).or_else(|| {
        let w = attribute(attributes, "width")?;
        let h = attribute(attributes, "height")?;
        Some(format!("0 0 {w} {h}"))
    });
    let mut out = String::with_capacity(svg.len() + 128);
    out.push_str("<svg");
    if let Some(view_box) = view_box {
        out.push_str(&format!(" viewBox=\"{}\"", escape(&view_box)));
    }
    out.push_str(&format!(
        " width=\"100%\" role=\"img\" aria-label=\"{}\">",
        escape(caption)
    ));
    out.push_str(rest);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The value of `name="..."` in an element's attribute text.
fn attribute<'a>(attributes: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = attributes.find(&key)? + key.len();
    let len = attributes[start..].find('"')?;
    Some(&attributes[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVG: &str = "<svg width=\"1000\" height=\"500\" viewBox=\"0 0 1000 500\" \
        xmlns=\"http://www.w3.org/2000/svg\">\n<rect x=\"0\" y=\"0\"/>\n</svg>\n";

    fn page() -> Page {
        Page {
            title: "Run <quickstart> & \"friends\"".to_owned(),
            sections: vec![
                Section {
                    heading: "Summary & figures".to_owned(),
                    blocks: vec![
                        Block::Paragraph("a < b && c > d".to_owned()),
                        Block::Table {
                            header: vec!["metric".to_owned(), "value".to_owned()],
                            rows: vec![
                                vec!["tasks <launched>".to_owned(), "1,234".to_owned()],
                                vec!["queue delay p99".to_owned(), "12.5".to_owned()],
                                vec!["allocated".to_owned(), "-3.2e-4%".to_owned()],
                            ],
                        },
                    ],
                },
                Section {
                    heading: "Charts".to_owned(),
                    blocks: vec![
                        Block::Plot {
                            caption: "Allocation \"over\" time".to_owned(),
                            plot: Plot {
                                stem: "allocation".to_owned(),
                                svg: SVG.to_owned(),
                            },
                        },
                        Block::Plot {
                            caption: "Queue delay".to_owned(),
                            plot: Plot {
                                stem: "queue delay #1".to_owned(),
                                svg: SVG.to_owned(),
                            },
                        },
                    ],
                },
                Section {
                    heading: "Scenario".to_owned(),
                    blocks: vec![Block::Code("name: <x>\nseed: 7 & 8\n".to_owned())],
                },
            ],
        }
    }

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
        assert_eq!(escape("plain ü"), "plain ü");
        let html = page().render();
        assert!(html.contains("<title>Run &lt;quickstart&gt; &amp; &quot;friends&quot;</title>"));
        assert!(html.contains("<p>a &lt; b &amp;&amp; c &gt; d</p>"));
        assert!(html.contains("<td>tasks &lt;launched&gt;</td>"));
        assert!(html.contains("<pre>name: &lt;x&gt;\nseed: 7 &amp; 8\n</pre>"));
        assert!(html.contains("aria-label=\"Allocation &quot;over&quot; time\""));
        assert!(!html.contains("<quickstart>") && !html.contains("<x>"));
    }

    #[test]
    fn renders_every_block_kind() {
        let html = page().render();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<style>") && html.contains("max-width:1100px"));
        // The table of contents links each section.
        for (i, heading) in ["Summary &amp; figures", "Charts", "Scenario"].iter().enumerate() {
            let n = i + 1;
            assert!(html.contains(&format!("<li><a href=\"#section-{n}\">{heading}</a></li>")));
            assert!(html.contains(&format!("<section id=\"section-{n}\">\n<h2>{heading}</h2>")));
        }
        // Numbers right-aligned, and the header of an all-numeric column too.
        assert!(html.contains("<th class=\"num\">value</th>"));
        assert!(html.contains("<th>metric</th>"));
        assert!(html.contains("<td class=\"num\">1,234</td>"));
        assert!(html.contains("<td class=\"num\">-3.2e-4%</td>"));
        // Plots inline, scaled, captioned, linked to their PNG.
        assert_eq!(html.matches("<figure>").count(), 2);
        assert!(html.contains(
            "<svg viewBox=\"0 0 1000 500\" width=\"100%\" role=\"img\" aria-label=\"Queue delay\">"
        ));
        assert!(html.contains("<a href=\"allocation.png\">(PNG)</a>"));
        assert!(html.contains("<a href=\"queue%20delay%20%231.png\">(PNG)</a>"));
        assert!(html.contains("<rect x=\"0\" y=\"0\"/>"));
        assert!(html.contains("<pre>"));
        assert!(html.trim_end().ends_with("</html>"));
    }

    #[test]
    fn fetches_nothing_from_the_network() {
        let html = page().render().to_lowercase();
        for attr in ["src=", "href=", "url("] {
            for quote in ["", "\"", "'"] {
                for scheme in ["http:", "https:", "//"] {
                    let needle = format!("{attr}{quote}{scheme}");
                    assert!(!html.contains(&needle), "page fetches: {needle}");
                }
            }
        }
        assert!(!html.contains("<script") && !html.contains("<link"));
        assert!(!html.contains("http://") && !html.contains("https://"));
    }

    #[test]
    fn real_charts_inline_without_network_references() {
        use crate::report::plots::{Heatmap, LineChart, Series, heatmap, line_chart};
        let dir = std::env::temp_dir().join(format!("mesosim-html-{}", std::process::id()));
        let series = [Series {
            label: "cpus".to_owned(),
            points: vec![(0.0, 0.1), (60.0, 0.5), (120.0, 0.3)],
        }];
        let line = LineChart {
            title: "allocation",
            y_label: "allocated (fraction of total)",
            series: &series,
            y_range: None,
        };
        let cells = vec![vec![0.0, 0.5, 1.0, f64::NAN]; 3];
        let names: Vec<String> = (1..=3).map(|i| format!("agent-{i}")).collect();
        let map = Heatmap {
            title: "agents",
            y_label: "agents (by name)",
            row_labels: &names,
            start_s: 0.0,
            end_s: 120.0,
            cells: &cells,
            value_label: "allocated",
        };
        let plots = [
            line_chart(&dir, "line", &line).unwrap(),
            heatmap(&dir, "heat", &map).unwrap(),
        ];
        let page = Page {
            title: "t".to_owned(),
            sections: vec![Section {
                heading: "charts".to_owned(),
                blocks: plots
                    .into_iter()
                    .map(|plot| Block::Plot {
                        caption: plot.stem.clone(),
                        plot,
                    })
                    .collect(),
            }],
        };
        let html = page.render();
        assert_eq!(
            html.matches("<svg viewBox=\"0 0 1000 500\" width=\"100%\"")
                .count(),
            2
        );
        assert_eq!(html.matches("</svg>").count(), 2);
        assert!(!html.contains("http:") && !html.contains("https:"));
        assert!(html.contains("href=\"data:image/png;base64,"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn numbers_are_told_from_words() {
        for yes in ["0", "12.5", "-3", "+4", ".5", "1e-5", "95%", "1,234,567", " 7 "] {
            assert!(looks_numeric(yes), "{yes}");
        }
        for no in [
            "",
            "-",
            "NaN",
            "inf",
            "-inf",
            "v1",
            "12 s",
            "1.2.3",
            "%",
            "e5",
            "TASK_FINISHED",
        ] {
            assert!(!looks_numeric(no), "{no}");
        }
    }

    #[test]
    fn a_foreign_svg_is_shown_as_text() {
        let html = inline_svg("<script>alert(1)</script>", "c");
        assert!(html.starts_with("<pre>&lt;script&gt;"));
    }
}
