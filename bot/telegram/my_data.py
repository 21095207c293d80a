"""/mydata: the person gets, as a JSON file in their private chat, everything the bot keeps
about them (bot/store/export.py; `rwa-bot privacy export` gives the firm the same)."""

from telegram import Update

from bot.store.export import personal_data
from bot.telegram.context import BotContext, fixed_text, in_private, say, user_locale
from bot.telegram.groups import private_only

FILE_NAME = "rwa-bot-my-data-{date}.json"


async def my_data(update: Update, context: BotContext) -> None:
    """Send the user a JSON document of everything the bot keeps about them."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    if not in_private(update):  # their data is for them, not for a group
        await private_only(update, context, "mydata")
        return
    found = await personal_data(context.services.store.engine, user.id)
    if found.empty:
        await say(update, context, "mydata.nothing")
        return
    date = found.generated_at.date().isoformat()
    caption = fixed_text(context, user_locale(update, context), "mydata.caption", date=date)
    await context.bot.send_document(
        chat.id,
        found.document().encode("utf-8"),
        filename=FILE_NAME.format(date=date),
        caption=caption,
    )
