"""Re-validation: is a search's front still a front at a larger training budget?

:func:`revalidate` trains the proxy front's members and the uniform-alpha points again at the
space's full budget (or a given number of epochs) with several seeds on Ray, stores every result
beside the proxy ones (budget "full" or "epochs=N"), and reports the rank agreement between
proxy and full-budget accuracy (:func:`kendall_tau`) and which front members survive
(:func:`front_survival`). ``bench/proxy_fidelity.py`` uses the same pieces without a store.
"""

from octsearch.validate.agreement import (
    KendallTau,
    Survival,
    front_survival,
    kendall_tau,
    pooled_std,
)
from octsearch.validate.report import Comparison, RevalidationReport, build_report
from octsearch.validate.run import Plan, RevalidateOptions, RevalidateResult, revalidate
from octsearch.validate.selection import BudgetChoice, Job, parse_budget, plan_seeds, select_trials

__all__ = [
    "BudgetChoice",
    "Comparison",
    "Job",
    "KendallTau",
    "Plan",
    "RevalidateOptions",
    "RevalidateResult",
    "RevalidationReport",
    "Survival",
    "build_report",
    "front_survival",
    "kendall_tau",
    "parse_budget",
    "plan_seeds",
    "pooled_std",
    "revalidate",
    "select_trials",
]
