"""A private, real Docker engine on its own socket: a second "host" on this machine.

It gets a bridge of its own (never --bridge=none: that makes dockerd delete docker0, the
main engine's bridge) and no iptables rules; trials need no network. Used by the multi-host
test and benchmark. Needs root, like dockerd itself.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

SUBNET = "172.31.250.1/24"


@contextlib.contextmanager
def private_engine(root: Path):
    """Start dockerd under ``root``; yields (socket URL, the daemon's Popen); stops it after,
    removing its bridge and anything it left mounted."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    # Sockets live in a short path: a Unix socket path has at most 107 characters.
    short = Path(tempfile.mkdtemp(prefix="rbe-", dir="/tmp"))
    socket = f"unix://{short}/docker.sock"
    bridge = f"rbe{os.getpid() % 100000}"
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    subprocess.run(["ip", "addr", "add", SUBNET, "dev", bridge], check=True)
    subprocess.run(["ip", "link", "set", bridge, "up"], check=True)
    with open(root / "dockerd.log", "w") as log:
        daemon = subprocess.Popen(["dockerd", "--data-root", str(root / "data"), "--exec-root", str(short / "x"),
                                   "--pidfile", str(short / "dockerd.pid"), "--host", socket, f"--bridge={bridge}",
                                   "--iptables=false", "--ip-masq=false"], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(120):
            if subprocess.run(["docker", "-H", socket, "version"], capture_output=True).returncode == 0:
                break
            if daemon.poll() is not None:
                break
            time.sleep(0.5)
        else:
            raise RuntimeError("the private engine did not start: " + (root / "dockerd.log").read_text()[-2000:])
        if daemon.poll() is not None:
            raise RuntimeError("the private engine exited: " + (root / "dockerd.log").read_text()[-2000:])
        yield socket, daemon
    finally:
        if daemon.poll() is None:
            daemon.terminate()
            daemon.wait(60)
        _unmount_below(root)
        _unmount_below(short)
        shutil.rmtree(root / "data", ignore_errors=True)
        shutil.rmtree(short, ignore_errors=True)
        subprocess.run(["ip", "link", "delete", bridge], capture_output=True)


def _unmount_below(folder: Path) -> None:
    """An engine stopped with containers running can leave overlay mounts behind."""
    with open("/proc/mounts") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(str(folder))]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)
