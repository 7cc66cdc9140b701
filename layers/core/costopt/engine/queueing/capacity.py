"""What a config gives the queue: replicas x cores as parallel servers, each at a fraction of a core.

Fractional cores: a replica with k cores is ``max(1, floor(k))`` servers, each running at
``k / servers`` of a core, so a request's CPU time S takes ``S / speed`` there. The SLA engine sizes
options with it; the simulation takes its servers per replica and speed for every hour's replica count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Capacity:
    """What a config gives the queue: ``replicas`` copies of ``cores`` each."""

    replicas: int
    cores: float

    @property
    def servers_per_replica(self) -> int:
        return max(1, math.floor(self.cores + 1e-9))

    @property
    def servers(self) -> int:
        return self.replicas * self.servers_per_replica

    @property
    def speed(self) -> float:
        """Fraction of a core each server runs at."""
        return self.cores / self.servers_per_replica

    @property
    def total_cores(self) -> float:
        return self.replicas * self.cores
