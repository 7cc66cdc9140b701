"""Build a region's ``Catalog`` from the AWS Price List Query API (``pricing:GetProducts``)."""

from __future__ import annotations

from typing import Any

from costopt.pricing.catalog import Catalog


class PriceListError(Exception):
    """The Price List API gave nothing usable for a region."""


def fetch_region_catalog(region: str, client: Any) -> Catalog:
    raise PriceListError("not implemented yet")
