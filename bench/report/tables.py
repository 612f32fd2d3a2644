"""One table model, several renderers: Markdown (github), a terminal's (terminal), plain text,
CSV, JSON and HTML.

Cells carry free text from trial files (device and machine names, file names, error
messages), so every renderer escapes for its format: Markdown punctuation and HTML in
github, control characters in plain text, formulas in CSV, markup characters in JSON and
HTML. No trial file can put markup into a table, a README block or a page.
"""

import csv
import io
import json
import re
import textwrap
from html import escape
from dataclasses import dataclass, field

from tabulate import tabulate

from bench.console import WIDTH, fitted

from bench.trial import floats

FORMATS = ("github", "plain", "csv", "json", "html", "terminal")


@dataclass
class Table:
    headers: list[str]                 # column titles as shown
    rows: list[list[str]]              # cells as shown (github, plain)
    records: list[dict]                # the same rows with raw values (csv, json)
    caption: str = ""                  # what is the same for every row
    legend: str = ""
    notes: list[str] = field(default_factory=list)   # footnotes: failures, warnings
    # What a terminal shows (format terminal): the first ``keys`` columns say what a row is of
    # (TF, device, ...; one with the same value in every row moves into the caption); columns
    # ``hidden`` are left to the files; ``optional`` ones (a title, or a tuple of titles that go
    # together) leave, first to last, while the table is wider than the terminal; ``short``: a
    # column's title there (lines may break); ``brief_notes``: the notes as a terminal shows
    # them (repeats merged; None: the notes, each once).
    keys: int = 0
    hidden: tuple = ()
    optional: tuple = ()
    short: dict = field(default_factory=dict)
    brief_notes: list[str] | None = None


def render(table: Table, fmt: str = "github", width: int = WIDTH) -> str:
    """The table in a format; ``width``: the columns the terminal format fits in."""
    if fmt == "terminal":
        return terminal(table, width)
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


def terminal(table: Table, width: int = WIDTH) -> str:
    """The table for a person at a terminal: no Markdown (text shown as it is, control
    characters made visible), every line at most ``width`` columns: what is the same in every
    row said once above the legend, the columns that matter (the rest: the other formats),
    long cells wrapped, notes that repeat merged. Legend and notes are the suite's words."""
    headers = [_line(header) for header in table.headers]
    rows = [[_line(cell) for cell in row] for row in table.rows]
    folded = [index for index in range(min(table.keys, len(headers)))
              if rows and len({row[index] for row in rows}) == 1]
    kept = [index for index in range(len(headers)) if index not in folded and table.headers[index] not in table.hidden]
    titles = {index: plain(table.short.get(table.headers[index], table.headers[index])) for index in kept}
    left_out = [headers[index] for index in range(len(headers)) if table.headers[index] in table.hidden]
    keys = [index for index in kept if index < table.keys]
    for index in sorted(keys, key=lambda index: -max((_cell_width(row[index]) for row in rows), default=0)):
        if _table_width(kept, titles, rows) <= width:  # a key that the other keys tell already, where too wide
            break
        others = [other for other in keys if other != index]
        if others and _determines(others, index, rows):
            keys.remove(index)
            kept.remove(index)
            left_out.append(headers[index])
    dropped: list[list[int]] = []
    for names in table.optional:  # the least needed columns go first, while the table is too wide
        if _table_width(kept, titles, rows) <= width:
            break
        group = [table.headers.index(name) for name in ((names,) if isinstance(names, str) else names)
                 if name in table.headers and table.headers.index(name) in kept]
        if group:
            kept = [index for index in kept if index not in group]
            dropped.append(group)
    for group in reversed(dropped[:-1]):  # a narrower one that fits again, now that a wider one left
        if _table_width(sorted(kept + group), titles, rows) <= width:
            kept = sorted(kept + group)
            dropped.remove(group)
    left_out += [headers[index] for group in dropped for index in group]
    limits = _limits(kept, titles, rows, width)
    while len(kept) > 1 and _table_width(kept, titles, rows, limits) > width:  # still too wide: the last columns go
        last = next((index for index in reversed(kept) if index >= table.keys), kept[-1])
        kept.remove(last)
        left_out.append(headers[last])
        limits = _limits(kept, titles, rows, width)
    parts = [_terminal_grid(kept, titles, rows, limits)] if kept and rows else []
    same = [f"{headers[index]} {rows[0][index]}" for index in folded]
    caption = plain(table.caption)
    if same:
        prefix = "Same for every row: "
        rest = caption[len(prefix):] if caption.startswith(prefix) else ""
        caption = prefix + ", ".join(same) + (", " + rest if rest else "." + (" " + caption if caption else ""))
    if caption:
        parts += ["", fitted(caption, width)]
    if left_out:
        parts += [("" if caption else "\n") + fitted(f"Not shown here: {', '.join(left_out)} (every column: "
                                                      "--format github, plain, csv, json or html).", width)]
    if table.legend:
        parts += ["", fitted(table.legend, width)]
    notes = table.brief_notes if table.brief_notes is not None else list(dict.fromkeys(table.notes))
    if notes:
        parts += ["", "Notes:", *(fitted(_note(note, plain), width) for note in notes)]
    return "\n".join(parts) + "\n"


def _line(text: str) -> str:
    """A cell as one line of plain text (a trial file's line breaks and tabs as spaces)."""
    return plain(str(text).replace("\r\n", " ").replace("\n", " ").replace("\t", " "))


def _determines(columns: list[int], column: int, rows: list[list[str]]) -> bool:
    """Whether the values in ``columns`` tell that in ``column`` (one value for each of theirs)."""
    told: dict[tuple, str] = {}
    return all(told.setdefault(tuple(row[index] for index in columns), row[column]) == row[column] for row in rows)


def _cell_width(text: str) -> int:
    return max((len(line) for line in text.split("\n")), default=0)


def _table_width(kept: list[int], titles: dict, rows: list[list[str]], limits: dict | None = None) -> int:
    """The width of the terminal grid: columns two spaces apart."""
    limits = limits or {}
    widths = [min(max([_cell_width(titles[index])] + [_cell_width(row[index]) for row in rows]),
                  limits.get(index, 10**6)) for index in kept]
    return sum(widths) + 2 * max(len(widths) - 1, 0)


def _limits(kept: list[int], titles: dict, rows: list[list[str]], width: int) -> dict:
    """Where the grid is still too wide: how narrow each widest column is made (its text then
    wraps at spaces), narrowing the widest first, none below 10 columns or its longest word."""
    limits: dict[int, int] = {}
    natural = {index: max([_cell_width(titles[index])] + [_cell_width(row[index]) for row in rows]) for index in kept}
    floor = {index: max(10, *(len(word) for text in [titles[index], *(row[index] for row in rows)]
                               for word in text.split() or [""]))
             for index in kept}
    while True:
        excess = _table_width(kept, titles, rows, limits) - width
        narrowable = [index for index in kept if limits.get(index, natural[index]) > floor[index]]
        if excess <= 0 or not narrowable:
            return limits
        widest = max(narrowable, key=lambda index: limits.get(index, natural[index]))
        current = limits.get(widest, natural[widest])
        others = [limits.get(index, natural[index]) for index in narrowable if index != widest]
        target = max(current - excess, max(others, default=0), floor[widest])
        limits[widest] = target if target < current else current - 1


def _terminal_grid(kept: list[int], titles: dict, rows: list[list[str]], limits: dict) -> str:
    """Columns two spaces apart, titles underlined; a cell wider than its column's limit
    wrapped at spaces, and then rows set apart by a blank line."""
    def wrap(text: str, index: int) -> list[str]:
        limit = limits.get(index)
        if limit is None:
            return text.split("\n")
        return [wrapped for line in text.split("\n")
                for wrapped in textwrap.wrap(line, limit, break_on_hyphens=False) or [""]]
    header = [wrap(titles[index], index) for index in kept]
    cells = [[wrap(row[index], index) for index in kept] for row in rows]
    widths = [max(len(line) for column in [title, *(row[number] for row in cells)] for line in column)
              for number, title in enumerate(header)]

    def block(columns: list[list[str]], top: bool = False) -> list[str]:
        height = max(len(column) for column in columns)
        padded = [([""] * (height - len(column)) + column) if top else column + [""] * (height - len(column))
                  for column in columns]  # titles sit on the rule, cells hang from the row's top
        return ["  ".join(line.ljust(width) for line, width in zip(lines, widths)).rstrip()
                for lines in zip(*padded)]
    out = block(header, top=True) + ["  ".join("-" * width for width in widths)]
    apart = any(len(column) > 1 for row in cells for column in row)
    for number, row in enumerate(cells):
        out += ([""] if apart and number else []) + block(row)
    return "\n".join(out)


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
