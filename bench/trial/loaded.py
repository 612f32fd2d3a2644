"""The native stack a trial actually loaded, read from the process itself.

Build information says what a framework was compiled against; what runs is what the dynamic
loader found. At the end of a trial this reads ``/proc/self/maps`` for the shared libraries of
interest (CUDA runtime and driver, cuDNN, cuBLAS, the driver's PTX JIT compiler, NCCL, BLAS,
oneDNN, OpenMP) and asks the loaded CUDA libraries their versions through their own C API
(``cudaRuntimeGetVersion``, ``cudaDriverGetVersion``, ``cudnnGetVersion``,
``cublasGetProperty``), never loading a library the trial did not load itself. Linux only
(elsewhere: nothing found). Worker side, Python 3.6.
"""

import ctypes
import os
import re
from typing import Any, Dict, Optional

# Libraries worth naming, by the stem of their file name.
INTEREST = re.compile(r"^lib(cudart|cuda|cudnn[a-z_]*|cublas|cublasLt|nvidia-ptxjitcompiler|nvrtc|nvJitLink|nccl|"
                      r"[a-z_]*openblas[a-z0-9_]*|mkl_[a-z_]+|dnnl|mkldnn|gomp|iomp5|omp)[.\-_]", re.IGNORECASE)


def libraries(maps_path: str = "/proc/self/maps") -> Dict[str, str]:
    """{file name: full path} of the libraries of interest mapped into this process."""
    found = {}
    try:
        with open(maps_path) as stream:
            for line in stream:
                parts = line.split(None, 5)
                path = parts[5].strip() if len(parts) == 6 else ""
                name = os.path.basename(path)
                if ".so" in name and INTEREST.match(name):
                    found[name] = path
    except OSError:
        pass
    return found


def _call(path: str, function: str, *arguments: Any, **options: Any) -> Optional[int]:
    """Call ``function`` of an already mapped library; None where it cannot be."""
    try:
        library = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | os.RTLD_LAZY)
        entry = getattr(library, function)
    except (OSError, AttributeError):
        return None
    entry.restype = options.get("restype", ctypes.c_int)
    return entry(*arguments)


def _int_out(path: str, function: str, *leading: Any) -> Optional[int]:
    value = ctypes.c_int(0)
    status = _call(path, function, *(leading + (ctypes.byref(value),)))
    return value.value if status == 0 else None


def _first(found: Dict[str, str], stem: str) -> Optional[str]:
    for name in sorted(found):
        if name.lower().startswith("lib%s.so" % stem.lower()) or name.lower().startswith("lib%s-" % stem.lower()):
            return found[name]
    return None


def cuda_versions(found: Dict[str, str]) -> Dict[str, str]:
    """CUDA runtime and driver API, cuDNN and cuBLAS versions, as the loaded libraries say."""
    versions = {}
    runtime = _first(found, "cudart")
    if runtime:
        for key, function in (("cuda_runtime", "cudaRuntimeGetVersion"), ("cuda_driver_api", "cudaDriverGetVersion")):
            number = _int_out(runtime, function)
            if number:
                versions[key] = "%d.%d" % (number // 1000, number % 1000 // 10)
    cudnn = _first(found, "cudnn")
    if cudnn:
        number = _call(cudnn, "cudnnGetVersion", restype=ctypes.c_size_t)
        if number:  # 8.x: major*1000 + minor*100 + patch; 9.x: major*10000 + minor*100 + patch
            major = number // 10000 if number >= 90000 else number // 1000
            rest = number - major * (10000 if number >= 90000 else 1000)
            versions["cudnn"] = "%d.%d.%d" % (major, rest // 100, rest % 100)
    cublas = _first(found, "cublas")
    if cublas:
        parts = [_int_out(cublas, "cublasGetProperty", ctypes.c_int(kind)) for kind in (0, 1, 2)]
        if None not in parts:
            versions["cublas"] = "%d.%d.%d" % tuple(parts)
    return versions


def stack(maps_path: str = "/proc/self/maps") -> dict:
    """What a result records as ``loaded``: the libraries of interest and the CUDA versions."""
    found = libraries(maps_path)
    described = {"libraries": sorted(found)}
    described.update(cuda_versions(found))
    described["ptx_jit_compiler_loaded"] = any(name.startswith("libnvidia-ptxjitcompiler") for name in found)
    return described
