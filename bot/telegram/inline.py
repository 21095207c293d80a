"""Inline mode: `@bot question` typed in any chat offers the answer as cards to share
(bot/telegram/inline_cards.py), the best first, each with a deep link back to the bot.

The engine decides as for a message, with no conversation (an inline query belongs to no chat)
and nothing stored: Telegram sends a query for every pause in the typing, so its questions are
drafts, and they are asked of nobody in particular.
"""

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode

from bot.answers.reply import Reply
from bot.content.loader import locale_for
from bot.telegram.context import BotContext, button_labels, user_language, user_script
from bot.telegram.deep_links import GREETING_PAYLOAD, LAWYER_PAYLOAD, deep_link
from bot.telegram.inline_cards import Card, CardParts, render_card
from index.script import Variant, to_traditional

# At most this many cards: the answer, then the entries it relates to (or those a clarifying
# reply offers).
MAX_CARDS = 3
# Telegram keeps the answer to one query for this long, for the asking user only: the cards
# are in their language and script, which their settings decide as much as the query.
CACHE_SECONDS = 300


async def inline_query(update: Update, context: BotContext) -> None:
    """Offer the answer to `@bot question` as cards to share, or a button into the bot."""
    query = update.inline_query
    if query is None:
        return
    script, variant = user_script(update, context)
    text = query.query.strip()
    reply = (
        context.services.engine.reply(
            text, user_language(update, context), script_hint=script, variant=variant
        )
        if text
        else None
    )
    cards = _cards(context, reply, variant) if reply is not None else []
    results = [
        InlineQueryResultArticle(
            id=result_id,
            title=card.title,
            description=card.description,
            input_message_content=InputTextMessageContent(card.html, parse_mode=ParseMode.HTML),
        )
        for result_id, card in cards
    ]
    await query.answer(
        results,
        cache_time=CACHE_SECONDS,
        is_personal=True,
        button=None if results else _button(update, context, reply, variant),
    )


def _cards(context: BotContext, reply: Reply, variant: Variant) -> list[tuple[str, Card]]:
    """The cards of a reply, each with its result id: the answered entry and those it relates
    to, the entries a clarifying reply offers, or a quoted passage; none for the other kinds."""
    engine, username = context.services.engine, context.bot.username
    if reply.kind == "clarify":
        entry_ids = [s.faq_id for s in reply.suggestions]
    elif reply.kind == "answer" and reply.faq_id is not None:
        entry_ids = [reply.faq_id, *(s.faq_id for s in reply.suggestions)]
    elif reply.kind == "answer":  # a passage where no entry fits: it links to the bot itself
        card = render_card(_parts(context, reply, variant, deep_link(username)))
        return [("passage", card)] if card is not None else []
    else:
        return []
    cards = []
    for entry_id in list(dict.fromkeys(entry_ids))[:MAX_CARDS]:
        shared = engine.entry_reply(entry_id, reply.language, script=reply.script, variant=variant)
        card = render_card(_parts(context, shared, variant, deep_link(username, entry_id)))
        if card is not None:
            cards.append((entry_id, card))
    return cards


def _parts(context: BotContext, reply: Reply, variant: Variant, link: str) -> CardParts:
    """What the card of `reply` says, in its language and script, with its first passage."""
    content = context.services.content
    locale = locale_for(reply.language, reply.script, variant)
    cited = reply.citations[0] if reply.citations else None
    source = content.sources.get(cited.source) if cited is not None else None
    question = reply.question
    if reply.script == "Hant":  # the engine converts what it writes, not what it was asked
        question = to_traditional(question, variant)
    return CardParts(
        question=question,
        answer=reply.body,
        section=cited.section if cited is not None else "",
        passage=cited.text if cited is not None else "",
        source=content.source_message(locale, "inline.source", source) if source else "",
        disclaimer=reply.disclaimer,
        more=content.message(locale, "inline.more"),
        link=link,
    )


def _button(
    update: Update, context: BotContext, reply: Reply | None, variant: Variant
) -> InlineQueryResultsButton:
    """The button over no results: into the intake for a request for a lawyer, else into the
    bot's greeting."""
    if reply is None:
        language, script = user_language(update, context), user_script(update, context)[0]
    else:
        language, script = reply.language, reply.script
    locale = locale_for(language, script, variant)
    if reply is not None and reply.kind == "escalate":
        return InlineQueryResultsButton(
            button_labels(context, locale).lawyer, start_parameter=LAWYER_PAYLOAD
        )
    text = context.services.content.message(locale, "inline.open_bot")
    return InlineQueryResultsButton(text, start_parameter=GREETING_PAYLOAD)
