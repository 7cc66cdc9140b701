"""The orchestrator: recommendations for one service, from its resources' plans (pure: no I/O, no numpy).

``recommend(service, usage, catalog, *, strategy, now, resource_ids=None) -> RecommendationResult``

For each selected resource: fewer than 30 hours of data -> ``insufficient`` (no recommendation);
otherwise the kind's recommender proposes options, every option is checked against the service's
SLA (``engine.sla``), compliant options that save at least ``policy.rightsizing.min_savings_usd`` and
``min_savings_pct`` become recommendations ranked by savings (rank 1 = the biggest saving, i.e. the
cheapest compliant option), failing ones go under ``rejected`` with the clauses that failed. All
options on one resource share ``xor_group`` = ``"<service_id>/<resource_id>"``: apply at most one.

Money follows ``costopt.domain.money``: current and proposed are rounded to the cent once each, the
saving is their difference, and savings_pct, priority and the min-savings thresholds use those same
published figures (so proposed + savings == current as displayed). The service's current cost is the
sum of its resources' published current costs.

``confidence`` is the probability that the option keeps every SLA clause (``engine.sla.hold_probability``:
the product of each clause's 1 - breach probability) times the share of the lookback that was observed
(``data_coverage``): an hour not observed is an hour the option was not checked against.

Priority from the monthly saving -- P1 >= $100, P2 >= $20, P3 >= $5, P4 below -- moved down one level
at performance risk 3 and two levels at risk 4 (never below P4). A saving that rests on a labelled
assumption nobody in the deployment has confirmed (``UNCONFIRMED_ASSUMPTIONS``: the bundled Fargate Spot
discount, an estimated generic unit price) is at most P2: it is not a published price.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import costopt
from costopt.domain.common import HOURS_PER_MONTH
from costopt.domain.ids import new_etag, time_ordered_id
from costopt.domain.metrics import SERVICE_TOTAL
from costopt.domain.money import round_usd, savings
from costopt.domain.recommendation import (
    CostModelEvidence,
    Evidence,
    InsufficientData,
    Priority,
    Recommendation,
    RejectedOption,
    Strategy,
    auto_applicable,
)
from costopt.domain.service import Service
from costopt.engine.cost_model import usage_stats
from costopt.engine.recommend.context import Context, Option, Plan
from costopt.engine.recommend.registry import recommender_for
from costopt.engine.sla import failed_clauses, hold_probability, performance_risk
from costopt.errors import CostoptError

if TYPE_CHECKING:
    from costopt.engine.cost_model import CostInputs
    from costopt.observe.usage import ServiceUsage
    from costopt.pricing import Catalog

MIN_HOURS = 30


@dataclass
class RecommendationResult:
    service_id: str
    generated_at: datetime
    strategy: Strategy
    lookback_days: int
    recommendations: list[Recommendation] = field(default_factory=list)
    rejected: list[RejectedOption] = field(default_factory=list)
    insufficient: list[InsufficientData] = field(default_factory=list)
    current_monthly_cost_usd: float = 0.0
    data_coverage_pct: float = 0.0
    model_vs_bill_pct: float | None = None
    """The service's modelled current cost vs its bill over the lookback (resources with a bill, or the
    service total when costs are not attributed to resources), in %."""
    warnings: list[str] = field(default_factory=list)


def priority_of(savings_usd: float, risk: int, *, rests_on_assumption: bool = False) -> Priority:
    level = 1 if savings_usd >= 100 else 2 if savings_usd >= 20 else 3 if savings_usd >= 5 else 4
    level = min(4, level + max(0, risk - 2))
    if rests_on_assumption:
        level = max(level, 2)
    return ("P1", "P2", "P3", "P4")[level - 1]


def unconfirmed_assumptions(assumptions: Iterable[str], catalog: Catalog) -> list[str]:
    """The assumptions in ``assumptions`` that are still costopt's defaults (not set by the deployment)."""
    from costopt.pricing.catalog import FARGATE_SPOT_DISCOUNT, GENERIC_UNIT_PRICE_ESTIMATE

    spot_is_default = catalog.fargate.spot.set_by == "catalog"
    return [a for a in assumptions
            if a == GENERIC_UNIT_PRICE_ESTIMATE or (a == FARGATE_SPOT_DISCOUNT and spot_is_default)]


def xor_group(service_id: str, resource_id: str) -> str:
    return f"{service_id}/{resource_id}"


def _recommendation_id(at: datetime) -> str:
    return time_ordered_id("r", at)


def recommend(service: Service, usage: ServiceUsage, catalog: Catalog, *, strategy: Strategy | None = None,
              now: datetime, resource_ids: Iterable[str] | None = None,
              id_factory: Callable[[datetime], str] | None = None,
              etag_factory: Callable[[], str] | None = None,
              rolled_back: Iterable[Recommendation] = ()) -> RecommendationResult:
    """Recommendations, rejected options and data gaps for ``service`` (see the module doc).

    ``rolled_back``: recommendations that were applied and rolled back recently. An option on the same
    resource, from the same current config, with the same action and at most the rolled-back option's
    cost (i.e. at least as aggressive) is rejected with the clause ``rolled_back``: it broke the SLA in
    production, whatever the model predicts now. This stops apply -> breach -> rollback -> apply loops.
    """
    burned = list(rolled_back)
    strategy = strategy or service.policy.strategy
    id_factory, etag_factory = id_factory or _recommendation_id, etag_factory or new_etag
    result = RecommendationResult(service_id=service.service_id, generated_at=now, strategy=strategy,
                                  lookback_days=usage.lookback_days,
                                  warnings=list(getattr(catalog, "warnings", ()) or ()))
    wanted = set(resource_ids) if resource_ids is not None else None
    resources = [r for r in service.resources if wanted is None or r.resource_id in wanted]
    if wanted is not None:
        unknown = sorted(wanted - {r.resource_id for r in service.resources})
        if unknown:
            result.warnings.append(f"unknown resource_ids ignored: {', '.join(unknown)}")
    coverages: list[float] = []
    rs = service.policy.rightsizing
    modelled_billed: list[tuple[float, float]] = []  # (model, bill) per resource with a bill
    modelled_all = 0.0
    for res in resources:
        ru = usage.resource(res.resource_id)
        coverages.append(ru.coverage if ru is not None else 0.0)
        ctx_plan: Plan | None = None
        if ru is None:
            result.insufficient.append(InsufficientData(
                resource_id=res.resource_id, hours_available=0, hours_required=MIN_HOURS,
                detail="no telemetry for this resource in the lookback"))
        elif not ru.sufficient:
            result.insufficient.extend(ru.insufficient)
        if ru is None or not ru.sufficient:
            result.current_monthly_cost_usd += round_usd(_cost_only(res, catalog, result.warnings))
            continue
        ctx = Context(service=service, resource=res, usage=ru, catalog=catalog, strategy=strategy)
        try:
            ctx_plan = recommender_for(res.kind)(ctx)
        except CostoptError as exc:
            result.warnings.append(f"{res.resource_id}: {exc.detail}")
            continue
        result.current_monthly_cost_usd += round_usd(ctx_plan.current_cost_usd)
        result.warnings.extend(f"{res.resource_id}: {w}" for w in ctx_plan.warnings)
        model = ctx.model
        cost_evidence = cost_model_evidence(model)
        modelled_all += ctx_plan.current_cost_usd
        if model.bill is not None:
            modelled_billed.append((model.bill.modelled_monthly_usd, model.bill.billed_monthly_usd))
            if model.bill.flagged:
                result.warnings.append(f"{res.resource_id}: {model.bill.detail}")
        evidence_base = Evidence(lookback_days=usage.lookback_days, window_start=ru.window_start,
                                 window_end=ru.window_end, hours_covered=ru.hours_covered,
                                 percentiles=ctx_plan.percentiles, notes=list(ctx_plan.notes),
                                 cost_model=cost_evidence)
        offered: list[Recommendation] = []
        seen: set[tuple[str, str]] = set()
        for opt in ctx_plan.options:
            key = (opt.action, repr(sorted(opt.proposed.items())))
            if key in seen:
                continue
            seen.add(key)
            verdict = opt.verdict if opt.verdict is not None else ctx.verdict(opt.prediction)
            money = savings(ctx_plan.current_cost_usd, opt.monthly_cost_usd)
            if money.savings_usd < rs.min_savings_usd or money.savings_pct < rs.min_savings_pct:
                continue
            current = res.config.model_dump(mode="json")
            figures = {"monthly_cost_current_usd": money.current_usd, "monthly_cost_proposed_usd": money.proposed_usd,
                       "monthly_savings_usd": money.savings_usd}
            burn = _rolled_back_like(burned, res.resource_id, opt.action, current, money.proposed_usd)
            refusal: tuple[list[str], str] | None = None  # (failed clauses, reason) of a rejected option
            if burn is not None:
                when = burn.updated_at.strftime("%Y-%m-%d %H:%M UTC")
                refusal = (["rolled_back"], f"at least as aggressive as {burn.recommendation_id} ({burn.proposed}), "
                                            f"rolled back on {when}: {burn.status_reason or 'no reason recorded'}")
            elif not verdict.compliant:
                failed = failed_clauses(verdict.clauses)
                refusal = (failed, "fails SLA clause(s): " + ", ".join(failed))
            if refusal is not None:
                result.rejected.append(RejectedOption(
                    resource_id=res.resource_id, kind=res.kind, action=opt.action, current=current,
                    proposed=opt.proposed, **figures, failed_clauses=refusal[0], sla=verdict, reason=refusal[1]))
                continue
            risk = performance_risk(verdict, floor=opt.risk_floor)
            evidence = evidence_base.model_copy(update={"notes": [*evidence_base.notes, *opt.notes]})
            option_assumptions = list(opt.assumptions)
            if option_assumptions:
                evidence.cost_model = cost_evidence.model_copy(update={"assumptions": sorted(
                    {*cost_evidence.assumptions, *option_assumptions})})
            offered.append(Recommendation(
                service_id=service.service_id, recommendation_id=id_factory(now), resource_id=res.resource_id,
                kind=res.kind, action=opt.action, current=current, proposed=opt.proposed, **figures,
                savings_pct=money.savings_pct, performance_risk=risk,
                confidence=round(hold_probability(verdict) * min(1.0, ru.coverage), 4),
                data_coverage=round(min(1.0, ru.coverage), 4),
                cost_basis=model.basis,
                model_vs_bill_pct=None if model.bill is None else round(model.bill.model_vs_bill_pct, 2),
                priority=priority_of(money.savings_usd, risk, rests_on_assumption=bool(
                    unconfirmed_assumptions(option_assumptions, catalog))),
                xor_group=xor_group(service.service_id, res.resource_id),
                disruptive=opt.disruptive,
                auto_applicable=auto_applicable(option_allows=opt.auto_applicable, performance_risk=risk,
                                                disruptive=opt.disruptive, compliant=verdict.compliant),
                sla=verdict, etag=etag_factory(), evidence=evidence, engine_version=costopt.ENGINE_VERSION,
                strategy=opt.strategy, created_at=now, updated_at=now))
        offered.sort(key=lambda r: (-r.monthly_savings_usd, r.performance_risk, r.action))
        for rank, rec in enumerate(offered, start=1):
            rec.rank = rank
        result.recommendations.extend(offered)
    result.current_monthly_cost_usd = round_usd(result.current_monthly_cost_usd)  # the sum of the figures shown
    result.model_vs_bill_pct = _service_bill_gap(modelled_billed, modelled_all, usage, len(resources))
    result.data_coverage_pct = round(min(coverages) * 100.0, 2) if coverages else 0.0
    return result


def cost_model_evidence(model: CostInputs) -> CostModelEvidence:
    """The published form of a resource's cost model (``engine.cost_model.CostInputs``)."""
    bill = model.bill
    return CostModelEvidence(
        basis=model.basis, upper_bound=model.basis == "upper_bound",
        model_vs_bill_pct=None if bill is None else round(bill.model_vs_bill_pct, 2),
        billed_monthly_usd=None if bill is None else round_usd(bill.billed_monthly_usd),
        modelled_monthly_usd=None if bill is None else round_usd(bill.modelled_monthly_usd),
        bill_corrected=bool(bill and bill.corrected), bill_flagged=bool(bill and bill.flagged),
        detail=None if bill is None else bill.detail, assumptions=list(model.assumptions))


def _service_bill_gap(per_resource: list[tuple[float, float]], modelled_all: float, usage: ServiceUsage,
                      n_resources: int) -> float | None:
    """Model vs bill for the service: over resources with their own bill, or against the service total
    (``_service``) when the billing source does not attribute cost to resources."""
    if per_resource:
        model, bill = sum(m for m, _ in per_resource), sum(b for _, b in per_resource)
    else:
        total = usage.resource(SERVICE_TOTAL)
        billed_day = None if total is None or n_resources == 0 else usage_stats(total).billed_usd_per_day
        if billed_day is None:
            return None
        model, bill = modelled_all, billed_day * HOURS_PER_MONTH / 24.0
    return round((model - bill) / bill * 100.0, 2) if bill > 0 else None


def _rolled_back_like(burned: list[Recommendation], resource_id: str, action: str, current: dict[str, object],
                      proposed_usd: float) -> Recommendation | None:
    """A rolled-back recommendation this option is at least as aggressive as (both costs as published)."""
    for rec in burned:
        if (rec.resource_id == resource_id and rec.action == action and rec.current == current
                and proposed_usd <= rec.monthly_cost_proposed_usd):
            return rec
    return None


def _cost_only(res: object, catalog: Catalog, warnings: list[str]) -> float:
    """Today's monthly cost of a resource without usage (usage-priced parts count as 0)."""
    from costopt.pricing import monthly_cost

    try:
        return monthly_cost(res, None, catalog).total_usd  # type: ignore[arg-type]
    except CostoptError as exc:
        warnings.append(f"{getattr(res, 'resource_id', '?')}: {exc.detail}")
        return 0.0


__all__ = ["Option", "Plan", "RecommendationResult", "cost_model_evidence", "priority_of", "recommend",
           "unconfirmed_assumptions", "xor_group"]
