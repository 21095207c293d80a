"""python-telegram-bot's HTTP layer on aiohttp (cheaper than httpx under load: see the README):
the Bot API requests `rwa-bot run` sends, with errors that never show the token.
"""

import asyncio
import logging
import ssl
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import certifi
from aiohttp.helpers import get_env_proxy_for_url
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

log = logging.getLogger(__name__)

# A request that never reached the server is tried this often, pausing PAUSES between.
NOT_SENT_ATTEMPTS = 4
NOT_SENT_PAUSES = (0.05, 0.25, 1.0)
CONNECT_TIMEOUT = 5.0  # seconds; python-telegram-bot's defaults, as HTTPXRequest has them
READ_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0


class NotSent(NetworkError):
    """The request never reached the Bot API (so it can be sent again without a duplicate).

    Only a connection that could not be made (refused, or the name not found) proves that;
    such a request is sent again, up to NOT_SENT_ATTEMPTS times, before NotSent is raised.
    Any other failure (a pooled connection found closed included: an idle close and a server
    that acted, then dropped the connection, look the same) may have come after the server
    acted, and is not repeated here: the caller decides (the outbox looks first).
    """


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` that sends with one aiohttp session (a pool of keep-alive connections).

    As HTTPXRequest does: parameters form-encoded, the same default timeouts, proxies from the
    environment, certifi's certificates; timeouts raise TimedOut and other failures
    NetworkError, whose text never holds the URL (it holds the token) and which carry no
    aiohttp exception along (whose text may). `connection_pool_size` is how many requests may
    be in flight at once; python-telegram-bot uses 256 for the bot's requests and 1 for
    getUpdates.
    """

    def __init__(
        self,
        connection_pool_size: int = 256,
        *,
        read_timeout: float | None = READ_TIMEOUT,
        connect_timeout: float | None = CONNECT_TIMEOUT,
        pool_timeout: float | None = POOL_TIMEOUT,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None
        # Per origin (scheme://host:port): the proxy from the environment, read once, not on
        # every request as aiohttp's trust_env does (that cost 15% of the throughput).
        self._proxies: dict[str, tuple[URL | None, aiohttp.BasicAuth | None]] = {}

    @property
    def read_timeout(self) -> float | None:
        """The read timeout of a request that names none (getUpdates adds its long-poll wait)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (again, after a shutdown)."""
        if self._session is None or self._session.closed:
            tls = ssl.create_default_context(cafile=certifi.where())
            connector = aiohttp.TCPConnector(limit=self._pool_size, ssl=tls)
            self._session = aiohttp.ClientSession(connector=connector)

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; return the HTTP status and the body, whatever the status."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        read = _given(read_timeout, self._read_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        pool = _given(pool_timeout, self._pool_timeout)
        # aiohttp has no write timeout: a request's body is small, or a file python-telegram-bot
        # would give 20 s; the read timeout starts once it is sent.
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        proxy, proxy_auth = self._proxy_for(url)
        for attempt in range(1, NOT_SENT_ATTEMPTS + 1):
            failure: NetworkError | None = None
            not_sent: BaseException | None = None
            try:
                async with session.request(
                    method,
                    url,
                    data=_body(request_data),
                    headers={"User-Agent": self.USER_AGENT},
                    timeout=timeout,
                    proxy=proxy,
                    proxy_auth=proxy_auth,
                ) as response:
                    return response.status, await response.read()
            except aiohttp.ClientConnectorError as error:
                not_sent = error  # no connection: nothing was sent
            except TimeoutError as error:  # aiohttp's timeouts are TimeoutErrors too
                failure = TimedOut(_without_url(error, url))
            except (aiohttp.ClientError, OSError) as error:  # OSError: a TLS or socket failure
                failure = NetworkError(_without_url(error, url))
            # Raised here, outside the except clauses, so that aiohttp's exception is neither
            # its __cause__ nor its __context__: aiohttp's text (a connection timeout's, say)
            # holds the URL, and a traceback would print every exception of the chain.
            if failure is not None:
                raise failure
            if attempt == NOT_SENT_ATTEMPTS:
                raise NotSent(_without_url(not_sent or RuntimeError("not sent"), url))
            pause = NOT_SENT_PAUSES[min(attempt, len(NOT_SENT_PAUSES)) - 1]
            kind = type(not_sent).__name__
            log.debug("request not sent (%s); again in %.2f s", kind, pause)
            await asyncio.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    def _proxy_for(self, url: str) -> tuple[URL | None, aiohttp.BasicAuth | None]:
        """The proxy HTTPS_PROXY, HTTP_PROXY and NO_PROXY name for the URL's origin, if any."""
        origin = url[: url.find("/", url.find("//") + 2)]
        if origin not in self._proxies:
            try:
                self._proxies[origin] = get_env_proxy_for_url(URL(origin))
            except LookupError:  # none, or NO_PROXY names the host
                self._proxies[origin] = (None, None)
        return self._proxies[origin]


def _given(value: Any, default: float | None) -> float | None:
    """A timeout the caller named, else this request's default."""
    return default if isinstance(value, DefaultValue) else value


def _body(request_data: RequestData | None) -> aiohttp.FormData | aiohttp.BytesPayload | None:
    """The parameters form-encoded, as HTTPXRequest sends them; multipart when files go too.

    The form is encoded here rather than by aiohttp, which would first build a multipart
    writer (and a random boundary) for every request only to encode it as a form after all.
    """
    if request_data is None:
        return None
    fields = request_data.json_parameters
    if not request_data.contains_files:
        return aiohttp.BytesPayload(
            urlencode(fields).encode("ascii"), content_type="application/x-www-form-urlencoded"
        )
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form


def _without_url(error: BaseException, url: str) -> str:
    """ "aiohttp.<error's class>: <its text>", with the URL (and the token inside it) cut out."""
    kind = f"aiohttp.{type(error).__name__}"
    text = str(error)
    prefix = url.split("?")[0].rsplit("/", 1)[0]  # https://api.telegram.org/bot<token>
    segment = prefix.rsplit("/", 1)[-1]  # bot<token>
    token = segment.removeprefix("bot")
    for secret in (url, prefix, segment):
        if secret:
            text = text.replace(secret, "<Bot API URL>")
    for secret in (token, quote(token, safe="")):  # as it is, and as a URL would encode it
        if secret:
            text = text.replace(secret, "<token>")
    return f"{kind}: {text}" if text else kind
