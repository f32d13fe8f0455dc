"""takeaways: a self-hosted Telegram bot that sends one reading takeaway a day."""

__version__ = "0.1.0"
