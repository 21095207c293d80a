"""`rwa-bot run [--webhook]`: the Telegram bot, until it is stopped."""

import logging

from bot import bootstrap
from bot.cli.session import EXIT_OK, EXIT_UNUSABLE, Session, load_content


def command(session: Session) -> int:
    """Check the settings the bot needs, then run it; exit 2 with a reason if it cannot."""
    settings, webhook = session.settings, session.args.webhook
    if settings.token is None:
        session.fail(
            "no Telegram token: set RWA_BOT_TOKEN (ask @BotFather for one), "
            "or talk to the bot in the terminal with 'rwa-bot chat'."
        )
        return EXIT_UNUSABLE
    if webhook and not settings.webhook.url:
        session.fail(
            "--webhook needs the public URL: set RWA_BOT_WEBHOOK_URL "
            "(or webhook.url in the config file)."
        )
        return EXIT_UNUSABLE
    content = load_content(session)
    if content is None:
        return EXIT_UNUSABLE
    from bot.telegram.log_masking import mask_secrets_in_logs
    from bot.telegram.run import run_bot

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # httpx logs every request URL, and the Bot API's URLs hold the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Should anything still carry the token or the webhook's secret, the log shows it masked.
    secrets = (settings.token, settings.webhook.secret_token)
    shown = [secret.reveal() for secret in secrets if secret is not None]
    # The database's URL shows no password where the program names it; should a driver's
    # message still carry it, the log masks it too.
    mask_secrets_in_logs(*shown, bootstrap.database_password(settings))
    problem = run_bot(settings, content, webhook=webhook)
    if problem is not None:
        session.fail(problem)
        return EXIT_UNUSABLE
    return EXIT_OK
