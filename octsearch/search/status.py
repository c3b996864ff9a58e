"""Trial outcomes as the search writes them to the store."""

# First word of the error of a trial cut short because the search stopped (Ctrl-C, a killed
# driver reconciled by the store): such a trial does not count against the trial budget.
INTERRUPTED = "interrupted"
