"""Benchmarks: each module is one command (``uv run python -m bench.NAME``) that measures a figure and its
baseline in the same run and prints both with their ratio. Not collected by pytest."""
