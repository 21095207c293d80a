"""`python -m bot` runs the `rwa-bot` command."""

from bot.cli.main import main

raise SystemExit(main())
