"""Two replicas of `rwa-bot run` on one PostgreSQL database, with one fake Bot API.

Both processes start together on a new database of the session's PostgreSQL server
(tests/fakes/databases.py) and poll FakeTelegram (tests/fakes/bot_api_server.py) over real HTTP
on 127.0.0.1: one leads and polls, the other stands by (bot/store/leader.py); both run their
outbox workers. Users go the whole way to a lawyer at once: a question first, the intake typed,
the ticket filed, two lawyers pressing "Take this ticket" together, messages relayed both ways,
the conversation ended. The oracle counts what FakeTelegram recorded: every message the bot
owed each chat arrived exactly once (the duplicates and the losses are printed), the relays in
the order they were written, one ticket per user, one lawyer per ticket.

Failover: the leader is SIGKILLed while messages are being relayed; the standby takes over the
polling (the time from the kill to its first getUpdates is printed) and nothing is lost or
delivered twice.
"""

import contextlib
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.consult.notices import TicketNotices
from bot.content.loader import Content
from bot.store.outbox import LEASE
from tests.e2e.processes import isolated_env, start_process, stop_process
from tests.fakes.bot_api_server import Call, FakeTelegram
from tests.fakes.databases import PostgresServer, RawDatabase

pytestmark = pytest.mark.slow

RWA_BOT = Path(sys.executable).parent / "rwa-bot"
TOKEN = "424242:replicas-token"
GROUP = -1001777  # the lawyers' group
CHECK_CHAT = -1001999  # where an outbox looks whether a message in doubt arrived
LAWYERS = (900, 901)
FIRST_USER = 7000
RELAYS = 4  # messages relayed per consultation: user, lawyer, user, lawyer
POLLING = "rwa-bot is running (long polling)"
STANDING_BY = "this one stands by"
START_TIMEOUT = 30.0  # seconds for both replicas to start
STEP_TIMEOUT = 15.0  # seconds for a step of every consultation to take effect
LATE_TIMEOUT = 3.0  # the same, once a step was late: the oracle is to count, not wait
FAILOVER_LIMIT = 5.0  # seconds from the leader's death to the standby's first getUpdates
ERROR_LINE = re.compile(r"^\d{4}-\d\d-\d\d \S+ (ERROR|CRITICAL) ")


# -- the replicas --------------------------------------------------------------------------------


class Replica:
    """One `rwa-bot run` process of the deployment."""

    def __init__(self, number: int, env: dict[str, str], folder: Path) -> None:
        self.number = number
        folder.mkdir()
        self.process, self.output = start_process([str(RWA_BOT), "run"], env, folder)

    def said(self, text: str) -> bool:
        return any(text in line for line in self.output.lines)

    def kill(self) -> float:
        """SIGKILL; return when (wall clock)."""
        self.process.send_signal(signal.SIGKILL)
        killed = time.time()
        self.process.wait(timeout=10)
        self.output.close()
        return killed

    def errors(self) -> list[str]:
        return [line for line in self.output.lines if ERROR_LINE.match(line)]

    def log(self) -> str:
        return f"--- replica {self.number} ---\n{self.output.tail(30)}"


def replica_env(data_dir: Path, base_url: str, database_url: str) -> dict[str, str]:
    return isolated_env(
        RWA_BOT_DATABASE_URL=database_url,
        RWA_BOT_DATA_DIR=str(data_dir),
        RWA_BOT_SEMANTIC_MODEL="off",  # this is about delivery, not answers
        RWA_BOT_TOKEN=TOKEN,
        RWA_BOT_API_BASE_URL=base_url,
        RWA_BOT_LAWYERS_CHAT_ID=str(GROUP),
        RWA_BOT_CHECK_CHAT_ID=str(CHECK_CHAT),
        RWA_BOT_LAWYER_IDS=",".join(map(str, LAWYERS)),
        RWA_BOT_REMIND_AFTER_MINUTES="1440",  # no reminders during a test
        RWA_BOT_FLOOD_LIMIT="0",
        RWA_BOT_OFFICE_HOURS="always",  # the notices do not hang on the hour of the run
        RWA_BOT_GROUP_FLOOD_LIMIT="0",  # Telegram allows 20 a minute in a group; the fake, any
        RWA_BOT_RELAYS_PER_MINUTE="1000",
    )


@contextlib.contextmanager
def two_replicas(fake: FakeTelegram, database_url: str, folder: Path) -> Iterator[list[Replica]]:
    """Two replicas started together, the first in the list the one that polls; at the end
    those still alive must stop cleanly, and none may have logged an error."""
    replicas = [
        Replica(
            n, replica_env(folder / f"replica-{n}", fake.base_url, database_url), folder / str(n)
        )
        for n in (1, 2)
    ]
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not (
            any(r.said(POLLING) for r in replicas) and any(r.said(STANDING_BY) for r in replicas)
        ):
            exited = [r for r in replicas if r.process.poll() is not None]
            assert not exited, "a replica exited\n" + "\n".join(r.log() for r in exited)
            assert time.monotonic() < deadline, "\n".join(r.log() for r in replicas)
            time.sleep(0.02)
        replicas.sort(key=lambda r: not r.said(POLLING))
        assert not replicas[1].said(POLLING), replicas[1].log()
        yield replicas
        for replica in replicas:
            if replica.process.poll() is None:
                assert stop_process(replica.process, replica.output) == 0, replica.log()
    finally:
        for replica in replicas:
            if replica.process.poll() is None:
                stop_process(replica.process, replica.output)
    errors = [line for replica in replicas for line in replica.errors()]
    assert errors == [], "the replicas logged errors:\n" + "\n".join(errors)


@pytest.fixture
def database_url(postgresql_url: str, postgres_server: PostgresServer) -> str:
    """A new database of its own (postgresql_url skips the test, loudly, without PostgreSQL)."""
    return postgres_server.create_database()


# -- the consultations ---------------------------------------------------------------------------


def has_button(call: Call, data: str) -> bool:
    markup = call["result"].get("reply_markup") or {}
    return any(
        button.get("callback_data") == data
        for row in markup.get("inline_keyboard", [])
        for button in row
    )


class Consultations:
    """Users going to a lawyer at the same time, step by step: each step is sent for every
    user, then awaited for every user."""

    def __init__(self, fake: FakeTelegram, content: Content, count: int) -> None:
        self.fake = fake
        self.content = content
        self.users = [FIRST_USER + n for n in range(count)]
        self.tickets: dict[int, int] = {}  # user: ticket
        self.to_lawyers: dict[int, list[str]] = {user: [] for user in self.users}
        self.to_user: dict[int, list[str]] = {user: [] for user in self.users}
        self.late: list[str] = []  # the steps that did not complete in time

    def text(self, key: str, **fields: object) -> str:
        if key == "ticket.received":  # filed with contact by Telegram (choice 1)
            notices = TicketNotices(self.content)
            return notices.received(
                "en", {"contact": "telegram"}, offline=False, ticket=str(fields["ticket"])
            )
        return self.content.message("en", key, **fields).strip()

    def step(
        self, send: Callable[[int], object], shown: Callable[[int], tuple[int, str]], what: str
    ) -> None:
        """Send for every user; wait until each user's `shown` (chat, text) arrived."""
        before = {chat: len(self.fake.sent_texts(chat)) for chat in (*self.users, GROUP)}
        for user in self.users:
            send(user)
        self.wait(shown, before, what)

    def wait(
        self, shown: Callable[[int], tuple[int, str]], before: dict[int, int], what: str
    ) -> None:
        """Wait until each user's `shown` arrived. A step that does not complete in time is
        noted and the consultations go on (after the first, with a short wait), so that the
        oracle counts what was lost and what came twice rather than stop at the first loss."""

        def arrived() -> bool:
            expected = [shown(user) for user in self.users]
            return all(
                any(text in sent for sent in self.fake.sent_texts(chat)[before[chat] :])
                for chat, text in expected
            )

        try:
            self.fake.wait_for(arrived, LATE_TIMEOUT if self.late else STEP_TIMEOUT, what)
        except TimeoutError:
            self.late.append(what)

    def until_claimed(self) -> None:
        fake, text = self.fake, self.text
        self.step(
            lambda u: fake.send_text(u, "Can RWA still be done in mainland China?"),
            lambda u: (u, ""),
            "an answer to a question",
        )
        self.step(
            lambda u: fake.send_command(u, "/lawyer"), lambda u: (u, text("intake.need")), "/lawyer"
        )
        answers = [
            ("Need a lawyer for tokenizing a warehouse", "intake.jurisdiction"),
            ("1", "intake.asset"),
            ("1", "intake.timeline"),
            ("1", "intake.contact"),
            ("1", "intake.consent"),  # 1: by Telegram, no address asked
        ]
        for answer, question in answers:
            self.step(
                lambda u, a=answer: fake.send_text(u, a),
                lambda u, q=question: (u, text(q)),
                question,
            )
        self.step(lambda u: fake.send_text(u, "1"), lambda u: (u, "Received: ticket #"), "tickets")
        for user in self.users:
            [notice] = [t for t in fake.sent_texts(user) if t.startswith("Received: ticket #")]
            self.tickets[user] = int(re.findall(r"#(\d+)", notice)[0])
        self.fake.wait_for(
            lambda: all(self.card(user) for user in self.users), STEP_TIMEOUT, "the cards"
        )
        self.step(
            self.claim, lambda u: (u, text("ticket.claimed", ticket=self.tickets[u])), "claims"
        )

    def card(self, user: int) -> int | None:
        data = f"t:claim:{self.tickets[user]}"
        found = [
            c["message_id"] for c in self.fake.calls("sendMessage", GROUP) if has_button(c, data)
        ]
        return found[-1] if found else None

    def claim(self, user: int) -> None:
        """Both lawyers press "Take this ticket" at once."""
        card, data = self.card(user), f"t:claim:{self.tickets[user]}"
        assert card is not None
        for lawyer in LAWYERS:
            self.fake.press(lawyer, GROUP, card, data)

    def send_relay(self, user: int, k: int) -> None:
        """Relay k of a consultation: odd from the user, even from a lawyer (/reply)."""
        token = f"m{user}-{k}"
        if k % 2:
            self.to_lawyers[user].append(token)
            self.fake.send_text(user, f"{token} from the user")
        else:
            self.to_user[user].append(token)
            reply = f"/reply {self.tickets[user]} {token} from the lawyer"
            self.fake.send_command(LAWYERS[0], reply, chat_id=GROUP)

    def relay_shown(self, k: int) -> Callable[[int], tuple[int, str]]:
        return lambda user: (GROUP if k % 2 else user, f"m{user}-{k} from the")

    def relay(self, k: int) -> None:
        self.step(lambda u: self.send_relay(u, k), self.relay_shown(k), f"relay {k}")

    def close(self) -> None:
        self.step(
            lambda u: self.fake.send_command(u, "/end"),
            lambda u: (u, self.text("ticket.ended", ticket=self.tickets[u])),
            "closing",
        )


# -- the oracle -----------------------------------------------------------------------------------


def owed(world: Consultations) -> list[tuple[int, str, Callable[[str], bool]]]:
    """Every message the bot owed a chat (chat, what, whether a sent text is it), once each."""
    text = world.text
    found: list[tuple[int, str, Callable[[str], bool]]] = []
    for user in world.users:
        ticket = world.tickets[user]
        for key in ("ticket.received", "ticket.claimed", "ticket.ended"):
            expected = text(key, ticket=ticket)
            found.append((user, f"{key} #{ticket}", lambda sent, e=expected: sent == e))
        card = f"Ticket #{ticket} · "
        found.append((GROUP, f"card #{ticket}", lambda sent, c=card: sent.startswith(c)))
        ended = text("lawyer.user_ended", ticket=ticket)
        found.append((GROUP, f"ended #{ticket}", lambda sent, e=ended: sent == e))
        for token in world.to_user[user]:
            found.append((user, token, lambda sent, t=token: f"\n{t} from the lawyer" in sent))
        for token in world.to_lawyers[user]:
            found.append((GROUP, token, lambda sent, t=token: f"{t} from the user" in sent))
    return found


def flushed(database: RawDatabase, within: float = LATE_TIMEOUT) -> None:
    """Wait until no outbox row is pending (the database changes without the fake knowing),
    at most `within` seconds; what is still pending then is reported by check_deliveries."""
    deadline = time.monotonic() + within
    while database.query("SELECT 1 FROM outbox WHERE status = 'pending'"):
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)


def check_deliveries(
    world: Consultations, database: RawDatabase, late_allowed: bool = False
) -> tuple[int, int, int]:
    """Assert every owed message arrived once and relays kept their order; return the counts
    (owed, delivered twice or more, lost), printed first."""
    fake, twice, lost = world.fake, [], []
    sent = {chat: fake.sent_texts(chat) for chat in (*world.users, GROUP)}
    expected = owed(world)
    for chat, what, matches in expected:
        times = sum(matches(message) for message in sent[chat])
        if times == 0:
            lost.append(what)
        elif times > 1:
            twice.append(f"{what} x{times}")
    print(f"{len(expected)} messages owed: {len(twice)} delivered twice or more, {len(lost)} lost")
    late = [] if late_allowed else world.late
    assert (twice, lost, late) == ([], [], []), f"twice: {twice}; lost: {lost}; late: {world.late}"
    for user in world.users:
        for chat, tokens in ((user, world.to_user[user]), (GROUP, world.to_lawyers[user])):
            firsts = [
                next(i for i, s in enumerate(sent[chat]) if f"{t} from the" in s) for t in tokens
            ]
            assert firsts == sorted(firsts), f"relays of {user} out of order in chat {chat}"
    tickets = database.query("SELECT user_id, status, lawyer_id FROM tickets ORDER BY user_id")
    assert [(row[0], row[1]) for row in tickets] == [(u, "closed") for u in world.users]
    assert all(row[2] in LAWYERS for row in tickets)
    assert database.query("SELECT id FROM outbox WHERE status != 'sent'") == []
    return len(expected), len(twice), len(lost)


# -- the tests ----------------------------------------------------------------------------------


def test_two_replicas_deliver_every_message_of_twelve_consultations_once(
    database_url: str, content: Content, tmp_path: Path
) -> None:
    began = time.monotonic()
    with FakeTelegram() as fake, two_replicas(fake, database_url, tmp_path):
        world = Consultations(fake, content, 12)
        world.until_claimed()
        for k in range(1, RELAYS + 1):
            world.relay(k)
        world.close()
        database = RawDatabase(database_url)
        flushed(database)
        check_deliveries(world, database)
        conflicts = [f for f in fake.failures("getUpdates") if f["status"] == 409]
        assert conflicts == [], "both replicas polled"
    print(f"two replicas, 12 consultations: {time.monotonic() - began:.1f} s")


def test_the_standby_takes_over_when_the_leader_is_killed_mid_relay(
    database_url: str, content: Content, tmp_path: Path
) -> None:
    with FakeTelegram() as fake, two_replicas(fake, database_url, tmp_path) as replicas:
        leader, standby = replicas
        world = Consultations(fake, content, 4)
        world.until_claimed()
        world.relay(1)
        before = {chat: len(fake.sent_texts(chat)) for chat in (*world.users, GROUP)}
        world.send_relay(world.users[0], 2)
        world.send_relay(world.users[1], 2)
        killed = leader.kill()  # lawyers' messages relayed to users as it dies
        for user in world.users[2:]:
            world.send_relay(user, 2)
        world.wait(world.relay_shown(2), before, "relay 2, across the failover")
        conflicts = [f for f in fake.failures("getUpdates") if f["status"] == 409]
        assert [f for f in conflicts if f["time"] < killed] == [], "both replicas polled"
        assert standby.said(POLLING), standby.log()
        [_, takeover] = [c["time"] for c in fake.calls("deleteWebhook")]
        first = min(c["time"] for c in fake.calls("getUpdates") if c["time"] >= takeover)
        failover = first - killed
        print(f"failover: {failover:.2f} s from the kill to the standby's first getUpdates")
        assert failover < FAILOVER_LIMIT
        for k in range(3, RELAYS + 1):
            world.relay(k)
        world.close()
        database = RawDatabase(database_url)
        # The rows the leader had claimed when it died wait out its lease, then go out once.
        flushed(database, within=LEASE.total_seconds() + LATE_TIMEOUT)
        # Steps after the kill may be late: a conversation's next messages wait behind the rows
        # the dead leader held, until its lease lapses (at most LEASE).
        check_deliveries(world, database, late_allowed=True)
        print(f"late across the failover: {world.late or 'none'}")
