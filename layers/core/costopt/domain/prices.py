"""Where a price came from: a published price's source (``PriceSource``), a figure AWS does not publish
(``Assumption``), and a dated EC2 Spot price (``SpotPrice``) -- shared by the price catalog
(``costopt.pricing.catalog``, which re-exports them) and the Spot price connector."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SPOT_PRICE_HISTORY_URL = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSpotPriceHistory.html"

SourceMethod = Literal["transcribed", "price_list_api", "describe_spot_price_history"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceSource(_Part):
    """Where a published price was taken from, when and how."""

    kind: Literal["price"] = "price"
    method: SourceMethod = Field(description="transcribed (from the page/offer file by hand), price_list_api "
                                             "(pricing:GetProducts), describe_spot_price_history (ec2)")
    url: str = Field(description="The AWS pricing page, or the API reference of the call that returned it")
    as_of: str = Field(description="When the figure was taken: an ISO date (transcribed) or instant (fetched)")
    offer_file: str | None = Field(default=None, description="AWS Price List bulk offer file with the same figure")
    query: str | None = Field(default=None, description="The API call and filters that returned it")
    published: str | None = Field(default=None, description="Price List publicationDate of the products used; "
                                                            "for a Spot price, when it last changed")
    sku: str | None = Field(default=None, description="Price List product SKU (one product per figure)")
    note: str | None = None

    def cite(self) -> str:
        how = self.method.replace("_", " ")
        return f"{self.url} ({how}, as of {self.as_of})"


class Assumption(_Part):
    """A figure AWS does not publish as a price, labelled as such, with what it rests on."""

    id: str = Field(description="Short id options refer to, e.g. fargate_spot_discount")
    kind: Literal["assumption"] = "assumption"
    value: float
    text: str = Field(description="What is assumed and why")
    url: str | None = Field(description="What the value rests on (URL or citation); None = not given")
    as_of: str | None = Field(description="When the value was taken; None = not given")
    set_by: str = Field(default="catalog", description="catalog (the bundled file) or the setting that overrode it")

    def cite(self) -> str:
        by = "the bundled catalog" if self.set_by == "catalog" else f"the setting {self.set_by}"
        return (f"assumption {self.id} = {self.value:g}, set by {by} "
                f"({self.url or 'no source given'}, as of {self.as_of or 'date not given'})")


Citation = PriceSource | Assumption


class SpotPrice(_Part):
    """An EC2 Spot price per instance-hour (Linux/UNIX) across a region's Availability Zones."""

    hourly_usd: float = Field(description="``aggregate`` of ``zones``")
    aggregate: Literal["median", "min"]
    zones: dict[str, float] = Field(description="Availability Zone -> its latest Spot price")
    source: PriceSource
