"""Benchmarks: `python -m benchmarks.matching`."""
