"""``python -m bot.standin --port 8081``: the stand-in as a server of its own."""

from bot.standin.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
