"""The proxy trial: one configuration of a space -> (accuracy, FLOPs, parameters, seconds).

:func:`run_trial` trains and evaluates. It runs on a worker and never touches the store.
"""

from octsearch.trial.result import StopTrial, TrialResult
from octsearch.trial.run import run_trial

__all__ = ["StopTrial", "TrialResult", "run_trial"]
