"""One table model, several renderers: Markdown (github), plain text, CSV and JSON."""

import csv
import io
import json
from html import escape
from dataclasses import dataclass, field

from tabulate import tabulate

FORMATS = ("github", "plain", "csv", "json", "html")


@dataclass
class Table:
    headers: list[str]                 # column titles as shown
    rows: list[list[str]]              # cells as shown (github, plain)
    records: list[dict]                # the same rows with raw values (csv, json)
    caption: str = ""                  # what is the same for every row
    legend: str = ""
    notes: list[str] = field(default_factory=list)   # footnotes: failures, warnings


def render(table: Table, fmt: str = "github") -> str:
    if fmt == "json":
        return json.dumps(table.records, indent=1) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        if table.records:
            writer = csv.DictWriter(out, fieldnames=list(table.records[0]), lineterminator="\n",
                                    extrasaction="ignore")
            writer.writeheader()
            writer.writerows({key: _csv_value(value) for key, value in record.items()}
                             for record in table.records)
        return out.getvalue()
    if fmt == "html":
        return html_fragment(table)
    parts = [tabulate(table.rows, headers=table.headers, tablefmt=fmt, disable_numparse=True)]
    for extra in (table.caption, table.legend):
        if extra:
            parts += ["", extra]
    if table.notes:
        parts += ["", "Notes:", *table.notes]
    return "\n".join(parts) + "\n"


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return value


def html_fragment(table: Table) -> str:
    """The table, its caption, legend and notes as HTML (text escaped, no external assets)."""
    parts = ['<div class="table">' + tabulate(table.rows, headers=table.headers, tablefmt="html",
                                               disable_numparse=True) + "</div>"]
    if table.caption:
        parts.append(f'<p class="caption">{escape(table.caption)}</p>')
    if table.legend:
        parts.append(f'<pre class="legend">{escape(table.legend)}</pre>')
    if table.notes:
        items = "".join(f"<li>{escape(note.removeprefix('- '))}</li>" for note in table.notes)
        parts.append(f'<p class="notes">Notes:</p><ul class="notes">{items}</ul>')
    return "\n".join(parts) + "\n"
