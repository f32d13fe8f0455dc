"""The Bot API methods the stand-in answers, one mixin per group of Telegram's docs."""
