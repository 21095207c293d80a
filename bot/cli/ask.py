"""`rwa-bot ask`: answer a question, or each line of standard input (one conversation with
`--conversation`), as plain text or JSON."""

import json

from bot.answers.followups import Conversation
from bot.answers.reply import render_plain, to_json
from bot.cli.session import EXIT_OK, EXIT_UNUSABLE, Session, load_engine


def command(session: Session) -> int:
    """Print the reply to each question."""
    engine = load_engine(session)
    if engine is None:
        return EXIT_UNUSABLE
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
        if args.json:
            print(json.dumps(to_json(reply), ensure_ascii=False), file=out, flush=True)
        else:
            if len(questions) > 1:
                print(("\n" if number else "") + f"» {question}", file=out)
            print(render_plain(reply), file=out, flush=True)
    return EXIT_OK
