"""Actuators: read, change and re-read the live configuration of a resource, one module per kind.

``actuator_for(kind)`` (in ``registry``) returns the actuator; every actuator speaks the resource
kind's config shape (``costopt.domain.resources.*Config``) so recommendations, changes and the
live resource compare field by field.
"""
