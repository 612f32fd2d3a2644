"""repro-bench: is TensorFlow training bit-for-bit repeatable, and what does control cost?

The package has two sides that talk only through files and exit codes:

* ``bench.worker`` runs one trial inside a container or a fresh process. It must run on
  Python 3.6 with only the standard library, NumPy and TensorFlow (checked by vermin in CI).
* everything else is the host side (plan, runner, results, report, CLI): Python 3.10+.

This file is imported by both sides, so it stays Python 3.6-compatible and dependency-free.
"""

__version__ = "0.1.0"
