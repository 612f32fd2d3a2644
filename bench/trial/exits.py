"""How a trial process ends: its exit statuses, the words that say its framework build has no
kernels for the GPU at hand (an outcome of its own, ``unsupported``, never a crash), and those
that say op determinism refused to run something (``refused``: a random op without a seed, an
op without a deterministic kernel)."""

import re
from typing import Dict, Optional

EXIT_OK = 0           # the trial ran; its result is written
EXIT_USAGE = 2        # unusable arguments or spec; no result
EXIT_TRIAL_FAILED = 3  # the trial failed; its result (error, unsupported) is written
EXIT_RUNNER_GONE = 4  # stopped because the runner went away; no result

UNSUPPORTED_GPU = re.compile(
    r"device kernel image is invalid|no kernel image is available for execution on the device|"
    r"CUDA_ERROR_NO_BINARY_FOR_GPU|CUDA_ERROR_INVALID_IMAGE", re.IGNORECASE)


# Op determinism stopping a trial, word for word as each framework says it:
# TF >= 2.7 (tensorflow/python/framework/random_seed.py, get_seed), TF's kernels without a
# deterministic GPU implementation (UnimplementedError, e.g. sparse softmax cross-entropy on
# 2.6), torch.use_deterministic_algorithms (RuntimeError "... does not have a deterministic
# implementation").
DETERMINISM_REFUSED = re.compile(
    r"Random ops require a seed to be set when determinism is enabled|"
    r"[Dd]eterministic (GPU )?implementation of .* (is )?not( currently)? available|"
    r"does not have a deterministic implementation|"
    r"UnimplementedError.*determinis", re.IGNORECASE)


# What a trial's log says of how it computed (bench.runner.outcomes records it):
# TF's warning where its build has no kernels for the GPU and the driver compiles PTX
# (tensorflow/tensorflow#60739, #62320), and TF's notice that oneDNN's CPU kernels are in use
# (TF >= 2.9 on x86-64; silenced by TF_CPP_MIN_LOG_LEVEL >= 1).
LOG_FINDINGS = {
    "ptx_jit": re.compile(r"jit-compiled from PTX|not built with CUDA kernel binaries compatible with compute "
                          r"capability", re.IGNORECASE),
    "onednn": re.compile(r"oneDNN custom operations are on"),
}


def log_findings(text: Optional[str]) -> Dict[str, bool]:
    """{finding: True} for each of LOG_FINDINGS that the log shows."""
    return dict((name, True) for name, pattern in sorted(LOG_FINDINGS.items()) if pattern.search(text or ""))


def refusal_reason(text: Optional[str]) -> Optional[str]:
    """The line of ``text`` that says op determinism refused to run an op, or None."""
    for line in (text or "").splitlines():
        if DETERMINISM_REFUSED.search(line):
            return line.strip()[:500]
    return None


def unsupported_reason(text: Optional[str]) -> Optional[str]:
    """The line of ``text`` that says the GPU is unsupported by this build, or None."""
    for line in (text or "").splitlines():
        if UNSUPPORTED_GPU.search(line):
            return line.strip()[:500]
    return None
