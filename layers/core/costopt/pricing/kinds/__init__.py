"""The price functions of each resource kind, one module per kind (``costopt.pricing.costs`` dispatches on
the kind and re-exports them)."""
