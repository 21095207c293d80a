"""Every message the Telegram bot reads, by reader: `read_content` requires them all.

The content checks only what it reads itself; each reader names its own keys (the answer
policy, the desk and its intake, the Telegram front end here), and whoever loads the content for
the bot passes `BOT_MESSAGE_KEYS`, so `rwa-bot faq check` refuses a file that lacks any of them.
Plain data: importing this module loads no `telegram`.
"""

from bot.answers.answering import MESSAGE_KEYS as ANSWER_KEYS
from bot.consult.desk import MESSAGE_KEYS as DESK_KEYS

# The labels of the inline buttons (bot/telegram/render.py) and the command menu.
BUTTON_KEYS = (
    "lawyer",
    "helpful",
    "not_helpful",
    "claim",
    "close",
    "forget_yes",
    "forget_no",
    "end",
)
COMMAND_KEYS = (
    "start",
    "help",
    "sources",
    "lawyer",
    "lang",
    "cancel",
    "end",
    "mydata",
    "forget",
)
# The messages the handlers and the outbox worker send themselves.
MESSAGE_KEYS = (
    "rate_limited",
    "reload_ok",
    "reload_failed",
    "reload_refused",
    "went_wrong",
    "lang_usage",
    "lang_set",
    "language_name",
    "relay.from_lawyer",
    "relay.text_only",
    "relay.files_after_claim",
    "forget.confirm",
    "forget.done",
    "forget.kept",
    "help",
    "mydata.caption",
    "mydata.nothing",
    "group.private_only",
    "group.open_private_chat",
    "lawyer.refused",
    "lawyer.no_such_ticket",
    "lawyer.reply_usage",
    "lawyer.ticket_usage",
    "lawyer.close_usage",
    "lawyer.user_wrote",
    "lawyer.relay_blocked",
    "lawyer.relay_refused",
    "inline.source",
    "inline.more",
    "inline.open_bot",
)
# What `rwa-bot ask` adds to a request for a lawyer: where to make one.
CLI_MESSAGE_KEYS = ("escalate_how",)
BOT_MESSAGE_KEYS = tuple(
    dict.fromkeys(
        (
            *MESSAGE_KEYS,
            *CLI_MESSAGE_KEYS,
            *ANSWER_KEYS,
            *DESK_KEYS,
            *(f"buttons.{key}" for key in BUTTON_KEYS),
            *(f"commands.{key}" for key in COMMAND_KEYS),
        )
    )
)
