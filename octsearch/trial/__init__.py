"""The proxy trial: one configuration of a space -> (accuracy, FLOPs, parameters, seconds).

:func:`run_trial` trains and evaluates; :func:`check_config` / :func:`flops_of` count FLOPs without
training (cached), for FLOPs-budget checks before a trial is dispatched.
"""

from octsearch.trial.check import ConfigCheck, check_config, flops_of
from octsearch.trial.result import StopTrial, TrialResult
from octsearch.trial.run import run_trial

__all__ = ["ConfigCheck", "StopTrial", "TrialResult", "check_config", "flops_of", "run_trial"]
