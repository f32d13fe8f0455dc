"""Allow ``python -m bot``."""

from bot.cli import main

if __name__ == "__main__":  # a spawned worker process (bot/importer.py) must not run it
    raise SystemExit(main())
