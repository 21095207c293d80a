"""`rwa-bot ask`: answer a question, or each line of standard input (one conversation with
`--conversation`), as plain text or JSON. A request for a lawyer is told how to make one: this
command files nothing (`/lawyer` on Telegram and in `rwa-bot chat` do)."""

import dataclasses
import json

from bot import bootstrap
from bot.answers.followups import Conversation
from bot.answers.reply import Reply, render_plain, to_json
from bot.cli.session import EXIT_OK, EXIT_UNUSABLE, Session, load_content
from bot.content.loader import Content, locale_for


def command(session: Session) -> int:
    """Print the reply to each question."""
    content = load_content(session)
    if content is None:
        return EXIT_UNUSABLE
    engine = bootstrap.build_answerer(session.settings, content)
    args, out = session.args, session.out
    if args.question:
        questions = [" ".join(args.question)]
    else:
        questions = [line.rstrip("\r\n") for line in session.stdin]
    conversation = Conversation(engine) if args.conversation else None
    for number, question in enumerate(questions):
        if conversation is not None:
            reply = conversation.reply(question, args.lang)
        else:
            reply = engine.reply(question, args.lang)
        reply = with_the_way_to_a_lawyer(reply, content)
        if args.json:
            print(json.dumps(to_json(reply), ensure_ascii=False), file=out, flush=True)
        else:
            if len(questions) > 1:
                print(("\n" if number else "") + f"» {question}", file=out)
            print(render_plain(reply), file=out, flush=True)
    return EXIT_OK


def with_the_way_to_a_lawyer(reply: Reply, content: Content) -> Reply:
    """A request for a lawyer with where to make one (`escalate_how`) after its body, in the
    reply's language and script; any other reply as it is."""
    if reply.kind != "escalate":
        return reply
    how = content.message(locale_for(reply.language, reply.script, "hk"), "escalate_how")
    return dataclasses.replace(reply, body=f"{reply.body}\n\n{how}")
