"""costopt: a serverless cost-optimization engine for AWS workloads."""

__version__ = "0.1.0"
ENGINE_VERSION = "2026.11.1"
