"""Daily delivery: when each chat is due, which takeaway comes next, and the run that sends."""
