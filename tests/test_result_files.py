"""Result files as the worker side writes and reads them: non-finite floats exact and strict
JSON, and a reader that answers any damaged document with Damaged (one line), never another
exception (seeded random damage to real documents of every schema). No TensorFlow."""

import copy
import json
import random
import struct

import pytest

from bench import results
from bench.report.cells import build_cells
from bench.trial import floats, result_file
from tests.conftest import REPO

pytestmark = pytest.mark.unit

DOCUMENTS = [REPO / "tests/fixtures/golden-run/trials/local--process--seeds--r01.json",       # schema 2, ok
             next((REPO / "tests/fixtures/golden-timeouts/trials").glob("*.json")),           # a timeout
             REPO / "results/local-cpu-tf2.21/trials/local--process--none--r01.json"]         # schema 1
ODD_VALUES = [None, 0, -1, 0.5, 2**70, True, "", "x", "NaN", "Infinity", [], [None], {}, {"name": 1},
              float("nan"), float("inf")]


def nan_with(bits):
    return struct.unpack(">d", bytes.fromhex(bits))[0]


@pytest.mark.parametrize("value", [float("nan"), -float("nan"), float("inf"), -float("inf"),
                                   nan_with("7ff4000000000001"), nan_with("fff0000000000abc"), 0.1, -0.0, 1e308])
def test_every_float_survives_the_file_bit_for_bit(value):
    text = json.dumps(floats.encode(value), allow_nan=False)
    assert floats.bits(floats.decode(json.loads(text))) == floats.bits(value)


def test_identical_nans_are_the_same_and_other_bits_are_not():
    assert floats.same(float("nan"), float("nan"))
    assert not floats.same(float("nan"), -float("nan")) and not floats.same(0.0, -0.0)


def test_a_result_with_nan_losses_is_strict_json_and_reads_back_exactly(tmp_path):
    document = result_file.read(str(DOCUMENTS[0]))
    document["runs"][0]["history"]["loss"] = [float("nan"), -float("nan"), float("inf")]
    document["spec"]["epochs"] = 3
    for metric in document["runs"][0]["history"]:
        document["runs"][0]["history"][metric] = document["runs"][0]["history"]["loss"]
    document["runs"][0]["epoch_seconds"] = [0.1, 0.1, 0.1]
    path = tmp_path / "trial.json"
    result_file.write(str(path), document)
    assert '"NaN"' in path.read_text() and "NaN," not in path.read_text().replace('"NaN",', "")
    read = result_file.read(str(path))
    assert [floats.bits(value) for value in read["runs"][0]["history"]["loss"]] == \
        [floats.bits(value) for value in document["runs"][0]["history"]["loss"]]
    path.write_text(path.read_text().replace('"NaN"', "NaN", 1))
    with pytest.raises(result_file.Damaged, match="bare NaN"):
        result_file.read(str(path))


def _paths(node, prefix=()):
    yield prefix
    members = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in members:
        yield from _paths(value, prefix + (key,))


def test_any_damage_to_a_document_is_damaged_never_another_error(tmp_path):
    chance = random.Random(22)
    path = tmp_path / "trial.json"
    for round_number in range(3000):
        original = json.loads(DOCUMENTS[round_number % len(DOCUMENTS)].read_text())
        document, places = copy.deepcopy(original), list(_paths(original))[1:]
        for _ in range(chance.randint(1, 3)):
            place = chance.choice(places)
            parent = document
            try:
                for key in place[:-1]:
                    parent = parent[key]
                if chance.random() < 0.2 and isinstance(parent, dict):
                    del parent[place[-1]]
                else:
                    parent[place[-1]] = copy.deepcopy(chance.choice(ODD_VALUES))
            except (KeyError, IndexError, TypeError):
                continue
        path.write_text(json.dumps(document))
        try:
            read = result_file.read(str(path))
        except result_file.Damaged as damage:
            assert "\n" not in str(damage)
            continue
        # what reads as valid, the report can use
        [cell] = build_cells([results.Loaded(read, tmp_path / "trials" / "x.json")])
        assert cell.trials == 1
