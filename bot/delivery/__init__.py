"""Daily delivery: which takeaway comes next, and the run that sends (the calendar is bot.rules)."""
