"""HTML pieces of the report: escaped tables, embedded images, sections, and the page around them.

The page is one file with inline CSS and images as ``data:`` URIs: it opens from disk in any
browser, can be mailed or attached to an issue, and needs no JavaScript (``<details>`` folds the
sample documents natively).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from html import escape
from typing import Any, Iterable, Sequence

from .plots import Plot

CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#eceff1;padding:14px 28px}
header h1{margin:0 0 4px 0;font-size:22px} header p{margin:2px 0;font-size:13px;color:#b0bec5}
nav{padding:8px 28px;background:#eceff1;font-size:13px;position:sticky;top:0;border-bottom:1px solid #cfd8dc}
nav a{margin-right:14px;color:#1565c0;text-decoration:none}
main{padding:0 28px 40px 28px;max-width:1400px}
section{margin-top:26px;border-top:1px solid #ddd}
h2{font-size:19px;margin:14px 0 8px 0} h3{font-size:15px;margin:16px 0 6px 0}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0 12px 0;background:#fff}
th,td{border:1px solid #dde;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f3f6} td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:8px 0 14px 0} figure img{max-width:100%;height:auto;border:1px solid #e3e3e3;background:#fff}
figcaption{font-size:12px;color:#555}
p.note{color:#6d4c41;font-size:13px;margin:6px 0}
pre{white-space:pre-wrap;word-break:break-word;background:#f4f4f4;padding:6px;margin:4px 0;font-size:12px;
max-height:14em;overflow:auto}
details{margin:2px 0} summary{cursor:pointer;color:#1565c0;font-size:12.5px}
.bad{color:#c62828;font-weight:bold} .good{color:#2e7d32}
"""


def esc(x: Any) -> str:
    return escape("" if x is None else str(x), quote=True)


def num(x: Any, fmt: str = "{:,}") -> str:
    if x is None:
        return "–"
    try:
        return fmt.format(x)
    except (ValueError, TypeError):
        return esc(x)


def table(head: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Iterable[int] = (),
          raw: Iterable[int] = ()) -> str:
    """Rows of cells; cells in ``numeric`` columns are right-aligned, ``raw`` ones are HTML already."""
    numeric, raw = set(numeric), set(raw)
    out = ["<table><thead><tr>", *(f"<th>{esc(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>")
        for i, cell in enumerate(row):
            body = cell if i in raw else esc(cell)
            out.append(f'<td class="n">{body}</td>' if i in numeric else f"<td>{body}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def image(plot: Plot, caption: str | None = None) -> str:
    data = base64.b64encode(plot.png).decode("ascii")
    cap = f"<figcaption>{esc(caption)} ({esc(plot.name)})</figcaption>" if caption else \
        f"<figcaption>{esc(plot.name)}</figcaption>"
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{esc(plot.alt)}" '
            f'data-file="{esc(plot.name)}" width="{plot.width}" height="{plot.height}">{cap}</figure>')


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def sample_doc(doc_id: str, source: str | None, chars: int, text: str) -> str:
    more = "…" if chars > len(text) else ""
    return (f"<div><b>{esc(doc_id)}</b> [{esc(source)}] {chars:,} chars"
            f"<pre>{esc(text)}{more}</pre></div>")


@dataclass
class Section:
    id: str
    title: str
    parts: list[str] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)

    def add(self, html: str) -> None:
        self.parts.append(html)

    def plot(self, plot: Plot, caption: str | None = None) -> None:
        self.plots.append(plot)
        self.parts.append(image(plot, caption))

    def render(self) -> str:
        return f'<section id="{esc(self.id)}"><h2>{esc(self.title)}</h2>{"".join(self.parts)}</section>'


def page(title: str, subtitle: list[str], sections: list[Section]) -> str:
    nav = "".join(f'<a href="#{esc(s.id)}">{esc(s.title)}</a>' for s in sections)
    sub = "".join(f"<p>{esc(s)}</p>" for s in subtitle)
    body = "".join(s.render() for s in sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head>"
            f"<body><header><h1>{esc(title)}</h1>{sub}</header><nav>{nav}</nav><main>{body}</main></body></html>\n")
