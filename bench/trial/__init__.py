"""The trial: what runs in a fresh process (or container) to train once or twice and write
one result document (``python -m bench.trial SPEC RESULT``).

Python 3.6-compatible, standard library + NumPy + the framework only: this package goes
into images whose Python is 3.6 (TF 2.1-2.6). It imports nothing else of the suite. The host
imports it only for what a trial is (its configurations, frameworks, models, document).
"""
