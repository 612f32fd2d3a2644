"""Every published number is regenerated from the result files committed beside it."""

import shutil

import pytest

from bench import results
from bench.commands.publish import generated as publish
from bench.report import plots
from bench.report.cells import build_cells
from tests.conftest import REPO, bench

pytestmark = pytest.mark.unit


def test_committed_tables_readme_and_docs_match_their_result_files():
    """Every generated file and block: results/, README.md, docs/ (the CLI reference too)."""
    stale = publish.publish(REPO, check=True)
    assert stale == [], f"regenerate with `python -m bench publish`: {stale}"


def test_a_hand_edited_number_is_caught(tmp_path):
    shutil.copytree(REPO / "results", tmp_path / "results")
    shutil.copy(REPO / "README.md", tmp_path / "README.md")
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    table = next((tmp_path / "results").glob("*/table.md"))
    table.write_text(table.read_text().replace("match", "matcg", 1))
    done = bench("publish", "--root", tmp_path, "--check", check=False)
    assert done.returncode == 1 and str(table) in done.stderr
    bench("publish", "--root", tmp_path)
    assert bench("publish", "--root", tmp_path, "--check", check=False).returncode == 0


def test_a_hand_edited_plot_is_caught_though_plots_are_compared_by_source(tmp_path):
    """Published plots are taken back by their source data, not drawn again, unless their own
    text was changed: an edited verdict in an SVG is drawn again from the trials and named."""
    tree = tmp_path / "results" / "local-cpu-tf2.21"
    shutil.copytree(REPO / "results" / "local-cpu-tf2.21", tree)
    plot = next((tree / "plots").glob("*-verdicts.svg"))
    plot.write_text(plot.read_text().replace(">1/2</text>", ">2/2</text>", 1))
    done = bench("publish", "--root", tmp_path, "--check", check=False)
    assert done.returncode == 1 and str(plot) in done.stderr


def test_a_plot_taken_back_is_the_plot_drawn_again():
    """What reuse takes back is byte for byte what drawing the same source makes now."""
    tree = REPO / "results" / "local-cpu-tf2.21"
    published = next((tree / "plots").glob("*-verdicts.svg")).read_text()
    plots._DRAWN.clear()
    cells = build_cells(results.load([tree]), results.diagnoses([tree]))
    assert plots.verdict_grid(cells, plots.devices(cells)[0]) == published
    plots._DRAWN.clear()
    assert plots.reuse([published]) == 1
    assert plots.verdict_grid(cells, plots.devices(cells)[0]) == published
