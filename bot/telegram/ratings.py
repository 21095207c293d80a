"""The person rates their consultation: a score from the buttons under the question the outbox
sent when it ended, once; and a comment, by replying to that message."""

from telegram import CallbackQuery, Update

from bot.telegram.callbacks import RatingCallback
from bot.telegram.context import BotContext, answer_button, fixed_text, user_locale


async def rate(
    update: Update, context: BotContext, query: CallbackQuery, rating: RatingCallback
) -> None:
    """Keep the score (only the ticket's person, once) and show the thanks in its place."""
    user = update.effective_user
    desk = context.services.desk
    thanks = await desk.rate(rating.ticket_id, user.id, rating.score) if user else None
    if thanks is None:
        await answer_button(
            query, fixed_text(context, user_locale(update, context), "rating.already")
        )
        return
    await answer_button(query)
    if query.message is not None:
        await context.bot.edit_message_text(
            thanks, chat_id=query.message.chat.id, message_id=query.message.message_id
        )


async def comment(update: Update, context: BotContext) -> bool:
    """Whether the message is a comment on a rating (a reply to the thanks, or to the question
    asking for it); kept and thanked for if so."""
    message, user = update.effective_message, update.effective_user
    replied = message.reply_to_message if message is not None else None
    if message is None or user is None or replied is None or message.text is None:
        return False
    queue = context.services.desk.queue
    if not await queue.asked_rating(message.chat_id, replied.message_id):
        return False
    if await queue.comment(message.chat_id, user.id, replied.message_id, message.text.strip()):
        text = fixed_text(context, user_locale(update, context), "rating.comment_thanks")
    else:
        text = fixed_text(context, user_locale(update, context), "rating.already")
    await context.bot.send_message(message.chat_id, text)
    return True
