"""One table model, several renderers: Markdown (github), plain text, CSV and JSON."""

import csv
import io
import json
from dataclasses import dataclass, field

from tabulate import tabulate

FORMATS = ("github", "plain", "csv", "json")


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
