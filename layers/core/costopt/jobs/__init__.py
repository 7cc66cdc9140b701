"""Scheduled jobs, callable without Lambda (handlers are thin wrappers): pull_metrics, recompute, ..."""
