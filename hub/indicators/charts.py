"""Charts drawn on the server as SVG: horizontal bars, one per row of a table, each with its value written out.

Contract: ``bar_chart(table) -> str`` returns an ``<svg>`` element (markup, already escaped) for the table's
``chart`` column, without its ``Total`` row: no script, no external resource, no inline CSS (presentation
attributes only, which the pages' CSP allows), readable without colour (one dark fill, every value in text,
masked values written "< 5" or "masqué" with no bar). ``role="img"`` with a ``<title>`` and a ``<desc>``
listing the values; the page shows the same figures as a table next to it.
"""

from __future__ import annotations

from html import escape

from hub.indicators.report import Table

WIDTH, LABEL_W, VALUE_W, BAR_H, GAP, TOP, CHARS = 680, 280, 70, 22, 8, 8, 34
FILL, TEXT = "#1f3a5f", "#111111"


def bar_chart(table: Table) -> str:
    column = table.chart
    header = table.columns[column][1]
    rows = [(label, cells[column]) for key, label, cells in table.rows if key != "*"]
    values = [cell.value for _, cell in rows if isinstance(cell.value, int | float)]
    top = 100.0 if table.percent else max([*values, 1])
    span = WIDTH - LABEL_W - VALUE_W
    height = TOP * 2 + max(len(rows), 1) * (BAR_H + GAP)
    chart_id = f"graphique-{table.id}"
    desc = "; ".join(f"{label} : {cell.text}" for label, cell in rows) or "Aucune donnée sur la période."
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" aria-labelledby="{chart_id}-t {chart_id}-d" class="chart">',
             f'<title id="{chart_id}-t">{escape(table.title)} — {escape(header)}</title>',
             f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
             f'<line x1="{LABEL_W}" y1="{TOP // 2}" x2="{LABEL_W}" y2="{height - TOP // 2}" stroke="{TEXT}" '
             'stroke-width="1"/>']
    if not rows:
        parts.append(f'<text x="{LABEL_W + 8}" y="{TOP + BAR_H - 6}" fill="{TEXT}" font-size="13">'
                     "Aucune donnée sur la période.</text>")
    for i, (label, cell) in enumerate(rows):
        y = TOP + i * (BAR_H + GAP)
        text_y = y + BAR_H - 6
        short = label if len(label) <= CHARS else label[:CHARS - 1] + "…"
        parts.append(f'<text x="{LABEL_W - 8}" y="{text_y}" text-anchor="end" fill="{TEXT}" font-size="13">'
                     f"{escape(short)}</text>")
        width = 0.0
        if isinstance(cell.value, int | float) and top > 0:
            width = max(span * float(cell.value) / top, 1.0 if cell.value else 0.0)
            parts.append(f'<rect x="{LABEL_W + 1}" y="{y}" width="{width:.1f}" height="{BAR_H}" fill="{FILL}"/>')
        parts.append(f'<text x="{LABEL_W + 1 + width + 6:.1f}" y="{text_y}" fill="{TEXT}" font-size="13">'
                     f"{escape(cell.text)}</text>")
    parts.append("</svg>")
    return "".join(parts)
