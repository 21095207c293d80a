"""`python -m bot` runs the `rwa-bot` command."""

from bot.cli import main

raise SystemExit(main())
