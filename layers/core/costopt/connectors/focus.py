"""FOCUS 1.x CSV billing import, and the daily-cost helpers every billing connector shares.

FOCUS (FinOps Open Cost and Usage Specification) columns used: ``EffectiveCost`` (amortized cost
after discounts and commitments: what the resource really costs), ``ResourceId``,
``ChargePeriodStart``/``ChargePeriodEnd`` (ISO 8601, end exclusive), ``BillingCurrency``, and
optionally ``Tags`` (a JSON object) and ``ServiceName``. Other columns (BilledCost, ListCost, ...)
are ignored. The file is ``billing.focus_csv_uri``: a local path or ``s3://bucket/key``.

A row belongs to the service when its ResourceId matches one of the service's resources
(:func:`resource_matcher`: same id, or the ARN/id ends with the resource's identity) or when its
Tags carry ``billing.cost_allocation_tag`` (then it is the service's unattributed cost,
``SERVICE_TOTAL``). A row whose charge period spans several days is spread over them in
proportion to the hours in each day. Only complete UTC days inside [start, end) are returned.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from costopt.connectors.base import SERVICE_TOTAL, BillingSource
from costopt.connectors.retry import aws_errors, boto_client
from costopt.domain.observation import Datapoint, Metric, Series
from costopt.domain.resources import ResourceKind
from costopt.errors import ConnectorError

if TYPE_CHECKING:
    from costopt.domain.resources import Resource
    from costopt.domain.service import Service

SOURCE = "focus_csv"
# The IAM actions this module's AWS calls need (template.yaml grants exactly these: tests/contract/test_iam.py).
AWS_ACTIONS: frozenset[str] = frozenset({"s3:GetObject"})  # exports read from s3:// URIs
DAY_S = 86_400
REQUIRED_COLUMNS = ("EffectiveCost", "ResourceId", "ChargePeriodStart", "ChargePeriodEnd", "BillingCurrency")

DailyCosts = dict[tuple[str, date], float]  # (resource_id, day) -> USD


# --------------------------------------------------------------------------- shared helpers


def _suffixes(resource: Resource) -> list[str]:
    """ARN tails that name this resource (kind-specific, so a log group named like a function does
    not match the function)."""
    kind = resource.kind
    if kind == ResourceKind.LAMBDA_FUNCTION:
        fn = str(getattr(resource, "function_name", ""))
        name = fn.split(":")[6] if fn.startswith("arn:") and len(fn.split(":")) > 6 else fn
        return [f":function:{name}"]
    if kind == ResourceKind.EC2_INSTANCE:
        return [f":instance/{getattr(resource, 'instance_id', '')}"]
    if kind == ResourceKind.EBS_VOLUME:
        return [f":volume/{getattr(resource, 'volume_id', '')}"]
    if kind == ResourceKind.DYNAMODB_TABLE:
        return [f":table/{getattr(resource, 'table_name', '')}"]
    if kind == ResourceKind.ECS_SERVICE:
        return [f"/{getattr(resource, 'service_name', '')}"]
    return []


def identities(resource: Resource) -> list[str]:
    """Exact strings a bill may use for this resource: its resource_id and its identity field."""
    out = [resource.resource_id]
    for attr in ("function_name", "instance_id", "volume_id", "table_name", "workload"):
        value = getattr(resource, attr, None)
        if value:
            out.append(str(value))
    return out


def resource_matcher(service: Service) -> Callable[[str], str | None]:
    """A function mapping a billed resource id (ARN or id) to the service's resource_id, or None.

    Matches when the billed id equals the resource_id or its identity (function name or ARN,
    instance/volume id, table name, workload), or when it is an ARN ending with the kind's tail:
    ``:function:<name>`` (optionally ``:<qualifier>``), ``:instance/<id>``, ``:volume/<id>``,
    ``:table/<name>``, ``:service/.../<name>`` (ECS).
    """
    exact = {ident: r.resource_id for r in service.resources for ident in identities(r)}
    tails = [(tail, r.resource_id, r.kind) for r in service.resources for tail in _suffixes(r)]

    def match(billed: str) -> str | None:
        billed = (billed or "").strip()
        if not billed:
            return None
        if billed in exact:
            return exact[billed]
        if not billed.startswith("arn:"):
            return None
        for tail, rid, kind in tails:
            if kind == ResourceKind.LAMBDA_FUNCTION:
                if billed.endswith(tail) or (tail + ":") in billed:
                    return rid
            elif kind == ResourceKind.ECS_SERVICE:
                if ":service/" in billed and billed.endswith(tail):
                    return rid
            elif billed.endswith(tail):
                return rid
        return None

    return match


def day_start(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def complete_days(start: datetime, end: datetime) -> list[date]:
    """UTC days wholly inside [start, end)."""
    s = start.astimezone(UTC)
    first = s.date() if s.time() == time(0) else s.date() + timedelta(days=1)
    last_excl = end.astimezone(UTC).date()
    return [first + timedelta(days=i) for i in range((last_excl - first).days)]


def daily_series(costs: DailyCosts, days: Iterable[date]) -> list[Series]:
    """One ``cost_usd`` series per resource, one point per day in ``days`` that has a cost."""
    wanted = set(days)
    by_resource: dict[str, list[Datapoint]] = defaultdict(list)
    for (rid, d), usd in sorted(costs.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        if d in wanted:
            by_resource[rid].append(Datapoint(t=day_start(d), v=round(usd, 10)))
    return [Series(resource_id=rid, metric=Metric.COST_USD, stat="sum", period_s=DAY_S, points=points)
            for rid, points in sorted(by_resource.items())]


def parse_time(raw: str) -> datetime:
    text = raw.strip().replace("Z", "+00:00")
    if "T" not in text and " " not in text:
        text += "T00:00:00+00:00"
    t = datetime.fromisoformat(text)
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def spread_over_days(start: datetime, end: datetime, amount: float) -> list[tuple[date, float]]:
    """Split ``amount`` over the UTC days of [start, end) in proportion to the time in each."""
    if end <= start:
        return [(start.date(), amount)]
    total = (end - start).total_seconds()
    out = []
    cursor = start
    while cursor < end:
        next_day = day_start(cursor.date() + timedelta(days=1))
        stop = min(end, next_day)
        out.append((cursor.date(), amount * (stop - cursor).total_seconds() / total))
        cursor = stop
    return out


# --------------------------------------------------------------------------- FOCUS


def read_text(uri: str) -> str:
    """A local file or an S3 object (``s3://bucket/key``) as text."""
    if uri.startswith("s3://"):
        bucket, _, key = uri[5:].partition("/")
        if not bucket or not key:
            raise ConnectorError(SOURCE, f"not an s3://bucket/key URI: {uri!r}", retryable=False)
        with aws_errors(SOURCE):
            body = boto_client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return body.decode("utf-8-sig")
    try:
        with open(uri, encoding="utf-8-sig", newline="") as fh:
            return fh.read()
    except OSError as exc:
        raise ConnectorError(SOURCE, f"cannot read {uri}: {exc.strerror}", retryable=False) from exc


def _tag_matches(raw_tags: str | None, key: str, value: str) -> bool:
    if not raw_tags:
        return False
    try:
        tags: Any = json.loads(raw_tags)
    except ValueError:
        return False
    return isinstance(tags, dict) and str(tags.get(key, tags.get(f"user:{key}"))) == value


def focus_daily_costs(text: str, service: Service) -> DailyCosts:
    """EffectiveCost per (resource_id, day) of the rows that belong to ``service``."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ConnectorError(SOURCE, f"not a FOCUS file: missing columns {', '.join(missing)}", retryable=False)
    match = resource_matcher(service)
    tag = service.billing.cost_allocation_tag
    costs: DailyCosts = defaultdict(float)
    for line, row in enumerate(reader, start=2):
        rid = match(row.get("ResourceId") or "")
        if rid is None and tag is not None and _tag_matches(row.get("Tags"), tag.key, tag.value):
            rid = SERVICE_TOTAL
        if rid is None:
            continue
        try:
            amount = float(row["EffectiveCost"] or 0)
            start = parse_time(row["ChargePeriodStart"])
            end = parse_time(row["ChargePeriodEnd"])
        except (TypeError, ValueError) as exc:
            raise ConnectorError(SOURCE, f"line {line}: {exc}", retryable=False) from None
        currency = (row.get("BillingCurrency") or "USD").strip()
        if currency != "USD":
            raise ConnectorError(SOURCE, f"line {line}: BillingCurrency {currency} is not USD", retryable=False)
        for d, part in spread_over_days(start, end, amount):
            costs[(rid, d)] += part
    return dict(costs)


class FocusCsvBilling(BillingSource):
    """BillingSource over a FOCUS 1.x CSV export (local path or S3)."""

    name: ClassVar[str] = SOURCE

    def fetch_costs(self, service: Service, start: datetime, end: datetime) -> list[Series]:
        uri = service.billing.focus_csv_uri
        if not uri:
            raise ConnectorError(SOURCE, "billing.focus_csv_uri is not set", retryable=False)
        days = complete_days(start, end)
        if not days:
            return []
        return daily_series(focus_daily_costs(read_text(uri), service), days)
