"""What a trial ran on: interpreter, libraries, CPU, and the environment that matters."""

import os
import platform
import re
import socket
import sys
from typing import Dict, List, Optional

# Environment variables that change what a trial computes or how fast: recorded even where
# they are not set (as None), so that their absence is on record too.
RECORDED_ENVIRONMENT = (
    "PYTHONHASHSEED", "TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC", "TF_CUDNN_USE_FRONTEND",
    "TF_ENABLE_ONEDNN_OPTS", "TF_USE_LEGACY_KERAS", "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "XLA_FLAGS",
    "CUBLAS_WORKSPACE_CONFIG", "KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL",
    "CUDA_CACHE_PATH", "CUDA_CACHE_MAXSIZE", "CUDA_CACHE_DISABLE",
)


def environment() -> Dict[str, Optional[str]]:
    """The trial's whole environment (the host built it from an allowlist and the
    configuration, so nothing in it is there by accident), and the variables that matter."""
    found = dict((name, None) for name in RECORDED_ENVIRONMENT)
    found.update(os.environ)
    return found


def interpreter() -> Dict[str, str]:
    import numpy
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "numpy": numpy.__version__,
    }


def machine() -> dict:
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_flags": cpu_flags(),
        "logical_cpus": os.cpu_count(),
        "memory_bytes": _memory_bytes(),
    }


def host(name: Optional[str] = None) -> dict:
    """A machine description for a results folder (machine.json): what trials there ran on."""
    from bench.trial import gpus
    described = machine()
    release = _os_release()
    described.update({
        "name": name or described["hostname"],
        "os": release or platform.system(),
        "kernel": platform.release(),
        "gpus": gpus.query(),
    })
    described["driver"] = described["gpus"][0]["driver"] if described["gpus"] else None
    return described


def _os_release() -> Optional[str]:
    found = _field("/etc/os-release", "PRETTY_NAME=", "=")
    return found.strip('"') if found else None


def cpu_model() -> str:
    return _field("/proc/cpuinfo", "model name", ":") or platform.processor() or platform.machine()


# CPU features that decide which kernels run (TF enables oneDNN's by default only on CPUs with
# AVX-512 VNNI/BF16 or AMX, TF 2.9 release notes): what two "same" CPUs may differ in.
CPU_FLAGS = re.compile(r"^(avx|avx2|fma|f16c|avx512\w*|amx\w*|avx_vnni\w*|sse4_2)$")


def cpu_flags() -> Optional[List[str]]:
    """The CPU's flags among CPU_FLAGS (Linux), sorted; None where it cannot be read."""
    flags = _field("/proc/cpuinfo", "flags", ":")
    return sorted(flag for flag in flags.split() if CPU_FLAGS.match(flag)) if flags is not None else None


def _field(path: str, prefix: str, separator: str) -> Optional[str]:
    """The value of the first line of a system file that starts with ``prefix``, or None."""
    try:
        with open(path) as lines:
            for line in lines:
                if line.startswith(prefix):
                    return line.split(separator, 1)[1].strip()
    except OSError:
        pass
    return None


def _memory_bytes() -> Optional[int]:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
