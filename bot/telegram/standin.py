"""The Bot API stand-in's former home: it is the :mod:`bot.standin` package now.

Kept so the documented ``python -m bot.telegram.standin --port 8081`` and imports from
here keep working; new code imports :mod:`bot.standin`.
"""

from bot.standin import *  # noqa: F403  (the package's public names, unchanged)
from bot.standin import __all__ as _public
from bot.standin.cli import main

__all__ = [*_public, "main"]

if __name__ == "__main__":
    raise SystemExit(main())
