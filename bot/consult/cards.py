"""What the lawyers' group reads about tickets: a ticket's card, its status and the /queue list,
in the lawyers' language, from the content's messages."""

from collections.abc import Sequence

from bot.consult.intake import ASSET, JURISDICTION, Intake
from bot.consult.model import Ticket
from bot.consult.routing import Route, mentions
from bot.content.loader import Content

# The messages the lawyers read (`read_content` requires them, through the desk's MESSAGE_KEYS).
MESSAGE_KEYS = (
    "lawyer.card_title",
    "lawyer.status_open",
    "lawyer.status_claimed",
    "lawyer.status_closed",
    "lawyer.card_user",
    "lawyer.card_consent",
    "lawyer.card_for",
    "lawyer.card_questions",
    "lawyer.card_no_questions",
    "lawyer.already_claimed",
    "lawyer.claimed_ok",
    "lawyer.no_such_ticket",
    "lawyer.not_claimed",
    "lawyer.not_yours",
    "lawyer.close_not_yours",
    "lawyer.closed_ok",
    "lawyer.already_closed",
    "lawyer.queue_empty",
    "lawyer.queue_heading",
    "lawyer.user_ended",
    "lawyer.reminder",
    "lawyer.offline_ticket",
    "lawyer.topic_opened",
    "lawyer.note_kept",
    "lawyer.claimed_in_topic",
    "lawyer.assigned_ok",
    "lawyer.unclaimed_ok",
    "lawyer.assign_usage",
    "lawyer.not_a_lawyer",
    "lawyer.snip_unknown",
    "lawyer.overdue",
    "lawyer.lead",
)
TOPIC_NAME_LIMIT = 128  # Telegram's longest topic name
# A ticket card stays well under Telegram's 4096 characters.
CARD_LIMIT = 3500
QUESTION_PREVIEW = 200


class Cards:
    """The lawyers' texts: `lawyer.*` messages in `language`, cards and the queue list."""

    def __init__(
        self, content: Content, intake: Intake, language: str, routes: tuple[Route, ...] = ()
    ) -> None:
        self.content = content
        self.intake = intake
        self.language = language
        self.routes = routes

    def text(self, key: str, **fields: object) -> str:
        """The message `lawyer.<key>` in the lawyers' language, with `fields` filled in."""
        return self.content.message(self.language, f"lawyer.{key}", **fields)

    def status(self, ticket: Ticket) -> str:
        """The ticket's status as the lawyers read it (claimed: by whom)."""
        if ticket.status == "claimed":
            return self.text("status_claimed", lawyer=ticket.lawyer_name or "?")
        return self.text(f"status_{ticket.status}")

    def topic_name(self, ticket: Ticket) -> str:
        """The name of the ticket's forum topic: its number and what it is about in choices
        ("#12 · Hong Kong · Real estate"), never the person's name or words: a topic's name
        stays in the group when their messages are deleted."""
        labels = [
            self.intake.choice_label(self.language, step, ticket.answers.get(step))
            for step in (JURISDICTION, ASSET)
        ]
        name = " · ".join([f"#{ticket.id}", *(label for label in labels if label)])
        return name[:TOPIC_NAME_LIMIT]

    def queue_list(self, tickets: Sequence[Ticket]) -> str:
        """The /queue answer: a heading and one line per ticket, or that the queue is empty."""
        if not tickets:
            return self.text("queue_empty")
        lines = [self.text("queue_heading")]
        for ticket in tickets:
            need = " ".join((ticket.answers.get("need") or "").split())
            lines.append(
                f"#{ticket.id} · {self.status(ticket)} · {ticket.name or '?'} · {need[:80]}"
            )
        return "\n".join(lines)

    def card(self, ticket: Ticket) -> str:
        """The ticket card for the lawyers' group, as plain text."""
        lines = [self.text("card_title", ticket=ticket.id, status=self.status(ticket))]
        if ticket.anonymised:
            return lines[0]
        username = f"@{ticket.username}" if ticket.username else "-"
        lines.append(
            self.text(
                "card_user",
                name=ticket.name or "?",
                username=username,
                language=self.content.message(ticket.language, "language_name"),
            )
        )
        named = mentions(self.routes, ticket)
        if named:
            lines.append(self.text("card_for", lawyers=" ".join(named)))
        lines.append("")
        for label, value in self.intake.describe(ticket.answers, self.language):
            lines.append(f"{label}: {value}")
        lines.append("")
        if ticket.context:
            lines.append(self.text("card_questions"))
            for shown in ticket.context:
                asked = " ".join(shown.text.split())[:QUESTION_PREVIEW]
                refs = ", ".join(ref.split(":", 1)[-1] for ref in shown.passage_ids)
                where = shown.faq_id or shown.kind
                lines.append(f"• {asked} → {where}" + (f" [{refs}]" if refs else ""))
        else:
            lines.append(self.text("card_no_questions"))
        text = "\n".join(lines)
        return text if len(text) <= CARD_LIMIT else text[: CARD_LIMIT - 1] + "…"
