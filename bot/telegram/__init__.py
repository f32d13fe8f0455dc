"""The Telegram side of takeaways: the bot application (its offline stand-in is bot.standin)."""
