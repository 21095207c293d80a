"""The `rwa-bot` command line: ask, chat, report, queue, run, faq check, eval."""
