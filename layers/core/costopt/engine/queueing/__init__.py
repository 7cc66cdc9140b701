"""Response time of a FCFS c-server queue: the latency model of the SLA engine and the simulation.

One package, two faces with the same formulas: the scalar modules in pure Python (``service``,
``wait``, ``response``, ``capacity``, ``latency``; the recommend path must not import numpy, and
importing this package never does) and their vectorised counterparts (``erlang_array``,
``response_array``, ``latency_array``) that import numpy, for the simulation's (horizon_days x
observed_days x 24) grids; only the simulate path imports those. ``latency`` is the prediction both
the SLA engine and the simulation make: the queueing part plus a residual calibrated at today's config.
``tests/unit/engine/queueing/test_queueing.py`` checks that the faces agree;
``tests/unit/engine/queueing/test_queueing_des.py`` checks the model against a discrete-event simulation.

The model
---------
A request's latency is a *queueing part* T (wait for one of ``c`` servers, then its CPU service)
plus a *non-queueing part* (I/O, downstream calls) that does not change with the number of servers;
the SLA engine calibrates the second from the observed latency (``engine.sla``). This module models
T = S + W for Poisson arrivals at rate λ, ``c`` servers, service time S of mean m and squared
coefficient of variation s (``ServiceTime``; rho = λm/c < 1, else T is infinite):

* **Service time S.** s = 1: exponential; s = 0: deterministic; any other s: lognormal with that
  mean and SCV (per-request CPU time is right-skewed; validated at CV 2, s = 4).
* **Exponential service: exact M/M/c.** W = 0 with probability 1 - C, else Exp(cμ - λ), C the Erlang C
  delay probability; P(T > t) = (1-C) e^{-μt} + C · P(Exp(μ) + Exp(cμ-λ) > t) in closed form.
* **Other service: M/G/c by light/heavy-traffic decomposition.** The delay probability is Erlang C.
  A request that waits finds all c servers busy; it waits for the first departure, M_c = the
  minimum of c independent equilibrium residual service times (R̄(x) = E[(S-x)+]/m; exact in light
  traffic, where the jobs in service are an M/G/∞ sample), and, with probability rho (the M/M/c
  probability of a queue ahead of it), also for the queue ahead to clear, Y:
  E[Y] = m(1+s)/(2c(1-rho)) (Allen-Cunneen's heavy-traffic wait, c_a² = 1),
  SCV(Y) = (1-rho)·[C·SCV(R) + (1-C)·SCV(M_c)] + rho.
  ``M_c + Y`` is fitted with its two moments by a phase-type law (balanced-means H2 when its SCV
  is >= 1, a mixture of Erlang(k-1) and Erlang(k) below, Tijms 1994), so P(W > x) is closed form;
  with S it is integrated by Gauss-Legendre quadrature. The decomposition is exact for M/M/c
  (with Y kept exponential), exact in the first two moments for M/G/1 (Pollaczek-Khinchine: Y is a
  geometric sum of residuals), exact in light traffic, and Allen-Cunneen in heavy traffic. Plain
  Allen-Cunneen with an exponential conditional wait errs by up to 33% (M/G/1, lognormal CV 2)
  and 19% (M/D/1 at rho = 0.3) at p99; the decomposition stays within the DES bounds below.
* **Quantiles** of T by numeric inversion of P(T > t) (bracketed Newton for exponential service,
  Illinois regula falsi otherwise), relative precision ~1e-7 (scalar and the exact vectorised solve).

Validated error (``tests/unit/engine/queueing/test_queueing_des.py``, an FCFS queue checked against SimPy; c
in {1, 2, 4, 8, 16}, rho 0.3 to 0.95, exponential / deterministic / lognormal CV 2 service -- lognormal up
to rho 0.85, where its DES outgrows the test's budget --, with and without I/O time): p95 and p99 within 15%
of the DES in every case, and within 15% when the residual is calibrated at 2c servers and rho/2 and c
servers at rho are predicted; the largest measured error is 9.9% (lognormal, deterministic: 7.9%;
exponential is exact, its DES misses by up to 9.3% at rho = 0.95). The old model (S plus the M/M/c wait
quantile, times observed / model at today's config) was up to 89% low uncalibrated and 416% high after
calibration on the same cases. Per-case figures: that module's doc.

Cost (measured on this project's 2-core dev box, caches cold): a quantile takes ~20 µs for exponential,
~50 µs for deterministic service (closed forms), ~0.5 ms for lognormal (32-node quadrature per evaluation of
P(T > t), about 8 of them); results are cached per (q, servers, λ, service). The vectorised path
interpolates cached per-server-count tables: a (30 x 28 x 24) grid costs ~2 ms per quantile once the
tables exist (building one costs ~1 ms per server count for exponential service, ~0.3 s lognormal).

Erlang C: exact by the Erlang B recursion; the vectorised tables (``erlang_c_fast``) switch to the
Halfin-Whitt approximation above ``ERLANG_EXACT_MAX`` servers.
"""

from costopt.engine.queueing.capacity import Capacity
from costopt.engine.queueing.latency import QueueLoad, QueuePrediction, predict_queue
from costopt.engine.queueing.response import (
    response_time_quantile,
    response_time_quantiles,
    response_time_survival,
)
from costopt.engine.queueing.service import QUADRATURE_NODES, ServiceFamily, ServiceTime
from costopt.engine.queueing.wait import WaitModel, erlang_b, erlang_c, wait_model

__all__ = [
    "QUADRATURE_NODES",
    "Capacity",
    "QueueLoad",
    "QueuePrediction",
    "ServiceFamily",
    "ServiceTime",
    "WaitModel",
    "erlang_b",
    "erlang_c",
    "predict_queue",
    "response_time_quantile",
    "response_time_quantiles",
    "response_time_survival",
    "wait_model",
]
