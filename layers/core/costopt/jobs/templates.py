"""The simulation templates a client can start from, each with the JSON schema of its parameters."""

from __future__ import annotations

from costopt.domain.simulation import TemplateInfo


def simulation_templates() -> list[TemplateInfo]:
    from costopt.engine.simulation.templates import template_catalog

    return template_catalog()
