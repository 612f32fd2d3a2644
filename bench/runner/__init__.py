"""The plan/run core: which trials a run has (plan), running each as a fresh process with its
configuration's environment (process, outcomes), a work queue over slots with retries and a
time budget (work_queue, budget), and the result tree that keeps every finished trial (tree).

Python 3.6-compatible like the trial package, because a container runs whole plans too
(``python -m bench.runner.batch``, what ``docker compose up`` uses).
"""
