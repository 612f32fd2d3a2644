"""GPU trials held against the catalog's GPU facts (``bench check``).

The catalog says, per TF version, which kernels its official GPU build carries and what a GPU
of each compute capability should therefore see (bench.environments.catalog.gpu_expectation),
each fact with its source and none yet verified on a device. A tf.keras trial on a GPU is a
measurement of that fact: where what it saw contradicts it, the catalog is wrong (or the
image is not the official build), and check says which fact, with its source.

What a trial saw: PTX compiled at start-up (its log's warning, or the driver's PTX compiler
loaded into the process), the build unsupported on that GPU (an ``unsupported`` trial), or it
ran (ok). A trial that ran without either sign of PTX says nothing against "ptx-jit": a warm
JIT cache hides the compile, and the warning can be silenced.
"""

from bench.environments import catalog
from bench.errors import UserError


def observed(result: dict) -> str | None:
    """What a GPU trial saw of its build's kernels: ptx-jit, unsupported, ran, or None (no GPU)."""
    device = result.get("device") or (result.get("runner") or {}).get("device") or {}
    if device.get("kind") != "gpu":
        return None
    if result["status"] == "unsupported":
        return "unsupported"
    findings = (result.get("runner") or {}).get("log_findings") or {}
    if findings.get("ptx_jit") or (result.get("loaded") or {}).get("ptx_jit_compiler_loaded"):
        return "ptx-jit"
    return "ran" if result["status"] == "ok" else None


def contradiction(result: dict) -> str | None:
    """The catalog fact a tf.keras GPU trial contradicts, in one line, or None."""
    if result["spec"].get("framework", "tf.keras") != "tf.keras":
        return None
    saw = observed(result)
    device = result.get("device") or (result.get("runner") or {}).get("device") or {}
    capability = device.get("compute_capability")
    tensorflow = (result.get("software") or {}).get("tensorflow") or (result.get("runner") or {}).get("tensorflow")
    if saw is None or not capability or not tensorflow:
        return None
    try:
        expected = catalog.gpu_expectation(catalog.lookup(tensorflow), capability)
    except (UserError, ValueError):
        return None
    wrong = {"ptx-jit": (catalog.NATIVE, catalog.FAILS), "unsupported": (catalog.NATIVE, catalog.PTX_JIT),
             "ran": (catalog.FAILS,)}[saw]
    if expected.outcome not in wrong:
        return None
    return (f"TF {tensorflow} on {device.get('name', 'a GPU')} (compute capability {capability}) {_said(saw)}, but the "
            f"catalog expects {expected.outcome}: {expected.why} (source: {expected.source}); correct "
            "bench/data/catalog.json from this trial")


def _said(saw: str) -> str:
    return {"ptx-jit": "compiled PTX at start-up", "unsupported": "was unsupported", "ran": "ran"}[saw]
