"""One table model, several renderers: Markdown (github), plain text, CSV, JSON and HTML.

Cells carry free text from trial files (device and machine names, file names, error
messages), so every renderer escapes for its format: Markdown punctuation and HTML in
github, control characters in plain text, formulas in CSV, markup characters in JSON and
HTML. No trial file can put markup into a table, a README block or a page.
"""

import csv
import io
import json
import re
from html import escape
from dataclasses import dataclass, field

from tabulate import tabulate

from bench.trial import floats

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
        return json_text(table.records) + "\n"
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
    text = markdown if fmt == "github" else plain
    parts = [tabulate([[text(cell) for cell in row] for row in table.rows], headers=[text(h) for h in table.headers],
                      tablefmt=fmt, disable_numparse=True)]
    if table.caption:
        parts += ["", text(table.caption)]
    if table.legend:  # the suite's own words, written for both formats
        parts += ["", table.legend]
    if table.notes:
        parts += ["", "Notes:", *(_note(note, text) for note in table.notes)]
    return "\n".join(parts) + "\n"


# Markdown's markup characters (and HTML's): shown as themselves, never as markup.
_MARKDOWN = re.compile(r"([\\`*_\[\]|<>#!~])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def markdown(text: str) -> str:
    """Text as Markdown shows it literally: markup characters backslash-escaped, HTML's
    special characters as entities, line breaks and control characters as spaces."""
    text = _CONTROL.sub(" ", str(text).replace("\n", " ").replace("\r", " "))
    return _MARKDOWN.sub(lambda match: {"<": "&lt;", ">": "&gt;"}.get(match.group(1), "\\" + match.group(1)),
                         text.replace("&", "&amp;"))


def plain(text: str) -> str:
    """Text for a terminal: control characters (escape sequences) made visible, not obeyed."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group(0)):02x}", str(text))


def _note(note: str, text) -> str:
    """A note line ("- ..."): its bullet kept, its text escaped."""
    return "- " + text(note[2:]) if note.startswith("- ") else text(note)


def json_text(value) -> str:
    """Strict JSON (a NaN or infinity as its text, bench.trial.floats) whose strings cannot
    close or open markup where it is embedded (<, >, & escaped)."""
    return (json.dumps(_finite(value), indent=1, allow_nan=False).replace("<", "\\u003c")
            .replace(">", "\\u003e").replace("&", "\\u0026"))


def _finite(value):
    if isinstance(value, float):
        return floats.encode(value)
    if isinstance(value, dict):
        return {key: _finite(member) for key, member in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(member) for member in value]
    return value


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json_text(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # a spreadsheet would run it as a formula
    return value


def html_fragment(table: Table) -> str:
    """The table, its caption, legend and notes as HTML (text escaped, no external assets)."""
    cleaned = [[_CONTROL.sub(" ", str(cell)) for cell in row] for row in table.rows]
    parts = ['<div class="table">' + tabulate(cleaned, headers=table.headers, tablefmt="html",  # escapes <>&
                                               disable_numparse=True) + "</div>"]
    if table.caption:
        parts.append(f'<p class="caption">{escape(table.caption)}</p>')
    if table.legend:
        parts.append(f'<pre class="legend">{escape(table.legend)}</pre>')
    if table.notes:
        items = "".join(f"<li>{escape(note.removeprefix('- '))}</li>" for note in table.notes)
        parts.append(f'<p class="notes">Notes:</p><ul class="notes">{items}</ul>')
    return "\n".join(parts) + "\n"
