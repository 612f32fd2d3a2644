"""Launchers: what runs a whole plan elsewhere, handing it plan files (Slurm job arrays, docker compose)."""
