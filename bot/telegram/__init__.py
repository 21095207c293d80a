"""The Telegram front end: handlers, rendering, the outbox worker, polling, webhooks and HTTP."""
