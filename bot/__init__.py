"""rwa-bot: answers questions about one legal article with its own words, and hands people who
need real advice to a lawyer. The engine (`bot.answers`) is plain Python; front ends render it.
"""
