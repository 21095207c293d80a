"""The reader's language and script: read from the store before every update, chosen with
/lang (en, zh, zh-hant, zh-hk, zh-tw, zh-hans), remembered per user."""

from telegram import Update

from bot.telegram.context import BotContext, fixed_text, reply_place, say, user_locale
from index.script import Script, Variant
from index.text import Language

# What /lang takes (and the store keeps): the language, the script and whose Traditional.
LANGUAGE_CHOICES: dict[str, tuple[Language, Script | None, Variant]] = {
    "en": ("en", None, "hk"),
    "zh": ("zh", None, "hk"),
    "zh-hans": ("zh", "Hans", "hk"),
    "zh-cn": ("zh", "Hans", "hk"),
    "zh-hant": ("zh", "Hant", "hk"),
    "zh-hk": ("zh", "Hant", "hk"),
    "zh-tw": ("zh", "Hant", "tw"),
}
# A user who never chose: Telegram's language code decides (see context.user_language).
NO_CHOICE: tuple[Language | None, Script | None, Variant] = (None, None, "hk")


async def load_user(update: Update, context: BotContext) -> None:
    """Before any handler: read the user's stored language (every time: another replica may
    have changed it since this one last saw the user)."""
    user = update.effective_user
    if user is None or context.user_data is None:
        return
    stored = await context.services.store.language_of(user.id)
    data = context.user_data
    data.language, data.script, data.variant = LANGUAGE_CHOICES.get(stored or "", NO_CHOICE)


async def set_language(update: Update, context: BotContext) -> None:
    """Switch the reply language and script: /lang en, zh, zh-hant (zh-hk, zh-tw) or zh-hans;
    remembered per user."""
    tag = (context.args[0].lower().replace("_", "-") if context.args else "")[:16]
    choice = LANGUAGE_CHOICES.get(tag)
    chat = update.effective_chat
    if chat is None:
        return
    if choice is None or context.user_data is None:
        await say(update, context, "lang_usage")
        return
    data = context.user_data
    data.language, data.script, data.variant = choice
    if update.effective_user is not None:
        await context.services.store.remember_language(update.effective_user.id, tag)
    done = fixed_text(context, user_locale(update, context), "lang_set")
    await context.bot.send_message(chat.id, done, **reply_place(update))
