"""The answer policy: what to reply to a message, the reply itself, follow-ups and evaluation."""
