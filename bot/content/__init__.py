"""The content under faq/: reading, checking and holding sources, FAQ entries, intents, messages."""
