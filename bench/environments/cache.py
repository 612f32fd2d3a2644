"""Where the suite keeps what it downloads or builds, outside the repository."""

import os
from pathlib import Path


def home() -> Path:
    """``$REPRO_BENCH_HOME``, else ``$XDG_CACHE_HOME/repro-bench``, else ``~/.cache/repro-bench``."""
    if os.environ.get("REPRO_BENCH_HOME"):
        return Path(os.environ["REPRO_BENCH_HOME"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "repro-bench"
