"""How a trial process ends: its exit statuses, and the words that say its framework build has
no kernels for the GPU at hand (an outcome of its own, ``unsupported``, never a crash)."""

import re

EXIT_OK = 0           # the trial ran; its result is written
EXIT_USAGE = 2        # unusable arguments or spec; no result
EXIT_TRIAL_FAILED = 3  # the trial failed; its result (error, unsupported) is written
EXIT_RUNNER_GONE = 4  # stopped because the runner went away; no result

UNSUPPORTED_GPU = re.compile(
    r"device kernel image is invalid|no kernel image is available for execution on the device|"
    r"CUDA_ERROR_NO_BINARY_FOR_GPU|CUDA_ERROR_INVALID_IMAGE", re.IGNORECASE)


def unsupported_reason(text):
    """The line of ``text`` that says the GPU is unsupported by this build, or None."""
    for line in (text or "").splitlines():
        if UNSUPPORTED_GPU.search(line):
            return line.strip()[:500]
    return None
