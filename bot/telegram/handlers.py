"""The person-facing handlers: commands, questions, and what runs before every update.

Each reads the update, calls the engine or the lawyer queue (the desk), and hands the result
to bot/telegram/sending.py; none decides anything itself.
"""

import asyncio
import logging
import time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot import bootstrap
from bot.answers.followups import Context, context_after
from bot.answers.reply import Reply, Suggestion
from bot.consult.desk import Turn
from bot.telegram import ratings
from bot.telegram.callbacks import ForgetCallback
from bot.telegram.context import (
    BotContext,
    button_labels,
    fixed_text,
    in_private,
    person_of,
    reply_place,
    say,
    source_key,
    user_language,
    user_locale,
    user_script,
)
from bot.telegram.deep_links import EntryLink, LawyerLink, parse_start
from bot.telegram.groups import addressed_command, addressed_question, private_only
from bot.telegram.message_keys import BOT_MESSAGE_KEYS
from bot.telegram.sending import fixed_reply, send_reply, send_turn

log = logging.getLogger(__name__)

# How many content errors /reload shows the administrator (the rest: rwa-bot faq check).
RELOAD_PROBLEMS_SHOWN = 5
# The typing indicator shows when a reply takes longer than this (most take a few milliseconds,
# and an indicator flashing for those would cost a request per question for nothing).
TYPING_DELAY_SECONDS = 0.3
# The FAQ entries /start offers as buttons (entries missing from the content are skipped).
START_EXAMPLES = ("rwa-in-mainland-now", "three-obstacles", "offshore-outlet")


# -- before every handler -----------------------------------------------------------------------


async def note_message(update: Update, context: BotContext) -> None:
    """Before any handler: tell the outbox the id of a message received (see
    OutboxWorker.note: it bounds where a message whose send was cut short can be)."""
    message, outbox = update.effective_message, context.services.outbox
    if message is not None and outbox is not None:
        outbox.note(message.chat_id, message.message_id)


# -- commands -----------------------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> None:
    """Greet in the user's language: what the bot covers, the source, examples to tap; from a
    deep link (/start <payload>), answer its FAQ entry or start the intake instead."""
    match parse_start(context.args, context.services.content.entries):
        case EntryLink(entry_id):
            await answer_entry(update, context, entry_id)
            return
        case LawyerLink():
            await lawyer(update, context)
            return
    language = user_language(update, context)
    entries = context.services.content.entries
    examples = tuple(
        Suggestion(entry_id, entries[entry_id].questions[language][0])
        for entry_id in START_EXAMPLES
        if entry_id in entries
    )
    locale = user_locale(update, context)
    await send_reply(update, context, fixed_reply(context, locale, "smalltalk.greeting", examples))


async def help_command(update: Update, context: BotContext) -> None:
    """Explain what the bot can do."""
    locale = user_locale(update, context)
    await send_reply(update, context, fixed_reply(context, locale, "help"))


async def sources(update: Update, context: BotContext) -> None:
    """List the source documents with their dates."""
    locale = user_locale(update, context)
    content = context.services.content
    lines = [content.source_line(locale, s) for s in content.sources.values()]
    if update.effective_chat is not None:
        text = "\n\n".join(lines)
        await context.bot.send_message(update.effective_chat.id, text, **reply_place(update))


async def lawyer(update: Update, context: BotContext) -> None:
    """Start the way to a lawyer: the user's open ticket, their intake, or a new intake."""
    person = person_of(update)
    if person is None:
        await say(update, context, "escalate")
        return
    if not in_private(update):  # an intake is personal: not in front of a group
        await private_only(update, context, "lawyer")
        return
    desk = context.services.desk
    turn = await desk.request(person, user_language(update, context), update_id=update.update_id)
    await send_turn(update, context, turn)


async def end_conversation(update: Update, context: BotContext) -> None:
    """End the conversation with a lawyer (the user's /end)."""
    person = person_of(update)
    if not in_private(update):
        await private_only(update, context, "end")
    elif person is not None:
        turn = await context.services.desk.end(
            person, user_language(update, context), locale=user_locale(update, context)
        )
        await send_turn(update, context, turn)


async def forget(update: Update, context: BotContext) -> None:
    """Ask to confirm deleting everything the bot keeps about the user."""
    chat = update.effective_chat
    if chat is None:
        return
    if not in_private(update):
        await private_only(update, context, "forget")
        return
    labels = button_labels(context, user_locale(update, context))
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(labels.forget_yes, callback_data=ForgetCallback(True).data)],
            [InlineKeyboardButton(labels.forget_no, callback_data=ForgetCallback(False).data)],
        ]
    )
    confirm = fixed_text(context, user_locale(update, context), "forget.confirm")
    await context.bot.send_message(chat.id, confirm, reply_markup=keyboard)


async def cancel(update: Update, context: BotContext) -> None:
    """Leave whatever is in progress (an intake); the bot answers questions again."""
    person = person_of(update)
    if not in_private(update):
        await private_only(update, context, "cancel")
        return
    if person is not None:
        turn = await context.services.desk.cancel(person, user_language(update, context))
        if turn.handled:
            await send_turn(update, context, turn)
            return
    await say(update, context, "smalltalk.acknowledgement")


async def reload_content(update: Update, context: BotContext) -> None:
    """Check faq/ and swap in the new index without a restart (administrators only)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    services = context.services
    if user.id not in services.settings.admin_ids:
        log.warning("refused /reload from a user who is not an administrator")
        await say(update, context, "reload_refused")
        return
    # Reading, checking and indexing take about a second: off the event loop.
    content, problems = await asyncio.to_thread(
        bootstrap.read_bot_content, services.settings, BOT_MESSAGE_KEYS
    )
    locale = user_locale(update, context)
    if content is None:
        errors = [str(p) for p in problems if p.severity == "error"]
        shown = "\n".join(errors[:RELOAD_PROBLEMS_SHOWN])
        more = len(errors) - RELOAD_PROBLEMS_SHOWN
        tail = f"\n(+{more} more: run rwa-bot faq check)" if more > 0 else ""
        failed = fixed_text(context, locale, "reload_failed")
        await context.bot.send_message(chat.id, f"{failed}\n{shown}{tail}")
        return
    engine = await asyncio.to_thread(bootstrap.build_answerer, services.settings, content)
    services.engine, services.content = engine, content  # one step: no half-swapped state
    services.desk.use_content(content)
    log.info("content reloaded: %d entries", len(content.entries))
    entries, sources = len(content.entries), len(content.sources)
    done = fixed_text(context, locale, "reload_ok", entries=entries, sources=sources)
    await context.bot.send_message(chat.id, done)


# -- messages -----------------------------------------------------------------------------------


async def question(update: Update, context: BotContext) -> None:
    """Any other text: an intake answer, a message for the user's lawyer, or a question."""
    message, person = update.effective_message, person_of(update)
    if message is None or message.text is None or person is None:
        return
    if in_private(update):  # a consultation lives in the user's private chat only
        if await ratings.comment(update, context):  # a reply to the rating's thanks
            return
        turn = await context.services.desk.message(
            person,
            message.text,
            update_id=update.update_id,
            source_key=source_key(update),
            locale=user_locale(update, context),
        )
        if turn.handled:
            await send_desk_turn(update, context, turn)
            return
    await _answer_unless_flooding(update, context, message.text)


async def group_question(update: Update, context: BotContext) -> None:
    """A text in a group: a question when it mentions the bot or replies to it (answered
    without the mention; a bare mention gets the greeting); anything else is not for the bot."""
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    asked = addressed_question(message, context.bot.id, context.bot.username)
    if asked is None:
        return
    if not asked:
        await start(update, context)
        return
    await _answer_unless_flooding(update, context, asked)


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not know gets the help text, unless it is a bare /command in a
    group (another bot's, as likely as not)."""
    message = update.effective_message
    if message is not None and addressed_command(message, context.bot.username):
        await help_command(update, context)


async def _answer_unless_flooding(update: Update, context: BotContext, question: str) -> None:
    """Answer the question, unless its sender is over the rate limit (told so once)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    limiter = context.services.limiter
    if not limiter.allow(user.id):
        if limiter.should_warn(user.id):
            language = user_language(update, context)
            await message.reply_text(fixed_text(context, language, "rate_limited"))
        return
    await answer(update, context, question)


async def not_text(update: Update, context: BotContext) -> None:
    """A photo, file or sticker: only text is answered or passed on to a lawyer."""
    await say(update, context, "relay.text_only")


async def error_handler(update: object, context: BotContext) -> None:
    """Log a failure with its update id, and tell the user something went wrong."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error(
        "failed to handle update %s: %s",
        update_id,
        type(context.error).__name__,
        exc_info=context.error,
    )
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            went_wrong = fixed_text(context, user_locale(update, context), "went_wrong")
            chat_id = update.effective_chat.id
            await context.bot.send_message(chat_id, went_wrong, **reply_place(update))
        except Exception:  # the error handler itself must never raise
            log.error("could not tell the user about update %s", update_id)


async def send_desk_turn(update: Update, context: BotContext, turn: Turn) -> None:
    """Send what the desk answered; a question it hands back (asked in the middle of the
    intake) is answered by the engine, then what follows it is sent."""
    await send_turn(update, context, turn)
    if turn.question is not None:
        await answer(update, context, turn.question)
    if turn.then:
        await send_turn(update, context, Turn(turn.then))


# -- answering a question -----------------------------------------------------------------------


async def answer(update: Update, context: BotContext, question: str) -> None:
    """Run the engine on a question, store it with the decision, send the reply."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    thread = reply_place(update).get("message_thread_id")
    typing = asyncio.create_task(_typing_after(context, (chat.id, thread), TYPING_DELAY_SECONDS))
    try:
        script, variant = user_script(update, context)
        # A group keeps no thread of its own: it would belong to nobody (/forget, /mydata).
        private = in_private(update)
        earlier = await _context_of(context, chat.id) if private else None
        reply: Reply = context.services.engine.reply(
            question,
            user_language(update, context),
            script_hint=script,
            variant=variant,
            context=earlier,
        )
        if private:
            await _keep_context(context, chat.id, earlier, reply)
        question_id = await _record(update, context, question, reply)
        if reply.kind == "escalate":
            await lawyer(update, context)  # straight into the intake (in a group: the way)
        else:
            await send_reply(update, context, reply, question_id)
    finally:
        typing.cancel()


async def answer_entry(update: Update, context: BotContext, entry_id: str) -> None:
    """Answer FAQ entry `entry_id` itself (a deep link names it), stored as its question asked."""
    chat = update.effective_chat
    if chat is None or update.effective_user is None:
        return
    script, variant = user_script(update, context)
    language = user_language(update, context)
    reply = context.services.engine.entry_reply(entry_id, language, script=script, variant=variant)
    await _keep_context(context, chat.id, await _context_of(context, chat.id), reply)
    question_id = await _record(update, context, reply.question, reply)
    await send_reply(update, context, reply, question_id)


async def _record(update: Update, context: BotContext, question: str, reply: Reply) -> int | None:
    """Store the question with the engine's decision; its id, or None if it could not be
    stored (the record is for the maintainer: the user still gets the answer, without vote
    buttons, which would need the stored question)."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None  # answer() answers those only
    try:
        return await context.services.store.record_question(
            user_id=user.id,
            chat_id=chat.id,
            language=reply.language,
            text=question,
            kind=reply.kind,
            faq_id=reply.faq_id,
            confidence=reply.confidence,
            passage_ids=reply.passage_refs,
        )
    except Exception as error:
        log.warning("update %s: question not stored (%s)", update.update_id, type(error).__name__)
        return None


async def _context_of(context: BotContext, chat_id: int) -> Context | None:
    """The chat's last answer, if recent enough for a follow-up to refer to it."""
    try:
        earlier = await context.services.store.context_of(chat_id)
    except Exception as error:  # a follow-up read alone is still answered
        log.warning("conversation context not read (%s)", type(error).__name__)
        return None
    seconds = context.services.settings.context_minutes * 60
    return earlier if earlier is not None and time.time() - earlier.at <= seconds else None


async def _keep_context(
    context: BotContext, chat_id: int, earlier: Context | None, reply: Reply
) -> None:
    """Keep what the reply leaves for the next message of the chat (in the store, so that any
    process of the bot, and the bot after a restart, reads the same)."""
    after = context_after(reply, earlier, time.time())
    if after is earlier:
        return
    try:
        await context.services.store.keep_context(chat_id, after)
    except Exception as error:
        log.warning("conversation context not kept (%s)", type(error).__name__)


async def _typing_after(context: BotContext, where: tuple[int, int | None], delay: float) -> None:
    """Show the typing indicator in a chat (and forum topic) if the reply is not sent within
    `delay` seconds."""
    await asyncio.sleep(delay)
    try:
        chat_id, thread = where
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING, message_thread_id=thread)
    except TelegramError as error:  # an indicator is not worth failing over
        log.warning("could not show the typing indicator: %s", type(error).__name__)
