"""GPUs as nvidia-smi describes them: name, UUID, driver, memory, compute capability.

Parsing is separate from querying so it can be tested on captured output anywhere.
"""

import os
import subprocess

FIELDS = ("index", "name", "uuid", "driver_version", "memory.total", "compute_cap")
KEYS = ("index", "name", "uuid", "driver", "memory_mib", "compute_capability")


def query(nvidia_smi="nvidia-smi"):
    """Every GPU nvidia-smi sees, or [] where there is none (or no nvidia-smi)."""
    fields = FIELDS
    output = _run(nvidia_smi, fields)
    if output is None:  # drivers before 510 know no compute_cap field
        fields = FIELDS[:-1]
        output = _run(nvidia_smi, fields)
    return parse(output or "", fields)


def parse(text, fields=FIELDS):
    """Rows of ``nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits``."""
    keys = [KEYS[FIELDS.index(field)] for field in fields]
    found = []
    for line in text.splitlines():
        if not line.strip():
            continue
        values = [value.strip() for value in line.split(",")]
        if len(values) != len(keys):
            raise ValueError("unexpected nvidia-smi line: %r" % line)
        entry = dict(zip(keys, values))
        entry["index"] = int(entry["index"])
        if entry.get("memory_mib", "").isdigit():
            entry["memory_mib"] = int(entry["memory_mib"])
        found.append(entry)
    return found


def visible(gpus, cuda_visible_devices=None):
    """The GPUs a process sees under CUDA_VISIBLE_DEVICES (indices or UUIDs), in its order."""
    if cuda_visible_devices is None:
        cuda_visible_devices = os.environ.get("CUDA_VISIBLE_DEVICES")
    if cuda_visible_devices is None:
        return list(gpus)
    chosen = []
    for token in [part.strip() for part in cuda_visible_devices.split(",") if part.strip()]:
        match = [gpu for gpu in gpus if str(gpu["index"]) == token or gpu["uuid"].startswith(token)]
        if not match:
            break  # CUDA stops at the first id it cannot resolve
        chosen.append(match[0])
    return chosen


def _run(nvidia_smi, fields):
    try:
        done = subprocess.Popen([nvidia_smi, "--query-gpu=" + ",".join(fields),
                                 "--format=csv,noheader,nounits"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        output, _ = done.communicate(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return output.decode("utf-8", "replace") if done.returncode == 0 else None
