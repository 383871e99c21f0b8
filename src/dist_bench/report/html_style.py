"""The HTML page's style sheet: inline CSS, no font or file from the network."""

STYLE = """
:root {
  --ink: #1d2433; --muted: #5b6478; --line: #e3e6ee; --paper: #ffffff; --wash: #f6f7fb;
  --accent: #3451b2; --win: #1a7f37; --win-bg: #e6f4ea; --loss: #b42318; --loss-bg: #fdecea;
  --even-bg: #f0f1f5; --warn: #8a5a00; --warn-bg: #fff6e0;
}
* { box-sizing: border-box; }
html { background: var(--wash); }
body {
  margin: 0; color: var(--ink); line-height: 1.5; font-size: 15px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "Noto Sans", "DejaVu Sans", sans-serif;
}
header.top { background: var(--ink); color: #fff; padding: 28px 0 18px; }
.wrap { max-width: 1240px; margin: 0 auto; padding: 0 28px; }
.eyebrow { margin: 0; text-transform: uppercase; letter-spacing: .08em; font-size: 12px;
  color: #aab4d4; font-weight: 600; }
h1 { margin: 4px 0 6px; font-size: 28px; line-height: 1.25; font-weight: 700; }
header .meta { margin: 0; color: #cdd3e6; font-size: 14px; }
nav { margin-top: 14px; display: flex; flex-wrap: wrap; gap: 6px; }
nav a { color: #fff; text-decoration: none; font-size: 13px; padding: 3px 10px;
  border: 1px solid #4a5570; border-radius: 999px; }
nav a:hover { background: #2e3850; }
main { padding: 8px 0 40px; }
section.card { background: var(--paper); border: 1px solid var(--line); border-radius: 10px;
  padding: 6px 26px 22px; margin: 22px 0; }
h2 { font-size: 21px; margin: 18px 0 8px; }
h3 { font-size: 16px; margin: 24px 0 8px; }
p.lead { color: var(--muted); margin: 0 0 14px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 6px 0 4px; }
th, td { padding: 6px 9px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12.5px;
  background: var(--wash); border-bottom: 1px solid #cfd4e0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:hover { background: #fafbfe; }
td.backend { font-weight: 600; white-space: nowrap; }
.table-scroll { overflow-x: auto; }
.ok { color: var(--win); font-weight: 600; }
.bad { color: var(--loss); font-weight: 700; }
td.win { background: var(--win-bg); color: var(--win); }
td.loss { background: var(--loss-bg); color: var(--loss); }
td.even { background: var(--even-bg); }
th.size { text-align: center; }
td.glance { text-align: center; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.glance small { display: block; color: var(--muted); font-size: 11.5px; }
.legend { font-size: 13px; color: var(--muted); margin: 8px 0 0; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 3px;
  vertical-align: -1px; margin: 0 4px 0 10px; }
figure { margin: 10px 0 6px; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 12px; }
.plots img { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 8px;
  background: #fff; }
a { color: var(--accent); }
figcaption { font-size: 13px; color: var(--muted); margin-top: 6px; }
ul.findings { list-style: none; padding: 0; margin: 8px 0 0; }
ul.findings li { padding: 5px 0 5px 0; border-bottom: 1px dashed var(--line); }
ul.findings li:last-child { border-bottom: 0; }
ul.crossovers li { font-weight: 600; border-left: 3px solid var(--accent); padding-left: 10px;
  border-bottom: 0; margin: 4px 0; }
section.projection h2 { color: var(--warn); }
.tag { display: inline-block; font-size: 11.5px; font-weight: 600; padding: 1px 8px;
  border-radius: 999px; background: #e8ecf8; color: var(--accent); text-decoration: none;
  margin-right: 6px; white-space: nowrap; }
.who { font-weight: 600; margin-right: 4px; }
li.row-group { color: var(--muted); font-size: 12.5px; font-weight: 600; padding-top: 10px; }
div.lesson { background: var(--wash); border-left: 4px solid var(--accent); padding: 4px 14px;
  margin: 10px 0 14px; border-radius: 6px; }
ul.checks { list-style: none; padding: 0; margin: 4px 0 8px; }
ul.checks li { padding: 3px 8px; margin: 3px 0; border-radius: 4px; }
ul.checks li.matches { background: var(--win-bg); }
ul.checks li.differs { background: var(--loss-bg); }
ul.checks li.not_shown { background: var(--even-bg); }
li.remark { color: var(--warn); background: var(--warn-bg); padding-left: 8px;
  border-radius: 6px; border-bottom: 0; margin-top: 3px; }
details { margin: 4px 0; }
details > summary { cursor: pointer; list-style: none; padding: 8px 0 4px;
  border-top: 1px solid var(--line); }
details > summary::-webkit-details-marker { display: none; }
details > summary::before { content: "▸"; color: var(--muted); display: inline-block;
  width: 16px; }
details[open] > summary::before { content: "▾"; }
details > summary h3 { display: inline; margin: 0; }
details > summary span { color: var(--muted); font-size: 13.5px; margin-left: 6px; }
p.note { font-size: 12.5px; color: var(--muted); margin: 4px 0 0; }
dl.glossary { display: grid; grid-template-columns: minmax(150px, max-content) 1fr;
  gap: 6px 18px; margin: 8px 0; font-size: 14px; }
dl.glossary dt { font-weight: 600; }
dl.glossary dd { margin: 0; color: #333a4d; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono",
  monospace; font-size: 13px; background: var(--wash); padding: 1px 4px; border-radius: 4px; }
footer { color: var(--muted); font-size: 13px; padding: 0 0 30px; }
@media print { html { background: #fff; } section.card { border: 0; padding: 0; }
  header.top { background: #fff; color: var(--ink); } nav { display: none; } }
"""
