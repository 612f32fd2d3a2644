"""Worker side: runs one trial and writes one result file.

Python 3.6-compatible, standard library + NumPy + TensorFlow only: this package is copied
into containers whose images ship Python 3.6 (TF 2.1-2.6). The host never imports TensorFlow.
"""
