"""The lawyers in a ticket's forum topic: what a lawyer writes there goes to the person (the first
lawyer to write takes the ticket); a note (/note text, or a message starting with "!") stays in
the topic for the lawyers; /close closes the ticket and its topic.
"""

from telegram import Update

from bot.telegram import lawyers
from bot.telegram.context import BotContext, source_key
from bot.telegram.lawyers import find_lawyer, lawyer_or_refuse, lawyer_text, tell_lawyer

NOTE_MARK = "!"


def topic_of(update: Update) -> int | None:
    """The forum topic the update's message was written in; None: none (or General)."""
    message = update.effective_message
    if message is None or not message.is_topic_message:
        return None
    return message.message_thread_id


async def ticket_in_topic(update: Update, context: BotContext) -> int | None:
    """The ticket whose topic the message was written in, if any."""
    topic = topic_of(update)
    return None if topic is None else await context.services.desk.ticket_for_topic(topic)


async def topic_message(update: Update, context: BotContext, number: int) -> None:
    """A lawyer's text in ticket `number`'s topic: for the person, unless it is a note."""
    message = update.effective_message
    if message is None or message.text is None or message.text.lstrip().startswith(NOTE_MARK):
        return  # a note: it stays in the topic, and nowhere else
    lawyer = await lawyer_or_refuse(update, context, "a message in a ticket's topic")
    key = source_key(update)
    if lawyer is None or key is None:
        return
    told = await context.services.desk.write_in_topic(number, lawyer, message.text, key)
    await tell_lawyer(update, context, told)


async def note_command(update: Update, context: BotContext) -> None:
    """/note text: a note on the ticket, for the lawyers only (never relayed)."""
    if await lawyer_or_refuse(update, context, "/note") is not None:
        await tell_lawyer(update, context, lawyer_text(context, "note_kept"))


async def close_in_topic(update: Update, context: BotContext, number: int) -> None:
    """/close in a ticket's topic: close the ticket (as /close N) and then its topic."""
    lawyer = await lawyer_or_refuse(update, context, "/close")
    chat, topic = update.effective_chat, topic_of(update)
    if lawyer is None or chat is None or topic is None:
        return
    force = [word.lower() for word in context.args or []] == ["force"]
    desk, outbox = context.services.desk, context.services.outbox
    await tell_lawyer(update, context, await desk.close(number, lawyer, force=force))
    ticket = await desk.queue.ticket(number)
    if ticket is not None and ticket.status == "closed" and outbox is not None:
        await outbox.topics.close(chat.id, topic)


async def group_message(update: Update, context: BotContext) -> None:
    """A text in the lawyers' group: in a ticket's topic, for its person; else as before (a
    reply to a card or relayed message works like /reply)."""
    chat, outbox = update.effective_chat, context.services.outbox
    if chat is not None and outbox is not None:  # topics may have been turned on or off
        outbox.topics.learn(chat.id, bool(chat.is_forum))
    number = await ticket_in_topic(update, context)
    if number is not None:
        await topic_message(update, context, number)
    else:
        await lawyers.lawyers_group_message(update, context)


async def close_command(update: Update, context: BotContext) -> None:
    """/close: in a ticket's topic with no number, that ticket; else /close N as before."""
    number = await ticket_in_topic(update, context)
    first = (context.args or [""])[0].lstrip("#")
    if number is not None and not first.isdigit():
        await close_in_topic(update, context, number)
    else:
        await lawyers.close_command(update, context)


async def unclaim_command(update: Update, context: BotContext) -> None:
    """/unclaim [N]: give the ticket (of this topic, or N) back to every lawyer."""
    lawyer = await lawyer_or_refuse(update, context, "/unclaim")
    named = await _ticket_named(update, context) if lawyer is not None else None
    if lawyer is not None and named is not None:
        told = await context.services.desk.hand_over(named[0], lawyer, None)
        await tell_lawyer(update, context, told)


async def assign_command(update: Update, context: BotContext) -> None:
    """/assign [N] @lawyer (or their user id): hand the ticket to another lawyer."""
    lawyer = await lawyer_or_refuse(update, context, "/assign")
    named = await _ticket_named(update, context) if lawyer is not None else None
    if lawyer is None or named is None:
        return
    number, rest = named
    if len(rest) != 1:
        await tell_lawyer(update, context, lawyer_text(context, "assign_usage"))
        return
    chat = update.effective_chat
    target = await find_lawyer(context, chat.id if chat is not None else 0, rest[0])
    if target is None:
        await tell_lawyer(update, context, lawyer_text(context, "not_a_lawyer", who=rest[0]))
        return
    await tell_lawyer(
        update, context, await context.services.desk.hand_over(number, lawyer, target)
    )


async def snip_command(update: Update, context: BotContext) -> None:
    """/snip [N] NAME: send the person a canned reply (faq/snippets.yaml) in their language."""
    lawyer = await lawyer_or_refuse(update, context, "/snip")
    named = await _ticket_named(update, context) if lawyer is not None else None
    key = source_key(update)
    if lawyer is None or named is None or key is None:
        return
    number, rest = named
    told = await context.services.desk.snip(number, lawyer, " ".join(rest), key)
    await tell_lawyer(update, context, told)


async def _ticket_named(update: Update, context: BotContext) -> tuple[int, list[str]] | None:
    """The ticket of the topic the command was sent in (all its words then name the lawyer),
    else the number its first word gives, with the words after it; None, the lawyer told how,
    when neither."""
    words = list(context.args or [])
    number = await ticket_in_topic(update, context)
    if number is not None:
        return number, words
    first = (words or [""])[0].lstrip("#")
    if first.isascii() and first.isdigit():
        return int(first), words[1:]
    await tell_lawyer(update, context, lawyer_text(context, "assign_usage"))
    return None
