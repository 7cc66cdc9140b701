"""Monte Carlo simulation of a scenario over the service's hourly history (DESIGN §4, Simulation).

Pure: numpy arrays and domain models in, a ``SimulationResult`` out, no I/O. Importing this package
imports nothing (and no numpy): ``plan``, ``templates`` and ``build`` (from a ``Scenario`` to a
``SimulationPlan``) are numpy-free, for ``GET /v1/simulate/templates``; only the simulate path imports
the rest (with the vectorised half of ``engine.queueing``, the only numpy users).

Modules: ``plan`` (the plan model), ``templates`` (the template registry), ``draft`` and ``build``
(resolving a scenario), ``history`` (1), ``calendar`` (2, 3), ``grid`` (what the per-kind models
evaluate on and return), ``lambda_model`` / ``pool_model`` / ``storage_model`` and the per-kind table
``kinds`` (4), ``accumulate`` and ``outcome`` (4, 5), ``run`` (``simulate``).

How it works
------------
1. **History.** Every (resource, metric) becomes a (days x 24) array of hourly values: totals
   for count metrics (requests, errors), the hour's mean otherwise (latency/duration are p99 per
   period, utilizations and rates are averages). Days with fewer than ``MIN_DAY_HOURS`` observed
   hours are dropped; gaps in kept days are filled with that hour-of-day's mean over the days.
2. **Block bootstrap.** Each sample draws whole observed days for the horizon, by weekday class:
   a simulated Monday draws from observed weekdays, a Saturday from observed weekend days (falling
   back to any day when the class was never observed), so the daily and weekly shapes are kept
   and every resource's metrics stay mutually consistent (they come from the same day).
3. **Traffic.** Load metrics are scaled per hour by ``multiplier x (1 + growth)^(hour/730)`` and
   by any template event (spike, seasonal peak).
4. **Cost and SLA, hour by hour**, for the baseline (current configs) and the scenario. No model
   state carries from one hour to the next, so an hour's outcome depends only on (simulated day,
   observed day drawn, hour of day): the engine evaluates that (horizon_days x observed_days x 24)
   grid once, vectorized, and each sample's totals, breach hours and worst values are gathered from
   the resulting day tables with its (samples x horizon_days) draws. This equals evaluating a
   (samples x hours) array element by element; there is no Python loop over hours or samples (only
   over resources and clauses).
   Cost per hour comes from the shared usage and cost model (``engine.cost_model``), the one the
   recommender prices with: ``simulate`` takes each resource's ``CostInputs`` (from the lookback, bill
   calibrated; built from the history when not given), so the baseline reproduces the recommender's
   current cost and a recommendation's simulated saving its projected one.
   - Lambda: the hour's requests x ($0.20/M + (mean billed duration + billed INIT) x GB x price(arch)) at
     the config's memory: the model's duration ratio ``d(m) = d0 * ((1-f) + f * cpu(m0)/cpu(m))`` and its
     1 ms rounding. Provisioned concurrency is billed for its capacity; invocations fill it first at the
     provisioned duration price. The latency clauses use the hour's p99 duration x the same ratio.
   - ECS / generic pools: CPU demand (cores) = observed CPU% x the current allocation x traffic;
     with autoscaling (min/max set) replicas = ceil(demand / (cores x target utilization)) within
     [min, max], the target solved so that the observed history reproduces the tasks/replicas the
     model (and the bill) says run on average; otherwise the fixed count, priced at the model's average
     share of it; cost = replicas x the per-replica hourly price (Fargate Spot at the catalog's
     discount). EC2 is a pool of one instance (priced for the model's running hours); EBS, provisioned
     DynamoDB and fixed pools cost the same at any load.
   - Clauses (the SLA engine's, hour by hour): CPU and memory utilization, latency p95/p99 = the
     queueing part's quantile (``costopt.engine.queueing``: exact M/M/c, the CPU time per request
     taken as exponential) at the hour's servers and arrival rate + a non-queueing residual
     calibrated once at the current config (the median over the observed hours of observed p99 -
     model p99, never below 0; ``costopt.engine.sla`` calibrates at the busy hours instead, having
     only the lookback's quantiles), queue stability (rho < 1),
     error rate (observed rate, plus the shed share when rho >= 1),
     min replicas, Spot vs availability, EBS IOPS/throughput and provisioned DynamoDB capacity.
5. **Outcome.** Monthly cost = horizon cost x 730 / horizon hours, per sample; p10/p50/p90 of
   baseline, scenario and the paired savings; ``sla_probability`` = share of samples where every
   clause holds in every hour; ``expected_breach_hours`` = mean breached hours per sample.
"""

