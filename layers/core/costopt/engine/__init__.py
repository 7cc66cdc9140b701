"""The decision engine: pure functions on domain models (no I/O)."""
