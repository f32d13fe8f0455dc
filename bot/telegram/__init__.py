"""The Telegram side of takeaways: the bot application and its offline stand-in."""
