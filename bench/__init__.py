"""Benchmarks. Each ``bench/bench_*.py`` has ``main() -> list[tuple[str, float, str]]``
returning (name, value, unit) rows; ``python -m bench`` runs them all and prints a table."""
