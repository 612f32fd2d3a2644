"""repro-bench: is TensorFlow training bit-for-bit repeatable, and what does control cost?

The package has two sides that talk only through files and exit codes:

* the worker side, what goes into a trial's process or image: ``bench.trial`` (one trial in a
  fresh process) and ``bench.runner`` (plans, running trials as processes, result trees). It
  runs on Python 3.6 with only the standard library, NumPy and the framework (vermin and a
  real Python 3.6 check it);
* the host side, Python 3.10+: ``bench.commands`` (the command line), ``bench.backends``
  (where trials run), ``bench.environments`` (what they run with), ``bench.results``
  (reading, checking and packing result trees) and ``bench.report`` (tables, plots, pages).

This file is imported by both sides, so it stays Python 3.6-compatible and dependency-free.
"""

__version__ = "0.1.0"
