"""GPUs as nvidia-smi describes them: name, UUID, driver, memory, compute capability.

Parsing is separate from querying so it can be tested on captured output anywhere. The
query asks for a header line, so parsing goes by field name, whatever their order.
"""

import os
import subprocess
from typing import List, Optional, Sequence, Union

FIELDS = ("index", "name", "uuid", "driver_version", "memory.total", "compute_cap")
# nvidia-smi field name -> key in our records
KEYS = {"index": "index", "name": "name", "gpu_name": "name", "uuid": "uuid", "gpu_uuid": "uuid",
        "driver_version": "driver", "memory.total": "memory_mib", "compute_cap": "compute_capability"}


def query(nvidia_smi: str = "nvidia-smi") -> List[dict]:
    """Every GPU nvidia-smi sees, or [] where there is none (or no nvidia-smi)."""
    output = _run(nvidia_smi, FIELDS)
    if output is None:  # drivers before 510 know no compute_cap field
        output = _run(nvidia_smi, FIELDS[:-1])
    return parse(output or "")


def parse(text: str, fields: Optional[Sequence[str]] = None) -> List[dict]:
    """Rows of ``nvidia-smi --query-gpu=... --format=csv[,nounits]``: the first line is the
    header, unless ``fields`` names them (output made with ``noheader``)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    if fields is None:
        fields = [_field_name(name) for name in lines.pop(0).split(",")]
    found = []
    for line in lines:
        values = [value.strip() for value in line.split(",")]
        if len(values) != len(fields):
            raise ValueError("unexpected nvidia-smi line: %r" % line)
        entry = {}
        for field, value in zip(fields, values):
            if field in KEYS:
                entry[KEYS[field]] = _value(KEYS[field], value)
        found.append(entry)
    return found


def visible(gpus: Sequence[dict], cuda_visible_devices: Optional[str] = None) -> List[dict]:
    """The GPUs a process sees under CUDA_VISIBLE_DEVICES (indices or UUIDs), in its order."""
    if cuda_visible_devices is None:
        cuda_visible_devices = os.environ.get("CUDA_VISIBLE_DEVICES")
    if cuda_visible_devices is None:
        return list(gpus)
    chosen = []
    for token in [part.strip() for part in cuda_visible_devices.split(",") if part.strip()]:
        match = [gpu for gpu in gpus if str(gpu.get("index")) == token or gpu.get("uuid", "").startswith(token)]
        if not match:
            break  # CUDA stops at the first id it cannot resolve
        chosen.append(match[0])
    return chosen


def _field_name(header: str) -> str:
    """'memory.total [MiB]' -> 'memory.total'."""
    return header.split("[")[0].strip()


def device(described: dict, slot: str) -> dict:
    """A trial's device record for the GPU slot it was given (``described``: nvidia-smi's row)."""
    return {"kind": "gpu", "name": described.get("name", "GPU %s" % slot), "uuid": described.get("uuid"),
            "compute_capability": described.get("compute_capability"), "driver": described.get("driver")}


def _value(key: str, text: str) -> Union[int, str]:
    if key == "index":
        return int(text)
    if key == "memory_mib":
        number = text.split()[0]  # '81559 MiB' with units, '81559' without
        return int(number) if number.isdigit() else text
    return text


def _run(nvidia_smi: str, fields: Sequence[str]) -> Optional[str]:
    try:
        done = subprocess.run([nvidia_smi, "--query-gpu=" + ",".join(fields), "--format=csv,nounits"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None
