"""Powertools Logger, Tracer and Metrics singletons shared by every function."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="costopt")
tracer = Tracer(service="costopt")
metrics = Metrics(namespace="costopt", service="costopt")
