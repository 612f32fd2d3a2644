"""Worker side: runs one trial and writes one result file.

Python 3.6-compatible, standard library + NumPy + TensorFlow only: this package is copied
into containers whose images ship Python 3.6 (TF 2.1-2.6). The host never imports TensorFlow.
"""

# Version of the trial-result document. Bump on any incompatible change of its fields.
SCHEMA_VERSION = 1
