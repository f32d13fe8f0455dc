"""Pure calendar and round rules: when a chat is due, and the order it reads in.

Plain functions over dates, times and integers, with no I/O. The store, the daily run
and the bot all apply them, so they live below all three and import nothing of ours.
"""
