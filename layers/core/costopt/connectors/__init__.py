"""Telemetry, billing and actuator connectors (DESIGN §6).

The source interfaces and the registry live in ``costopt.connectors.base`` (``TelemetrySource``,
``BillingSource``, ``source_for(service)``, ``billing_for(service)``); the deterministic demo/test source
is a plugin of the local stack (``local.synthetic``). Real connectors are imported lazily by the registry,
so importing this package stays cheap.
"""
