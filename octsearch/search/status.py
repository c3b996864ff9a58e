"""Trial outcomes as the search writes them to the store."""

# First word of the error of a trial cut short because the search stopped (Ctrl-C, a killed
# driver reconciled by the store): such a trial does not count against the trial budget.
INTERRUPTED = "interrupted"

# First words of the error of a trial whose worker died under it (a killed node or container, a
# crashed worker process): it does not count against the budget, and its evaluation is run again.
LOST = "lost with its worker"
