"""Domain models (pydantic v2): services, resources, recommendations, changes, observations."""
