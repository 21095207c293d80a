"""The lawyers' handlers: /queue, /ticket, /reply, /close, a ticket card's buttons, and replies
to cards in the lawyers' group. Anyone may type the commands; only lawyers are obeyed.
"""

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.consult.model import Person
from bot.consult.row_ids import parse_row_id
from bot.telegram.callbacks import CardAction
from bot.telegram.context import BotContext, answer_button, person_of, source_key

log = logging.getLogger(__name__)


async def queue_command(update: Update, context: BotContext) -> None:
    """/queue: the open and claimed tickets (lawyers only)."""
    if await lawyer_or_refuse(update, context, "/queue"):
        await tell_lawyer(update, context, await context.services.desk.queue_text())


async def ticket_command(update: Update, context: BotContext) -> None:
    """/ticket N: one ticket's card (lawyers only)."""
    if not await lawyer_or_refuse(update, context, "/ticket"):
        return
    number = await _ticket_number(update, context, "ticket_usage")
    if number is not None:
        await tell_lawyer(update, context, await context.services.desk.ticket_text(number))


async def reply_command(update: Update, context: BotContext) -> None:
    """/reply N text: a message for the ticket's user (lawyers only)."""
    lawyer_person = await lawyer_or_refuse(update, context, "/reply")
    message = update.effective_message
    if lawyer_person is None or message is None or message.text is None:
        return
    parts = message.text.split(maxsplit=2)
    if len(parts) < 3 or not parts[2].strip():
        await tell_lawyer(update, context, lawyer_text(context, "reply_usage"))
        return
    number = await _ticket_number(update, context, "reply_usage")
    if number is not None:
        await _relay_to_user(update, context, lawyer_person, number, parts[2])


async def close_command(update: Update, context: BotContext) -> None:
    """/close N [force]: end a ticket's conversation (lawyers only; force: another's)."""
    lawyer_person = await lawyer_or_refuse(update, context, "/close")
    if lawyer_person is None:
        return
    number = await _ticket_number(update, context, "close_usage")
    if number is None:
        return
    extra = [word.lower() for word in (context.args or [])[1:]]
    if extra not in ([], ["force"]):
        await tell_lawyer(update, context, lawyer_text(context, "close_usage"))
        return
    closed = await context.services.desk.close(number, lawyer_person, force=extra == ["force"])
    await tell_lawyer(update, context, closed)


async def card_button(
    update: Update, context: BotContext, action: CardAction, ticket_id: int
) -> None:
    """Claim or Close on a ticket card (lawyers only)."""
    query = update.callback_query
    lawyer_person = await lawyer_or_refuse(update, context, f"the {action} button")
    if query is None or lawyer_person is None:
        return
    desk = context.services.desk
    if action == "claim":
        await answer_button(query, await desk.claim(ticket_id, lawyer_person), show_alert=True)
    else:
        await answer_button(query, await desk.close(ticket_id, lawyer_person))


async def lawyers_group_message(update: Update, context: BotContext) -> None:
    """In the lawyers' group, a reply to a ticket card or relayed message works like /reply."""
    message = update.effective_message
    if message is None or message.text is None or message.reply_to_message is None:
        return  # the lawyers talking among themselves: not for the bot
    bot_id = context.bot.id
    replied = message.reply_to_message
    if replied.from_user is None or replied.from_user.id != bot_id:
        return
    number = await context.services.desk.ticket_for_message(replied.chat_id, replied.message_id)
    if number is None:
        return
    lawyer_person = await lawyer_or_refuse(update, context, "a reply to a ticket")
    if lawyer_person is not None:
        await _relay_to_user(update, context, lawyer_person, number, message.text)


async def lawyers_group_migrated(update: Update, context: BotContext) -> None:
    """The lawyers' group became a supergroup: follow it to its new id."""
    message, outbox = update.effective_message, context.services.outbox
    if message is not None and message.migrate_to_chat_id and outbox is not None:
        outbox.follow_lawyers_chat(message.migrate_to_chat_id)


async def lawyer_or_refuse(update: Update, context: BotContext, what: str) -> Person | None:
    """The acting lawyer; anyone else is refused, and the attempt logged (without who it was)."""
    person = person_of(update)
    lawyers = context.services.settings.lawyers
    chat = update.effective_chat
    # Tickets hold personal data: shown only in the lawyers' group or a lawyer's private chat.
    outbox = context.services.outbox
    group = {lawyers.chat_id, outbox.lawyers_chat_id if outbox is not None else None} - {None}
    fitting_chat = chat is not None and (chat.type == chat.PRIVATE or chat.id in group)
    if person is not None and person.user_id in lawyers.user_ids and fitting_chat:
        return person
    # Logged without the user's id: it is personal data, and /forget cannot reach the logs.
    log.warning("refused %s from a user who is not a lawyer", what)
    refusal = lawyer_text(context, "refused")
    if update.callback_query is not None:
        await answer_button(update.callback_query, refusal, show_alert=True)
    elif update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, refusal)
    return None


async def _relay_to_user(
    update: Update, context: BotContext, lawyer_person: Person, number: int, text: str
) -> None:
    key = source_key(update)
    assert key is not None  # called for messages only
    refusal = await context.services.desk.reply(number, lawyer_person, text, key)
    await tell_lawyer(update, context, refusal)


def lawyer_text(context: BotContext, key: str, **fields: object) -> str:
    language = context.services.settings.lawyers.language
    return context.services.content.message(language, f"lawyer.{key}", **fields)


async def tell_lawyer(update: Update, context: BotContext, text: str | None) -> None:
    """Answer the lawyer where they wrote (in a forum topic: in that topic)."""
    message = update.effective_message
    topic = message.message_thread_id if message is not None and message.is_topic_message else None
    if text is not None and update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, text, message_thread_id=topic)


async def _ticket_number(update: Update, context: BotContext, usage: str) -> int | None:
    """The ticket number a lawyer's command names; else None, the lawyer told why (the
    `usage` message, or that no such ticket exists for a number out of range: no query is made
    with a number no ticket can have)."""
    first = context.args[0].lstrip("#") if context.args else ""
    if not first.isascii() or not first.isdigit():
        await tell_lawyer(update, context, lawyer_text(context, usage))
        return None
    number = parse_row_id(first)
    if number is None:
        shown = first if len(first) <= 20 else first[:20] + "…"
        await tell_lawyer(update, context, lawyer_text(context, "no_such_ticket", ticket=shown))
    return number


async def find_lawyer(context: BotContext, chat_id: int, named: str) -> Person | None:
    """The firm's lawyer `named` by @username or Telegram user id, as the lawyers' group knows
    them (getChatMember: their name as it is now); None if no lawyer is."""
    wanted = named.removeprefix("@").lower()
    for user_id in sorted(context.services.settings.lawyers.user_ids):
        if wanted.isdigit() and int(wanted) != user_id:
            continue
        try:
            member = await context.bot.get_chat_member(chat_id, user_id)
        except TelegramError:
            continue  # not in the group (any more)
        user = member.user
        if wanted.isdigit() or (user.username or "").lower() == wanted:
            return Person(user.id, None, user.full_name, user.username)
    return None
