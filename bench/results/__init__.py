"""Read result trees back, checked against the schema (the writing side is bench.runner.tree).

Each trial counts once: a file named twice (``bench report D D``), a copy of a trial under
another name or in another folder, and a second file with the same trial id in one folder
are left out, as are trials that do not belong to their folder's plan (bench.results.folder_plan).
``bench check`` names every one of them; reports leave them out and say how many.
"""

import hashlib
import json
from pathlib import Path

from bench.results import folder_plan, traces
from bench.errors import UsageError, UserError, first_line
from bench.trial import result as result_document, result_file
from bench.trial.jsonfile import read_json


class Loaded(dict):
    """A trial result as read back: the document, and (apart from it, never one of its keys)
    the file it came from."""

    def __init__(self, document: dict, source: str):
        super().__init__(document)
        self.source = str(source)


class ResultError(UserError):
    """A result file is unreadable or does not follow the schema; the message names it."""


def trial_files(paths: list[Path]) -> list[Path]:
    files, seen = [], set()
    for path in map(Path, paths):
        if path.is_file():
            found = [path]
        elif path.is_dir():  # traced trials (diagnoses/) are never pooled with timed ones
            found = sorted(p for p in path.rglob("trials/*.json")
                           if not {".staging", "diagnoses"} & set(p.relative_to(path).parts))
        else:
            raise UsageError(f"{path}: no such file or folder; give a results folder made by `bench run`")
        for file in found:  # a folder named twice, or inside another one named, counts once
            if file.resolve() not in seen:
                seen.add(file.resolve())
                files.append(file)
    if not files:
        raise ResultError(f"no trial results under {', '.join(map(str, paths))}; run `bench run --out DIR` first")
    return files


def tree_of(result: dict) -> Path:
    """The result tree a loaded result came from (its file is TREE/trials/<id>.json)."""
    return Path(result.source).parent.parent


def scan(paths: list[Path]) -> tuple[list[dict], list[str]]:
    """Every valid trial result under the given trees or files, and a line per bad file."""
    results, problems = [], []
    for file in trial_files(paths):
        try:
            document = result_file.read(str(file))
        except result_file.Damaged as damage:
            problems.append(f"{file}: {damage}")
            continue
        except OSError as error:
            problems.append(f"{file}: cannot be read ({error.strerror or error})")
            continue
        results.append(Loaded(document, file))
    return results, problems


def load(paths: list[Path], say=None) -> list[dict]:
    """Every trial result under the given trees or files, validated and counted once; raises
    on the first bad file. ``say`` hears how many were left out (duplicates, foreign)."""
    results, problems = scan(paths)
    if problems:
        raise ResultError(problems[0])
    kept, left_out = select(results)
    if left_out and say is not None:
        say(f"note: left out {len(left_out)} trial file(s) that are duplicates or outside their folder's plan "
            f"(bench check {' '.join(map(str, paths))} names them)")
    return kept


def diagnoses(paths: list[Path]) -> list[dict]:
    """The diagnoses (bench diagnose) recorded under the given trees: DIR/diagnoses/pairs/*.json."""
    found, seen = [], set()
    for path in map(Path, paths):
        for file in sorted(path.rglob("diagnoses/pairs/*.json")) if path.is_dir() else []:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                try:
                    document = traces.from_file(read_json(str(file)))
                except (OSError, ValueError, TypeError, AttributeError) as error:
                    raise ResultError(f"{file}: not a diagnosis ({first_line(error, 'unreadable', 200)})") from None
                problem = diagnosis_problem(document)
                if problem:
                    raise ResultError(f"{file}: not a diagnosis ({problem})")
                found.append(document)
    return found


def diagnosis_problem(document: dict) -> str | None:
    """What a diagnosis file lacks that reports read, or None."""
    from bench.report.cells import KEY_DEFAULTS, KEY_FIELDS
    if not isinstance(document.get("cell"), dict) or any(name not in document["cell"] for name in KEY_FIELDS
                                                          if name not in KEY_DEFAULTS):
        return "its cell is missing or incomplete"
    if document.get("phase") not in traces.PHASES:
        return f"phase {document.get('phase')!r} is not one of {', '.join(traces.PHASES)}"
    if not (isinstance(document.get("pair"), list) and len(document["pair"]) == 2
            and all(isinstance(trial, str) for trial in document["pair"])):
        return "pair is not two trial ids"
    if not (isinstance(document.get("variables"), list) and all(isinstance(v, dict) and isinstance(v.get("name"), str)
                                                               for v in document["variables"])):
        return "variables is not a list of named variables"
    if not all(isinstance(document.get(name), (int, type(None))) for name in ("epoch", "step", "step_in_epoch")):
        return "epoch, step or step_in_epoch is not a whole number"
    return None


def select(results: list[dict]) -> tuple[list[dict], list[str]]:
    """The results that count, and a line for each one left out (and why)."""
    kept, left_out, by_content, by_tree_and_id = [], [], {}, {}
    plans: dict[Path, list[dict]] = {}
    for result in sorted(results, key=_preference):
        source = result.source
        content = _content_digest(result)
        if content in by_content:
            left_out.append(f"{source}: a copy of {by_content[content]}; counted once")
            continue
        by_content[content] = source
        tree, trial_id = tree_of(result), result["spec"]["trial_id"]
        if (tree, trial_id) in by_tree_and_id:
            left_out.append(f"{source}: a second result for trial {trial_id} in {tree} "
                            f"(beside {by_tree_and_id[tree, trial_id]}); left out")
            continue
        by_tree_and_id[tree, trial_id] = source
        if tree not in plans:
            plans[tree] = folder_plan.plans_of(tree)
        reason = folder_plan.foreign(result, plans[tree])
        if reason:
            left_out.append(f"{source}: {reason}; left out")
            continue
        kept.append(result)
    return sorted(kept, key=lambda result: result.source), left_out


def misnamed(results: list[dict]) -> list[str]:
    """Trial files whose name is not their trial id (renamed, or copied by hand)."""
    return [f"{result.source}: the file of trial {result['spec']['trial_id']} is named otherwise"
            for result in results if Path(result.source).name != result["spec"]["trial_id"] + ".json"]


def _preference(result: dict) -> tuple:
    """Which of two claimants is kept: the file named after its trial, then the first path."""
    return (Path(result.source).name != result["spec"]["trial_id"] + ".json", result.source)


def _content_digest(result: dict) -> str:
    return hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()


def problems_of(document) -> list[str]:
    """What is wrong with a trial result document (empty when it is valid)."""
    return result_document.problems(document)
