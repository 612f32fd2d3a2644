"""Worker side: runs one trial and writes one result file.

Python 3.6-compatible, standard library + NumPy + TensorFlow only: this package is copied
into containers whose images ship Python 3.6 (TF 2.1-2.6). The host never imports TensorFlow.
"""

# Version of the trial-result document. Bump on any incompatible change of its fields, and
# teach the host's loader (bench.upgrade) to read the older one.
# 1: mechanism as lines of prose. 2: mechanism as structured entries (bench.worker.controls).
SCHEMA_VERSION = 2
