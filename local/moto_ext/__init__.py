"""Patches that make moto answer like AWS where costopt depends on it (each module: ``install()``)."""
