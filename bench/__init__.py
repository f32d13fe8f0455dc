"""Benchmarks for the takeaways bot: ``python -m bench`` (``--full`` for the full sizes).

Each benchmark generates its own seeded data (``bench.gen``), runs the real code (the
store, the daily run, python-telegram-bot over HTTP against the stand-in Bot API in a
second process) and reports figures with their targets (``bench.report``). Results and
how to reproduce them: docs/performance.md.
"""
