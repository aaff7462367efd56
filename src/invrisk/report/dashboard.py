"""The live dashboard: one web page over a trading journal, updated as the journal grows.

A FastAPI app (:func:`create_app`) reads a journal (:mod:`invrisk.store.journal`) read-only and
incrementally (:mod:`invrisk.report._dashboard_state`): a background task polls it every
``poll_interval_s`` and pushes what changed to every open page over a websocket. It shows our
quotes against the mid, the fills, inventory, PnL (total, realised, unrealised, fees; the
snapshots' equity), the risk state with its history and causes, the RiskGuard's refusals, the
recent fills and the usage of the limits the run's config sets.

Endpoints
---------
``GET /``
    The page (plotly is served from the installed plotly package: no internet needed).
``GET /api/state``
    Everything the page shows, as JSON (for scripts).
``WS /ws``
    A ``full`` message on connect, then one ``delta`` message per poll (the new points and
    rows, and the current figures); a ``full`` message again when a newer run starts (the
    default follows the journal's latest run).

Security: the server binds 127.0.0.1 by default. Bound to any other address it refuses to start
without a token, and then every request (page, script, JSON and websocket) must carry it:
``?token=...`` in the URL, an ``Authorization: Bearer ...`` header or an
``X-Invrisk-Token`` header; anything else gets 401 (a websocket handshake too, or a close with
code 1008 where the server cannot answer a handshake with HTTP). A token given on loopback is
enforced too. Without a token, only loopback host names are
accepted in the ``Host`` header (a DNS-rebinding page cannot read the dashboard), and a
websocket's ``Origin``, when sent, must be the dashboard's own.

fastapi, uvicorn and websockets are optional (``pip install 'invrisk[dashboard]'``): they are
imported when an app is made, not when this module is.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

from invrisk.errors import InvalidArgumentError, InvriskError
from invrisk.report._dashboard_state import DashboardState, JournalTail, read_only_engine

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DashboardServer",
    "check_bind",
    "create_app",
    "is_loopback",
    "serve_dashboard",
]

_log = logging.getLogger(__name__)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
MIN_TOKEN_CHARS = 16
_PAGE = Path(__file__).with_name("dashboard_page.html")
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
        "'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token may be in the URL
    "Cache-Control": "no-store",
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _web() -> tuple[Any, Any]:
    """fastapi and uvicorn, or an ImportError that says which extra to install."""
    try:
        import fastapi
        import uvicorn
        import websockets  # noqa: F401  (uvicorn's websocket protocol)
    except ImportError as exc:
        raise ImportError(
            f"the invrisk dashboard needs fastapi, uvicorn and websockets ({exc.name} is "
            "missing): pip install 'invrisk[dashboard]'"
        ) from exc
    return fastapi, uvicorn


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse a bind address and token that would expose the dashboard.

    A token, when given, is at least :data:`MIN_TOKEN_CHARS` printable characters without
    spaces; a ``host`` that is not a loopback address needs one.
    """
    if not isinstance(host, str) or not host:
        raise InvalidArgumentError("host", host, "an IP address or host name to bind")
    if token is not None:
        if not isinstance(token, str) or len(token) < MIN_TOKEN_CHARS:
            raise InvalidArgumentError(
                "token",
                "<hidden>",
                f"a string of at least {MIN_TOKEN_CHARS} characters (e.g. python -c "
                "'import secrets; print(secrets.token_urlsafe(24))')",
            )
        if not token.isprintable() or any(c.isspace() for c in token):
            raise InvalidArgumentError("token", "<hidden>", "printable characters, no spaces")
    elif not is_loopback(host):
        raise InvalidArgumentError(
            "token",
            None,
            f"a token when host={host!r} is not a loopback address (every request must then "
            "carry it; bind 127.0.0.1 to go without)",
        )


# -- access control (plain ASGI middleware: it sees HTTP and websocket requests alike) -------


def _host_name(netloc: str) -> str:
    """``example.com:8050`` -> ``example.com``; ``[::1]:8050`` -> ``::1``."""
    return (urlsplit(f"//{netloc}").hostname or "").lower()


class _AccessGuard:
    def __init__(self, app: ASGIApp, *, token: str | None) -> None:
        self.app = app
        self.token = token.encode() if token is not None else None

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if self.token is None:
            if not is_loopback(_host_name(host)):
                return 403, "this dashboard answers loopback host names only"
        else:
            given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])
            auth = headers.get("authorization", "")
            candidates = [
                given[-1],
                auth[7:] if auth[:7].lower() == "bearer " else "",
                headers.get("x-invrisk-token", ""),
            ]
            if not any(hmac.compare_digest(c.encode(), self.token) for c in candidates if c):
                return 401, "a valid token is required (?token=..., or an Authorization header)"
        origin = headers.get("origin")
        if (
            scope["type"] == "websocket"
            and origin is not None
            and urlsplit(origin).netloc.lower() != host.lower()
        ):
            return 403, "cross-origin websocket refused"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, text = refusal
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
        if status == 401:
            headers.append((b"www-authenticate", b'Bearer realm="invrisk"'))
        prefix = "http"
        if scope["type"] == "websocket":
            await receive()  # the handshake request
            if "websocket.http.response" not in scope.get("extensions", {}):
                # a server without HTTP denial responses: refuse the handshake plainly
                await send({"type": "websocket.close", "code": 1008, "reason": text})
                return
            prefix = "websocket.http"
        await send({"type": f"{prefix}.response.start", "status": status, "headers": headers})
        await send({"type": f"{prefix}.response.body", "body": text.encode()})


# -- the poller and the websocket clients -----------------------------------------------------


class _Hub:
    """Polls the journal, folds the rows into the state and fans the updates out."""

    def __init__(self, journal: str | Path, *, run_id: str | None, poll_interval_s: float):
        self.journal = str(journal)
        self.engine = read_only_engine(journal)
        self.tail = JournalTail(self.engine, run_id=run_id)
        self.state = DashboardState()
        self.interval = poll_interval_s
        self.clients: set[asyncio.Queue[str | None]] = set()
        self.polls = 0
        self.error: str | None = None
        self.ready: asyncio.Event | None = None  # set after the first read (made in the loop)

    async def first_read(self, timeout_s: float = 5.0) -> None:
        """Wait (a bounded time) for the first read: a page opened at start shows the journal,
        not an empty state."""
        if self.ready is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ready.wait(), timeout_s)

    def status(self) -> dict[str, Any]:
        return {
            "journal": self.journal,
            "polls": self.polls,
            "error": self.error,
            "poll_interval_s": self.interval,
        }

    def full(self) -> dict[str, Any]:
        message = self.state.full()
        message["status"] = self.status()
        return message

    async def run(self) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        self.ready = ready = asyncio.Event()
        while True:
            try:
                rows = await asyncio.to_thread(self.tail.read)
            except SQLAlchemyError as exc:  # locked, or not a journal: shown, and retried
                self.error = f"cannot read the journal: {getattr(exc, 'orig', None) or exc}"
                ready.set()
                self._broadcast(json.dumps({"type": "status", "status": self.status()}))
                await asyncio.sleep(self.interval)
                continue
            self.polls += 1
            self.error = None
            try:
                message = self.state.apply(rows)
            except (KeyError, TypeError, ValueError) as exc:  # a row this version cannot read
                self.error = f"dashboard stopped on a journal row it cannot read: {exc!r}"
                _log.exception("invrisk dashboard: polling stopped")
                ready.set()
                self._broadcast(json.dumps({"type": "status", "status": self.status()}))
                return
            ready.set()
            message["status"] = self.status()
            self._broadcast(json.dumps(message, allow_nan=False))
            if not rows.more:
                await asyncio.sleep(self.interval)

    def _broadcast(self, text: str) -> None:
        resync: str | None = None
        for queue in list(self.clients):
            try:
                queue.put_nowait(text)
            except asyncio.QueueFull:  # a page that cannot keep up starts over from a full state
                while not queue.empty():
                    queue.get_nowait()
                resync = resync or json.dumps(self.full(), allow_nan=False)
                queue.put_nowait(resync)

    def subscribe(self) -> asyncio.Queue[str | None]:
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=64)
        self.clients.add(queue)
        return queue

    def close(self) -> None:
        for queue in self.clients:  # each page's handler closes its websocket
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(None)
        self.engine.dispose()


def _page_html(token: str | None) -> str:
    script = "plotly.min.js" + (f"?token={quote(token, safe='')}" if token else "")
    return _PAGE.read_text(encoding="utf-8").replace("{{PLOTLY_SRC}}", script)


def _plotly_js() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise InvriskError(f"plotly's bundled plotly.min.js is missing at {path}")
    return path


def create_app(
    journal: str | Path,
    *,
    token: str | None = None,
    run_id: str | None = None,
    poll_interval_s: float = 0.5,
) -> FastAPI:
    """The dashboard app over ``journal`` (a SQLite journal file, or a database URL).

    Parameters
    ----------
    journal
        The journal to read (never written).
    token
        Required on every request when given (see the module docstring); None: only loopback
        host names are served.
    run_id
        The run to show (default: the journal's latest run, following newer ones).
    poll_interval_s
        Seconds between reads of the journal (> 0).
    """
    fastapi, _ = _web()
    from fastapi import WebSocket, WebSocketDisconnect
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

    if token is not None:
        check_bind(DEFAULT_HOST, token)
    if not (isinstance(poll_interval_s, int | float) and 0 < poll_interval_s <= 60):
        raise InvalidArgumentError("poll_interval_s", poll_interval_s, "seconds in (0, 60]")
    hub = _Hub(journal, run_id=run_id, poll_interval_s=float(poll_interval_s))
    plotly_js = _plotly_js()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        task = asyncio.create_task(hub.run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            hub.close()

    app: FastAPI = fastapi.FastAPI(
        title="invrisk dashboard", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.hub = hub

    @app.get("/", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        return HTMLResponse(_page_html(token), headers=_HEADERS)

    @app.get("/plotly.min.js")
    async def plotly() -> FileResponse:
        return FileResponse(plotly_js, media_type="text/javascript")

    @app.get("/api/state")
    async def state() -> JSONResponse:
        await hub.first_read()
        return JSONResponse(hub.full(), headers={"Cache-Control": "no-store"})

    async def updates(websocket: WebSocket) -> None:
        await websocket.accept()
        await hub.first_read()
        queue = hub.subscribe()
        first = json.dumps(hub.full(), allow_nan=False)  # no await since subscribing: no gap
        try:
            await websocket.send_text(first)
            while (text := await queue.get()) is not None:
                await websocket.send_text(text)
            await websocket.close(code=1001)  # going away: the server stops
        except (WebSocketDisconnect, OSError):
            pass
        finally:
            hub.clients.discard(queue)

    # a plain route (no FastAPI parameter injection: the annotations here are strings)
    app.router.add_websocket_route("/ws", updates)

    app.add_middleware(_AccessGuard, token=token)
    return app


# -- running it --------------------------------------------------------------------------------


@dataclass
class DashboardServer:
    """A dashboard served from a background thread (:func:`serve_dashboard`)."""

    host: str
    port: int
    token: str | None = field(repr=False)
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def url(self) -> str:
        """The page's address (with the token, when there is one)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = "[::1]" if host == "::" else (f"[{host}]" if ":" in host else host)
        query = f"?token={quote(self.token, safe='')}" if self.token else ""
        return f"http://{host}:{self.port}/{query}"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Close the websockets, stop polling and release the port."""
        self._server.should_exit = True
        self._thread.join(timeout_s)

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C stops it)."""
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            self.stop()

    def __enter__(self) -> DashboardServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise InvriskError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)
    return sock


def serve_dashboard(
    journal: str | Path,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    run_id: str | None = None,
    poll_interval_s: float = 0.5,
) -> DashboardServer:
    """Serve the dashboard of ``journal`` from a background thread; returns once it listens.

    Runs beside a runtime in the same process (the runtime writes the journal, the dashboard
    reads it) or alone. ``port=0`` takes a free port (see ``DashboardServer.port``). A
    ``host`` that is not a loopback address needs a ``token`` (:func:`check_bind`). Stop it
    with :meth:`DashboardServer.stop` or a ``with`` block.
    """
    _, uvicorn = _web()
    check_bind(host, token)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InvalidArgumentError("port", port, "an int in [0, 65535] (0: a free port)")
    app = create_app(journal, token=token, run_id=run_id, poll_interval_s=poll_interval_s)
    sock = _bind(host, port)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        ws="websockets-sansio",
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="invrisk-dashboard", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15.0
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise InvriskError(f"the dashboard server did not start on {host}:{port}")
        time.sleep(0.01)
    return DashboardServer(host, int(sock.getsockname()[1]), token, server, thread)
