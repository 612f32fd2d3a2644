"""Plots of cells as self-contained SVG text: a verdict grid and overheads with intervals.

SVG output is made reproducible (fixed hash salt, no date, text kept as text), so a plot
regenerated from the same result files is byte-identical. Each plot carries, as a comment,
the digest of what it draws (its source data, this module's code, matplotlib's version) and
of its own text: ``reuse`` takes back plots already published whose source is unchanged and
whose text is intact, so that checking published output compares plots by their source data
instead of drawing them again (drawing is nearly all of a publish's time).
"""

import hashlib
import io
import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as pyplot  # noqa: E402

from bench.report.cells import Cell  # noqa: E402
from bench.trial.configurations import CONFIGS  # noqa: E402
from bench.trial.installed import version_tuple  # noqa: E402

VERDICT_COLOURS = {"match": "#2e7d32", "mismatch": "#c62828", "error": "#757575",
                   "unsupported": "#6a1b9a", "refused": "#8d6e63", "incomplete": "#e0e0e0"}
CONFIG_COLOURS = {"seeds": "#1565c0", "full": "#ef6c00"}
COLUMNS = [("process", config) for config in CONFIGS] + [("in-process", config) for config in CONFIGS]


def _style() -> None:
    matplotlib.rcParams.update({"svg.hashsalt": "repro-bench", "svg.fonttype": "none",
                                "font.family": "DejaVu Sans", "font.size": 9})


def _svg(figure) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    pyplot.close(figure)
    return out.getvalue()


# Plots already drawn (or published, intact): source digest -> SVG text.
_DRAWN: dict[str, str] = {}
_CODE = hashlib.sha256(open(__file__, "rb").read()).hexdigest()
MARK = re.compile(r"\n<!-- plot source:(?P<source>[0-9a-f]{64}) svg:(?P<svg>[0-9a-f]{64}) -->")
# An SVG element as published, with its mark (in a .svg file or inline in report.html).
MARKED_SVG = re.compile(r"<svg[^>]*>\n<!-- plot source:[0-9a-f]{64} svg:[0-9a-f]{64} -->.*?</svg>\n", re.DOTALL)


def _plot(kind: str, source, draw) -> str:
    """The plot ``draw()`` makes of ``source`` (JSON data: everything the plot shows), marked
    with the digests of its source and its text; taken from ``_DRAWN`` where already there."""
    key = hashlib.sha256(json.dumps([kind, source, _CODE, matplotlib.__version__], sort_keys=True,
                                    default=str).encode()).hexdigest()
    if key not in _DRAWN:
        svg = draw()
        digest = hashlib.sha256(svg.encode()).hexdigest()
        end = svg.index(">", svg.index("<svg")) + 1
        _DRAWN[key] = f"{svg[:end]}\n<!-- plot source:{key} svg:{digest} -->{svg[end:]}"
    return _DRAWN[key]


def _sorted(items) -> list:
    return sorted(items, key=lambda item: json.dumps(item, default=str))


def reuse(texts: list[str]) -> int:
    """Take back the marked plots found in published texts (SVG files, HTML pages) whose text
    is intact (its digest still matches); returns how many. A hand-edited plot is not taken
    back: it is drawn again from its source, and the check finds the published one stale."""
    prologues = [text[:text.index("<svg")] for text in texts if text.startswith("<?xml") and "<svg" in text]
    if not prologues:
        return 0
    taken = 0
    for text in texts:
        for element in MARKED_SVG.findall(text):
            mark = MARK.search(element)
            svg = prologues[0] + MARK.sub("", element, count=1)
            if hashlib.sha256(svg.encode()).hexdigest() == mark["svg"]:
                _DRAWN[mark["source"]] = prologues[0] + element
                taken += 1
    return taken


# What a plot's rows stand for: a version, and where they vary in the plot, the workload and
# the --jit-compile setting (cells that differ only in those would otherwise share a place).
ROW_FIELDS = ("tf_version", "framework", "model", "jit_compile")


def _rows(cells: list[Cell]) -> list[tuple]:
    return sorted({tuple(getattr(cell, name) for name in ROW_FIELDS) for cell in cells},
                  key=lambda row: (version_tuple(row[0]) if row[0][:1].isdigit() else (), row[1:]))


def _row_of(cell: Cell) -> tuple:
    return tuple(getattr(cell, name) for name in ROW_FIELDS)


def _row_label(row: tuple, rows: list[tuple], prefix: str = "TF ") -> str:
    varying = [index for index in range(1, len(ROW_FIELDS)) if len({other[index] for other in rows}) > 1]
    extra = " ".join(str(row[index]) if ROW_FIELDS[index] != "jit_compile" else f"jit {row[index]}"
                     for index in varying)
    return f"{prefix}{row[0]}" + (f" {extra}" if extra else "")


def verdict_grid(cells: list[Cell], device: str) -> str:
    """TF versions (rows) x protocol/config (columns): colour = verdict, text = identical k/n."""
    mine = [cell for cell in cells if cell.device == device]
    source = [device, _sorted([_row_of(c), c.protocol, c.config, c.verdict, c.identical, c.trials] for c in mine)]
    return _plot("verdict_grid", source, lambda: _verdict_grid(mine, device))


def _verdict_grid(mine: list[Cell], device: str) -> str:
    _style()
    versions = _rows(mine)
    columns = [column for column in COLUMNS if any((c.protocol, c.config) == column for c in mine)]
    figure, axes = pyplot.subplots(figsize=(1.1 * len(columns) + 1.6, 0.32 * len(versions) + 1.2))
    for row, version in enumerate(versions):
        for column, (protocol, config) in enumerate(columns):
            match = [c for c in mine if (_row_of(c), c.protocol, c.config) == (version, protocol, config)]
            if not match:
                continue
            cell = match[0]
            axes.add_patch(pyplot.Rectangle((column, row), 0.96, 0.9,
                                            color=VERDICT_COLOURS.get(cell.verdict, "#ffffff")))
            text_colour = "black" if cell.verdict == "incomplete" else "white"
            axes.text(column + 0.48, row + 0.45, f"{cell.identical}/{cell.trials}", ha="center",
                      va="center", color=text_colour, fontsize=8)
    axes.set_xlim(0, len(columns))
    axes.set_ylim(len(versions), 0)
    axes.set_xticks([index + 0.48 for index in range(len(columns))])
    axes.set_xticklabels([config if protocol == "process" else f"{config}\n(in-process)"
                          for protocol, config in columns])
    axes.set_yticks([index + 0.45 for index in range(len(versions))])
    axes.set_yticklabels([_row_label(version, versions) for version in versions])
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    handles = [pyplot.Rectangle((0, 0), 1, 1, color=colour) for colour in VERDICT_COLOURS.values()]
    axes.legend(handles, list(VERDICT_COLOURS), loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    axes.set_title(f"Bit-identical training, {device}\nidentical k/n per cell", loc="left")
    return _svg(figure)


def overhead(cells: list[Cell], device: str, protocol: str = "process") -> str:
    """Per TF version: seeds and full relative to none, with 95 % bootstrap intervals."""
    mine = [cell for cell in cells if cell.device == device and cell.protocol == protocol
            and cell.config != "none" and cell.overhead_vs_none is not None]
    source = [device, protocol, _sorted([_row_of(c), c.config, c.overhead_vs_none, c.overhead_ci_low,
                                         c.overhead_ci_high] for c in mine)]
    return _plot("overhead", source, lambda: _overhead(mine, device, protocol))


def _overhead(mine: list[Cell], device: str, protocol: str) -> str:
    _style()
    versions = _rows(mine)
    figure, axes = pyplot.subplots(figsize=(max(4.0, 0.45 * len(versions) + 2), 3.2))
    width = 0.38
    for offset, config in ((-width / 2, "seeds"), (width / 2, "full")):
        points = [(index, cell) for index, version in enumerate(versions) for cell in mine
                  if _row_of(cell) == version and cell.config == config]
        if not points:
            continue
        xs = [index + offset for index, _ in points]
        values = [cell.overhead_vs_none for _, cell in points]
        # No bar where too few runs gave no interval (bench.report.stats.MIN_RUNS_FOR_INTERVAL).
        below = [0 if cell.overhead_ci_low is None else cell.overhead_vs_none - cell.overhead_ci_low
                 for _, cell in points]
        above = [0 if cell.overhead_ci_high is None else cell.overhead_ci_high - cell.overhead_vs_none
                 for _, cell in points]
        axes.errorbar(xs, values, yerr=[below, above], fmt="o", capsize=3, markersize=4,
                      color=CONFIG_COLOURS[config], label=config)
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.set_xlim(-0.6, len(versions) - 0.4)
    axes.set_xticks(range(len(versions)))
    axes.set_xticklabels([_row_label(version, versions, prefix="") for version in versions],
                         rotation=45 if len(versions) > 6 else 0)
    axes.set_xlabel("TensorFlow")
    axes.set_ylabel("time relative to none")
    axes.legend(frameon=False)
    axes.set_title(f"Cost of control, {device}\n{protocol} protocol, median and 95 % bootstrap interval",
                   loc="left")
    return _svg(figure)


def devices(cells: list[Cell]) -> list[str]:
    return sorted({cell.device for cell in cells})


GROWTH_POINTS = 60


def growth(diagnosis: dict) -> str:
    """How the largest difference of each variable grows after two runs part (log scale)."""
    source = [diagnosis["growth"], diagnosis["cell"]["tf_version"], diagnosis["cell"]["config"], diagnosis["phase"]]
    return _plot("growth", source, lambda: _growth(diagnosis))


def _growth(diagnosis: dict) -> str:
    _style()
    figure, axes = pyplot.subplots(figsize=(6.5, 3.2))
    curves = {name: curve for name, curve in diagnosis["growth"].items() if any(point[1] > 0 for point in curve)}
    for name, curve in curves.items():
        kept = [point for point in curve if point[1] > 0]
        stride = max(1, len(kept) // GROWTH_POINTS)  # a page, not a data file: the curve's shape is enough
        kept = kept[::stride] + ([kept[-1]] if (len(kept) - 1) % stride else [])
        steps = [point[0] for point in kept]
        sizes = [point[1] for point in kept]
        axes.plot(steps, sizes, label=name, linewidth=1.2)
    axes.set_yscale("log")
    axes.set_xlabel("step")
    axes.set_ylabel("largest |Δ| between the two runs")
    axes.set_title(f"{diagnosis['cell']['tf_version']} {diagnosis['cell']['config']}: {diagnosis['phase']}", fontsize=9)
    if curves:
        axes.legend(fontsize=6, loc="lower right", ncol=2)
    return _svg(figure)
