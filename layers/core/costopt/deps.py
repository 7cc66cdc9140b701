"""Where jobs get their repositories: typed, lazy, cached factories, and overrides for tests.

Each factory returns a ``costopt.ports`` Protocol. The DynamoDB implementation (``costopt.store``)
is imported on the first call, so a function that never touches a table never loads PynamoDB, and
one instance serves every later call (repositories hold no state; their models hold the
connection). Tests put in-memory fakes in their place::

    with deps.override(services=FakeServices(), observations=FakeObservations()):
        run_recommend("checkout")

``override`` nests and restores what was there before; ``use(**fakes)`` sets them until
``reset()``. Names: services, recommendations, changes, observations, simulations, alerts, inventory
(the live resources discovery reads, and the accounts it reads them in).

``catalog(region)`` is ``costopt.pricing.get_catalog`` with the PricingCache table as its cache;
``new_change_id`` / ``change_id_floor`` / ``new_simulation_id`` are the store's id rules.
"""

from __future__ import annotations

import functools
import importlib
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from costopt.ports import Alerts, Changes, Inventory, Observations, Recommendations, Services, Simulations

if TYPE_CHECKING:
    from botocore.config import Config

    from costopt.pricing.catalog import Catalog

T = TypeVar("T")

_made: dict[str, Any] = {}
_overrides: list[dict[str, Any]] = []
_lock = threading.Lock()


def _get(name: str, make: Callable[[], T]) -> T:
    for layer in reversed(_overrides):
        if name in layer:
            return cast(T, layer[name])
    made = _made.get(name)
    if made is None:
        with _lock:
            made = _made.get(name)
            if made is None:
                made = _made[name] = make()
    return cast(T, made)


def _check(names: Iterable[str]) -> None:
    unknown = set(names) - set(FACTORIES)
    if unknown:
        raise TypeError(f"deps has no {sorted(unknown)}; it has {sorted(FACTORIES)}")


@contextmanager
def override(**fakes: Any) -> Iterator[None]:
    """Serve ``fakes`` (by name) inside the block."""
    _check(fakes)
    layer = dict(fakes)
    _overrides.append(layer)
    try:
        yield
    finally:
        for i in range(len(_overrides) - 1, -1, -1):
            if _overrides[i] is layer:
                del _overrides[i]
                break


def use(**fakes: Any) -> None:
    """Serve ``fakes`` (by name) until ``reset()``."""
    _check(fakes)
    _overrides.append(dict(fakes))


def reset() -> None:
    """Drop every override (and forget the instances made, e.g. after settings changed)."""
    _overrides.clear()
    _made.clear()


# --------------------------------------------------------------------------- repositories


class Repository(Generic[T]):
    """The factory of one repository: ``deps.services()``; the store's ``module.cls`` made on first use."""

    def __init__(self, name: str, module: str, cls: str) -> None:
        self.name, self.module, self.cls = name, module, cls
        FACTORIES[name] = self

    def _make(self) -> T:
        made: T = getattr(importlib.import_module(self.module), self.cls)()
        return made

    def __call__(self) -> T:
        return _get(self.name, self._make)


FACTORIES: dict[str, Repository[Any]] = {}
services: Repository[Services] = Repository("services", "costopt.store.services", "ServiceRepository")
recommendations: Repository[Recommendations] = Repository(
    "recommendations", "costopt.store.recommendations", "RecommendationRepository")
changes: Repository[Changes] = Repository("changes", "costopt.store.changes", "ChangeRepository")
observations: Repository[Observations] = Repository(
    "observations", "costopt.store.observations", "ObservationRepository")
simulations: Repository[Simulations] = Repository("simulations", "costopt.store.simulations", "SimulationRepository")
alerts: Repository[Alerts] = Repository("alerts", "costopt.store.alerts", "AlertRepository")
inventory: Repository[Inventory] = Repository("inventory", "costopt.deps", "AwsInventory")


class AwsInventory:
    """The ``Inventory`` port on AWS: ``costopt.connectors.inventory`` and ``costopt.accounts``."""

    def find_resources(self, selector: Any, account_id: str, region: str) -> tuple[list[Any], list[str]]:
        from costopt.connectors.inventory import find_resources

        got = find_resources(selector, account_id, region)
        return [f.resource for f in got.found], list(got.skipped)

    def member_accounts(self) -> list[str]:
        from costopt.accounts import member_accounts

        return member_accounts()

    def home_account_id(self) -> str:
        from costopt.accounts import home_account_id

        return home_account_id()


@functools.cache
def aws_regions() -> frozenset[str]:
    """Every region of every partition botocore's bundled endpoint data knows (no call to AWS, no client)."""
    import botocore.session

    session = botocore.session.get_session()
    return frozenset(r for p in session.get_available_partitions() for r in session.get_available_regions("ec2", p))


# --------------------------------------------------------------------------- prices, ids, clients


def dynamodb_client_config() -> Config:
    """The botocore ``Config`` of a plain boto3 DynamoDB client (the idempotency store's): the models' bounds."""
    from costopt.store.base import client_config

    return client_config()


def catalog(region: str) -> Catalog:
    """Prices for ``region`` (region catalogs cached in the PricingCache table)."""
    import costopt.store.price_cache  # noqa: F401 - makes the table get_catalog's cache
    from costopt.pricing import get_catalog

    return get_catalog(region)


def new_change_id(now: datetime | None = None) -> str:
    from costopt.store.changes import new_change_id as make

    return make(now)


def change_id_floor(at: datetime) -> str:
    """The smallest change id that can have been issued at or after ``at``."""
    from costopt.store.changes import id_floor

    return id_floor(at)


def new_simulation_id(now: datetime | None = None) -> str:
    from costopt.store.simulations import new_simulation_id as make

    return make(now)


if TYPE_CHECKING:  # mypy proves that each store repository implements the port its factory returns
    from costopt.store.alerts import AlertRepository
    from costopt.store.changes import ChangeRepository
    from costopt.store.observations import ObservationRepository
    from costopt.store.recommendations import RecommendationRepository
    from costopt.store.services import ServiceRepository
    from costopt.store.simulations import SimulationRepository

    def _implements(s: ServiceRepository, r: RecommendationRepository, c: ChangeRepository,
                    o: ObservationRepository, m: SimulationRepository, a: AlertRepository,
                    ) -> tuple[Services, Recommendations, Changes, Observations, Simulations, Alerts]:
        return s, r, c, o, m, a
