"""The handler of every inline button: a suggested question, a vote, the way to a lawyer, an
intake choice, /forget's answer, or a ticket card's Claim or Close (bot/telegram/lawyers.py).
"""

from telegram import CallbackQuery, Update

from bot.telegram import ratings
from bot.telegram.callbacks import (
    AskCallback,
    CardCallback,
    ChoiceCallback,
    ForgetCallback,
    LawyerCallback,
    RatingCallback,
    VoteCallback,
    parse_callback,
)
from bot.telegram.context import (
    BotContext,
    answer_button,
    fixed_text,
    person_of,
    say,
    user_language,
    user_locale,
)
from bot.telegram.handlers import answer_entry, lawyer, send_desk_turn
from bot.telegram.lawyers import card_button


async def button(update: Update, context: BotContext) -> None:
    """Handle a button press by what its callback data asks for."""
    query = update.callback_query
    if query is None:
        return
    match parse_callback(query.data):
        case AskCallback(faq_id) if faq_id in context.services.content.entries:
            await answer_button(query)
            await answer_entry(update, context, faq_id)  # that entry, as its deep link does
        case VoteCallback() as vote if update.effective_user is not None:
            await _vote(update, context, query, vote)
        case LawyerCallback():
            await answer_button(query)
            await lawyer(update, context)
        case ChoiceCallback() as choice if person_of(update) is not None:
            await _choose(update, context, query, choice)
        case ForgetCallback(confirmed) if update.effective_user is not None:
            await answer_button(query)
            await _forget(update, context, confirmed)
        case CardCallback(action, ticket_id):
            await card_button(update, context, action, ticket_id)
        case RatingCallback() as rating:
            await ratings.rate(update, context, query, rating)
        case _:  # stale or unknown: a polite word, never an error
            await _acknowledge(update, context, query)


async def _vote(
    update: Update, context: BotContext, query: CallbackQuery, vote: VoteCallback
) -> None:
    """Count a 👍 or 👎 and thank for it."""
    assert update.effective_user is not None  # button() passes on votes of users only
    # A vote counts on an answer given in the chat whose button was pressed: callback data
    # can be forged, the chat of the message it came from cannot.
    shown_in = query.message.chat.id if query.message is not None else None
    stored = shown_in is not None and await context.services.store.record_vote(
        question_id=vote.question_id,
        user_id=update.effective_user.id,
        vote=vote.vote,
        chat_id=shown_in,
    )
    thanks = (
        fixed_text(context, user_locale(update, context), "smalltalk.thanks") if stored else None
    )
    await answer_button(query, thanks)


async def _choose(
    update: Update, context: BotContext, query: CallbackQuery, choice: ChoiceCallback
) -> None:
    """Take an intake choice; a button of a finished intake or of an earlier step gets a
    polite word, once."""
    person = person_of(update)
    assert person is not None  # button() passes on choices of people only
    turn = await context.services.desk.choose(
        person,
        choice.step,
        choice.value,
        update_id=update.update_id,
        locale=user_locale(update, context),
    )
    if turn.handled:
        await answer_button(query)
        await send_desk_turn(update, context, turn)
    else:
        await _acknowledge(update, context, query)


async def _forget(update: Update, context: BotContext, confirmed: bool) -> None:
    """Delete everything kept about the user, or keep it, as they answered /forget."""
    if confirmed and update.effective_user is not None:
        chat = update.effective_chat
        await context.services.desk.forget(
            update.effective_user.id,
            chat_id=chat.id if chat is not None else None,
            language=user_language(update, context),
        )
        if context.user_data is not None:
            context.user_data.language, context.user_data.script = None, None
    await say(update, context, "forget.done" if confirmed else "forget.kept")


async def _acknowledge(update: Update, context: BotContext, query: CallbackQuery) -> None:
    await answer_button(
        query, fixed_text(context, user_locale(update, context), "smalltalk.acknowledgement")
    )
