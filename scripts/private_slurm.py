"""A real one-node Slurm cluster of its own, for the tests and for trying `bench slurm` here.

Everything lives in one folder (configuration, munge key and socket, state, spool, logs,
pid files), on ports of its own; GPU types are declared as generic resources backed by
stand-in device files, so jobs asking for ``--gres=gpu:<type>:1`` run (and see
``CUDA_VISIBLE_DEVICES``) on a machine without a GPU. Stopped by its pids on leaving.

    with private_slurm(folder, gpu_types={"h100": 2}) as environment:   # SLURM_CONF etc.
        subprocess.run(["sbatch", ...], env={**os.environ, **environment})

Needs root and Debian's slurm-wlm and munge (slurmctld, slurmd, munged, mungekey).
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "sinfo")
# Character devices that stand in for GPU device files (gres.conf needs files that exist).
STAND_IN_DEVICES = ("/dev/tty0", "/dev/tty1", "/dev/tty2", "/dev/tty3")


def missing_programs() -> list[str]:
    return [name for name in DAEMONS if shutil.which(name) is None and not Path("/usr/sbin", name).exists()]


def _program(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for each in sockets:
        each.bind(("127.0.0.1", 0))
    ports = [each.getsockname()[1] for each in sockets]
    for each in sockets:
        each.close()
    return ports


@contextlib.contextmanager
def private_slurm(folder, gpu_types: dict[str, int] | None = None, start_seconds: float = 60):
    """Start munged, slurmctld and slurmd in ``folder``; yield the environment clients need."""
    folder = Path(folder).resolve()
    for sub in ("state", "spool", "munge"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(folder / "munge", 0o755)  # slurmd reads the socket from here
    key = folder / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    os.chmod(key, 0o400)
    munge_socket = folder / "munge" / "munge.socket"
    pids = []
    try:
        subprocess.run([_program("munged"), "-S", str(munge_socket), f"--key-file={key}",
                        f"--pid-file={folder / 'munge' / 'munged.pid'}", f"--seed-file={folder / 'munge' / 'seed'}",
                        f"--log-file={folder / 'munge' / 'munged.log'}", "-f"], check=True, capture_output=True)
        pids.append(folder / "munge" / "munged.pid")
        _write_configuration(folder, munge_socket, gpu_types or {})
        environment = {"SLURM_CONF": str(folder / "slurm.conf")}
        child = dict(os.environ, **environment)
        for daemon, pid_file in (("slurmctld", "slurmctld.pid"), ("slurmd", "slurmd.pid")):
            subprocess.run([_program(daemon)], env=child, check=True, capture_output=True)
            pids.append(folder / pid_file)
        _wait_until_idle(child, folder, start_seconds)
        yield environment
    finally:
        for pid_file in reversed(pids):
            _stop(pid_file)


def _write_configuration(folder: Path, munge_socket: Path, gpu_types: dict[str, int]) -> None:
    host = socket.gethostname()
    node = subprocess.run([_program("slurmd"), "-C"], capture_output=True, text=True, check=True).stdout
    node_line = node.splitlines()[0]
    controller_port, node_port = _free_ports(2)
    gres = ",".join(f"gpu:{name}:{count}" for name, count in gpu_types.items())
    devices = iter(STAND_IN_DEVICES)
    gres_lines = ["AutoDetect=off"]
    for name, count in gpu_types.items():
        files = [next(devices) for _ in range(count)]
        gres_lines += [f"Name=gpu Type={name} File={file}" for file in files]
    (folder / "gres.conf").write_text("\n".join(gres_lines) + "\n")
    lines = [
        "ClusterName=repro-bench-test", f"SlurmctldHost={host}", "SlurmUser=root",
        "AuthType=auth/munge", f"AuthInfo=socket={munge_socket}", "CredType=cred/munge",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "JobAcctGatherType=jobacct_gather/none",
        "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core_Memory", "DefMemPerCPU=256",
        "ReturnToService=2", f"SlurmctldPort={controller_port}", f"SlurmdPort={node_port}",
        f"StateSaveLocation={folder / 'state'}", f"SlurmdSpoolDir={folder / 'spool'}",
        f"SlurmctldPidFile={folder / 'slurmctld.pid'}", f"SlurmdPidFile={folder / 'slurmd.pid'}",
        f"SlurmctldLogFile={folder / 'slurmctld.log'}", f"SlurmdLogFile={folder / 'slurmd.log'}",
        "MailProg=/bin/true", "SchedulerParameters=batch_sched_delay=0", "MinJobAge=4",
        "JobCompType=jobcomp/filetxt", f"JobCompLoc={folder / 'jobcomp.txt'}",
        *(["GresTypes=gpu"] if gpu_types else []),
        f"{node_line}" + (f" Gres={gres}" if gres else "") + " State=UNKNOWN",
        "PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
    ]
    (folder / "slurm.conf").write_text("\n".join(lines) + "\n")


def _wait_until_idle(environment: dict, folder: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    state = ""
    while time.monotonic() < deadline:
        done = subprocess.run(["sinfo", "-h", "-o", "%T"], env=environment, capture_output=True, text=True)
        state = done.stdout.strip()
        if state in ("idle", "mixed", "allocated"):
            return
        time.sleep(0.3)
    logs = "".join((folder / name).read_text()[-1500:] for name in ("slurmctld.log", "slurmd.log")
                   if (folder / name).exists())
    raise RuntimeError(f"the Slurm node did not come up (state {state!r}):\n{logs}")


def _stop(pid_file: Path) -> None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
