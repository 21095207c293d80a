"""The update processor: updates of different chats at the same time, one chat's in order."""

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Handles updates of different chats at the same time and those of one chat in order.

    While one chat's answer waits for the database or Telegram, other chats' questions are
    answered; a chat's replies never overtake each other.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._chats: dict[int | None, tuple[asyncio.Lock, int]] = {}
        self._waited: set[int] = set()  # the updates queued behind another of their chat

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await the update's handling once every earlier update of its chat is handled."""
        chat = update.effective_chat if isinstance(update, Update) else None
        user = update.effective_user if isinstance(update, Update) else None
        # An update of no chat (an inline query) goes in order with its user's private chat
        # (whose id is the user's), not behind every other user's.
        key = chat.id if chat is not None else user.id if user is not None else None
        lock, users = self._chats.get(key) or (asyncio.Lock(), 0)
        self._chats[key] = (lock, users + 1)
        waited = update.update_id if isinstance(update, Update) and users > 0 else None
        if waited is not None:
            self._waited.add(waited)
        try:
            async with lock:
                await coroutine
        finally:
            if waited is not None:
                self._waited.discard(waited)
            lock, users = self._chats[key]
            if users == 1:
                del self._chats[key]  # the chat has nothing in flight: forget it
            else:
                self._chats[key] = (lock, users - 1)

    def crowded(self, update: Update) -> bool:
        """Whether `update` is one of several of its chat in flight: it waited behind another,
        or another waits behind it (its reply then says which message it answers)."""
        chat = update.effective_chat
        _, users = self._chats.get(chat.id if chat is not None else None, (None, 0))
        return update.update_id in self._waited or users > 1

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
