"""Benchmarks run side by side with their peers: `python -m bench` writes bench/README.md."""
