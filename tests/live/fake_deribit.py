"""A fake Deribit on loopback: the part of Deribit's API v2 that ccxt's ``deribit`` class calls.

JSON-RPC over HTTP (``GET /api/v2/{public,private}/METHOD?params``, private calls signed with
the ``deri-hmac-sha256`` Authorization header, checked here) and over a websocket
(``/ws/api/v2``: ``public/auth`` with ``client_signature``, ``public/subscribe`` to
``book.INSTRUMENT.100ms`` and ``trades.INSTRUMENT.100ms``, ``private/subscribe`` to
``user.orders.any.any.raw`` and ``user.trades.any.any.raw``). Message shapes follow Deribit's
documentation (docs.deribit.com, API v2: ``private/buy`` returns ``{"order": ..., "trades":
[...]}``; errors are ``{"error": {"code": ..., "message": ...}}`` with Deribit's codes, e.g.
10028 ``too_many_requests``, 11054 ``post_only_reject``, 13004 ``invalid_credentials``).

The matching engine is small: each instrument has a scripted book (the other participants'
liquidity, set with :meth:`FakeDeribit.set_level`); a new order that crosses it takes
liquidity (a taker fill per level; post-only orders are rejected, IOC remainders
cancelled); our resting orders fill when a scripted trade (:meth:`FakeDeribit.trade`) crosses
them (maker fills, best price then time priority). Our resting orders are not shown in the
published book (it is the scripted liquidity only).

``private/edit`` (docs.deribit.com, API v2 ``private/edit``: ``order_id``, ``amount``,
``price``, ``post_only``, ``reject_post_only``; "Only open orders can be edited"; the answer
is ``{"order": ..., "trades": [...]}`` with ``replaced: true``) changes an open order's price
and total amount (fills included). Not open: 11044 ``not_open_order``; unknown: 10004
``order_not_found``. A post-only order whose new price would cross is refused with 11054
``post_only_reject`` when ``reject_post_only`` is set (the order keeps its old terms), else
its price is moved just inside the spread (the documented ``post_only`` behaviour); a
non-post-only new price that crosses takes liquidity like a new order. Two choices the
documentation does not settle, made to match the backtester: a new amount not above the
filled amount is refused (10002 ``invalid_amount``), and an edit keeps the order's time
priority only when it neither changes the price nor raises the amount.

Fault injection: :meth:`drop_connections` (close every websocket), :meth:`refuse` (stop
listening, and close anything that still arrives on a kept-alive connection, until
:meth:`accept`), :meth:`fail_next` (answer the next calls of a method with a Deribit error,
e.g. 10028 too_many_requests or 10009 not_enough_funds), :meth:`lose_response_next` (carry out
a request, then drop the link instead of answering).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import WSMsgType, web

INVERSE_FEE_MAKER = -0.0001  # Deribit BTC-PERPETUAL maker rebate (fraction of notional)
INVERSE_FEE_TAKER = 0.0005


@dataclass
class _Instrument:
    name: str
    base: str
    quote: str
    settle: str
    tick: float
    contract_size: float
    min_amount: float
    bids: dict[float, float] = field(default_factory=dict)
    asks: dict[float, float] = field(default_factory=dict)
    change_id: int = 1000
    trade_seq: int = 0

    @property
    def inverse(self) -> bool:
        return self.settle == self.base


class _RpcError(Exception):
    def __init__(self, code: int, message: str, http_status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


def _ms() -> int:
    return time.time_ns() // 1_000_000


def _flag(v: Any) -> bool:
    return str(v).lower() == "true"


class FakeDeribit:
    """See the module docstring. ``await start()`` binds 127.0.0.1 on a free port."""

    def __init__(self, *, api_key: str = "fake-key", api_secret: str = "fake-secret") -> None:
        self.api_key = api_key
        self._secret = api_secret
        self.instruments = {
            "BTC-PERPETUAL": _Instrument("BTC-PERPETUAL", "BTC", "USD", "BTC", 0.5, 10.0, 10.0)
        }
        self.orders: dict[str, dict[str, Any]] = {}  # venue order id -> order (Deribit shape)
        self.user_trades: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []  # every JSON-RPC call received
        self._failures: dict[str, list[tuple[int, str, int]]] = {}
        self._lose: dict[str, int] = {}
        self.cancel_on_disconnect = False  # Deribit's option: a dropped session cancels orders
        self._next_order = 50_000_000
        self._next_trade = 900_000
        self._sockets: dict[web.WebSocketResponse, dict[str, Any]] = {}
        self._refusing = False
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.port = 0

    def __repr__(self) -> str:
        return f"FakeDeribit(port={self.port})"

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/ws/api/v2", self._ws)
        app.router.add_get("/api/v2/{api}/{method}", self._http)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await self._listen()

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await self._site.start()
        server = self._site._server  # the bound socket: learn the port the OS chose
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        await self.drop_connections()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/api/v2"

    # -- fault injection ------------------------------------------------------------------------

    async def drop_connections(self) -> None:
        """Close every websocket (the client sees the connection drop); with
        ``cancel_on_disconnect`` our open orders are cancelled (nobody hears of it)."""
        dropped = bool(self._sockets)
        for ws in list(self._sockets):
            await ws.close()
        self._sockets.clear()
        if dropped and self.cancel_on_disconnect:
            for o in self.orders.values():
                if o["order_state"] == "open":
                    o["order_state"] = "cancelled"
                    o["last_update_timestamp"] = _ms()

    async def refuse(self) -> None:
        """Stop listening and drop every connection until :meth:`accept`."""
        self._refusing = True
        await self.drop_connections()
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def accept(self) -> None:
        """Listen again, on the same port."""
        self._refusing = False
        if self._site is None:
            await self._listen()

    def fail_next(
        self, method: str, code: int, message: str, *, n: int = 1, retry_after_s: int = 0
    ) -> None:
        """Answer the next ``n`` calls of ``method`` (``private/buy`` ...) with a Deribit error;
        ``retry_after_s`` > 0 adds a Retry-After header (Deribit sends none; other venues do)."""
        self._failures.setdefault(method, []).extend([(code, message, retry_after_s)] * n)

    def lose_response_next(self, method: str, *, n: int = 1) -> None:
        """Carry out the next ``n`` calls of ``method`` but drop the connection instead of
        answering (the client cannot know whether the request arrived)."""
        self._lose[method] = self._lose.get(method, 0) + n

    # -- market scripting -----------------------------------------------------------------------

    async def set_level(self, instrument: str, side: str, price: float, amount: float) -> None:
        """Set the scripted liquidity at one price (``amount`` 0 removes it) and publish it."""
        inst = self.instruments[instrument]
        book = inst.bids if side == "bid" else inst.asks
        action = "delete" if amount == 0 else ("change" if price in book else "new")
        if amount == 0:
            book.pop(price, None)
        else:
            book[price] = amount
        entry = [[action, price, amount]]
        await self._publish_book_change(
            inst, entry if side == "bid" else [], entry if side == "ask" else []
        )

    async def trade(self, instrument: str, *, direction: str, price: float, amount: float) -> None:
        """Another participant trades ``amount`` at ``price`` (``direction`` the aggressor's side):
        our resting orders on the other side at that price or better fill (maker) first."""
        inst = self.instruments[instrument]
        left = amount
        ours = [
            o
            for o in self.orders.values()
            if o["order_state"] == "open"
            and o["instrument_name"] == instrument
            and o["direction"] != direction
            and (o["price"] >= price if direction == "sell" else o["price"] <= price)
        ]
        ours.sort(key=lambda o: (-o["price"] if direction == "sell" else o["price"], o["_seq"]))
        for o in ours:
            if left <= 0:
                break
            qty = min(left, o["amount"] - o["filled_amount"])
            left -= qty
            await self._fill(inst, o, qty, o["price"], maker=True)
        await self._publish_public_trade(inst, direction, price, amount)

    # -- websocket ------------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        if self._refusing:
            raise web.HTTPServiceUnavailable()
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        state: dict[str, Any] = {"channels": set(), "auth": False}
        self._sockets[ws] = state
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                req = json.loads(msg.data)
                method = req.get("method", "")
                params = req.get("params", {})
                self.calls.append(("ws:" + method, params))
                try:
                    result, after = self._ws_call(state, method, params)
                    await self._send(ws, {"jsonrpc": "2.0", "id": req.get("id"), "result": result})
                    for channel in after:
                        await self._send_snapshot(ws, channel)
                except _RpcError as exc:
                    await self._send(ws, self._error(exc, req.get("id")))
        finally:
            self._sockets.pop(ws, None)
        return ws

    def _ws_call(
        self, state: dict[str, Any], method: str, params: dict[str, Any]
    ) -> tuple[Any, list[str]]:
        if method == "public/auth":
            signed = f"{params.get('timestamp')}\n{params.get('nonce')}\n{params.get('data', '')}"
            sig = hmac.new(self._secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
            if params.get("client_id") != self.api_key or not hmac.compare_digest(
                sig, str(params.get("signature"))
            ):
                raise _RpcError(13004, "invalid_credentials", 401)
            state["auth"] = True
            return {
                "token_type": "bearer",
                "scope": "connection mainaccount trade:read_write",
                "refresh_token": "fake-refresh",
                "expires_in": 31536000,
                "access_token": "fake-access",
            }, []
        if method in ("public/subscribe", "private/subscribe"):
            channels = list(params.get("channels", []))
            private = [c for c in channels if c.startswith("user.")]
            if private and (method != "private/subscribe" or not state["auth"]):
                raise _RpcError(13009, "unauthorized", 401)
            state["channels"].update(channels)
            return channels, [c for c in channels if c.startswith("book.")]
        if method in ("public/unsubscribe", "private/unsubscribe"):
            channels = list(params.get("channels", []))
            state["channels"].difference_update(channels)
            return channels, []
        if method in ("public/test", "public/set_heartbeat", "public/disable_heartbeat"):
            return "ok", []
        raise _RpcError(-32601, "Method not found")

    async def _send(self, ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
        if not ws.closed:
            with contextlib.suppress(ConnectionError):
                await ws.send_str(json.dumps(message))

    async def _publish(self, channel: str, data: Any) -> None:
        msg = {
            "jsonrpc": "2.0",
            "method": "subscription",
            "params": {"channel": channel, "data": data},
        }
        for ws, state in list(self._sockets.items()):
            if channel in state["channels"]:
                await self._send(ws, msg)

    async def _send_snapshot(self, ws: web.WebSocketResponse, channel: str) -> None:
        name = channel.split(".")[1]
        inst = self.instruments.get(name)
        if inst is None:
            return
        data = {
            "type": "snapshot",
            "timestamp": _ms(),
            "instrument_name": name,
            "change_id": inst.change_id,
            "bids": [["new", p, a] for p, a in sorted(inst.bids.items(), reverse=True)],
            "asks": [["new", p, a] for p, a in sorted(inst.asks.items())],
        }
        await self._send(
            ws,
            {
                "jsonrpc": "2.0",
                "method": "subscription",
                "params": {"channel": channel, "data": data},
            },
        )

    async def _publish_book_change(
        self, inst: _Instrument, bids: list[list[Any]], asks: list[list[Any]]
    ) -> None:
        prev = inst.change_id
        inst.change_id += 1
        data = {
            "type": "change",
            "timestamp": _ms(),
            "prev_change_id": prev,
            "instrument_name": inst.name,
            "change_id": inst.change_id,
            "bids": bids,
            "asks": asks,
        }
        await self._publish(f"book.{inst.name}.100ms", data)

    async def _publish_public_trade(
        self, inst: _Instrument, direction: str, price: float, amount: float
    ) -> None:
        inst.trade_seq += 1
        self._next_trade += 1
        data = [
            {
                "trade_seq": inst.trade_seq,
                "trade_id": str(self._next_trade),
                "timestamp": _ms(),
                "tick_direction": 0,
                "price": price,
                "mark_price": price,
                "instrument_name": inst.name,
                "index_price": price,
                "direction": direction,
                "amount": amount,
            }
        ]
        await self._publish(f"trades.{inst.name}.100ms", data)

    # -- HTTP -----------------------------------------------------------------------------------

    async def _http(self, request: web.Request) -> web.StreamResponse:
        if self._refusing:  # a kept-alive connection: drop it (the client sees a reset)
            if request.transport is not None:
                request.transport.close()
            raise web.HTTPServiceUnavailable()
        api = request.match_info["api"]
        method = f"{api}/{request.match_info['method']}"
        params = dict(parse_qsl(urlsplit(request.raw_path).query, keep_blank_values=True))
        self.calls.append((method, params))
        try:
            if api == "private":
                self._check_signature(request)
            queued = self._failures.get(method)
            if queued:
                code, message, retry = queued.pop(0)
                if retry:
                    return web.json_response(
                        self._error(_RpcError(code, message), None),
                        status=429,
                        headers={"Retry-After": str(retry)},
                    )
                raise _RpcError(code, message, 429 if code == 10028 else 400)
            result = await self._dispatch(method, params)
            if self._lose.get(method):
                self._lose[method] -= 1
                await self.drop_connections()  # the websockets go too: the whole link is lost
                if request.transport is not None:
                    request.transport.close()
                return web.Response(status=500)
        except _RpcError as exc:
            return web.json_response(self._error(exc, None), status=exc.http_status)
        now_us = time.time_ns() // 1000
        return web.json_response(
            {
                "jsonrpc": "2.0",
                "result": result,
                "usIn": now_us,
                "usOut": now_us + 50,
                "usDiff": 50,
                "testnet": True,
            }
        )

    def _check_signature(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("deri-hmac-sha256 "):
            raise _RpcError(13009, "unauthorized", 401)
        fields = dict(kv.split("=", 1) for kv in header[len("deri-hmac-sha256 ") :].split(","))
        data = f"GET\n{request.raw_path}\n\n"
        expected = hmac.new(
            self._secret.encode(),
            f"{fields.get('ts')}\n{fields.get('nonce')}\n{data}".encode(),
            hashlib.sha256,
        ).hexdigest()
        if fields.get("id") != self.api_key or not hmac.compare_digest(
            expected, fields.get("sig", "")
        ):
            raise _RpcError(13004, "invalid_credentials", 401)

    def _error(self, exc: _RpcError, rid: Any) -> dict[str, Any]:
        now_us = time.time_ns() // 1000
        out: dict[str, Any] = {
            "jsonrpc": "2.0",
            "error": {"message": exc.message, "code": exc.code},
            "usIn": now_us,
            "usOut": now_us + 20,
            "usDiff": 20,
            "testnet": True,
        }
        if rid is not None:
            out["id"] = rid
        return out

    async def _dispatch(self, method: str, p: dict[str, str]) -> Any:
        if method == "public/get_time":
            return _ms()
        if method == "public/test":
            return {"version": "2.1.1"}
        if method == "public/get_currencies":
            return [
                {
                    "currency": "BTC",
                    "currency_long": "Bitcoin",
                    "coin_type": "BITCOIN",
                    "fee_precision": 4,
                    "min_confirmations": 1,
                    "min_withdrawal_fee": 0.0001,
                    "withdrawal_fee": 0.0001,
                    "withdrawal_priorities": [],
                }
            ]
        if method == "public/get_instruments":
            return [self._instrument_json(i) for i in self.instruments.values()]
        if method == "public/get_order_book":
            inst = self._inst(p)
            return {
                "timestamp": _ms(),
                "instrument_name": inst.name,
                "change_id": inst.change_id,
                "bids": [[px, a] for px, a in sorted(inst.bids.items(), reverse=True)],
                "asks": [[px, a] for px, a in sorted(inst.asks.items())],
                "state": "open",
            }
        if method in ("private/buy", "private/sell"):
            return await self._new_order("buy" if method == "private/buy" else "sell", p)
        if method == "private/edit":
            return await self._edit(p)
        if method == "private/cancel":
            o = self.orders.get(p.get("order_id", ""))
            if o is None:
                raise _RpcError(10004, "order_not_found")
            if o["order_state"] != "open":
                raise _RpcError(11044, "not_open_order")
            o["order_state"] = "cancelled"
            o["last_update_timestamp"] = _ms()
            await self._publish_order(o)
            return self._public(o)
        if method == "private/get_open_orders_by_instrument":
            name = p.get("instrument_name")
            return [
                self._public(o)
                for o in self.orders.values()
                if o["order_state"] == "open" and o["instrument_name"] == name
            ]
        if method in (
            "private/get_user_trades_by_instrument",
            "private/get_user_trades_by_instrument_and_time",
        ):
            name = p.get("instrument_name")
            since = int(p.get("start_timestamp", 0))
            count = int(p.get("count", 10))
            rows = [
                t
                for t in self.user_trades
                if t["instrument_name"] == name and t["timestamp"] >= since
            ]
            return {"trades": rows[:count], "has_more": len(rows) > count}
        if method == "private/get_positions":
            return [self._position(i) for i in self.instruments.values()]
        if method == "private/get_account_summary":
            return {
                "currency": p.get("currency", "BTC"),
                "equity": 1.0,
                "balance": 1.0,
                "available_funds": 1.0,
                "maintenance_margin": 0.0,
                "initial_margin": 0.0,
                "margin_balance": 1.0,
            }
        raise _RpcError(-32601, "Method not found")

    def _inst(self, p: dict[str, str]) -> _Instrument:
        inst = self.instruments.get(p.get("instrument_name", ""))
        if inst is None:
            raise _RpcError(13020, "not_found")
        return inst

    def _instrument_json(self, i: _Instrument) -> dict[str, Any]:
        return {
            "tick_size": i.tick,
            "taker_commission": INVERSE_FEE_TAKER,
            "maker_commission": INVERSE_FEE_MAKER,
            "settlement_period": "perpetual",
            "settlement_currency": i.settle,
            "quote_currency": i.quote,
            "counter_currency": i.quote,
            "base_currency": i.base,
            "min_trade_amount": i.min_amount,
            "max_leverage": 50,
            "kind": "future",
            "is_active": True,
            "instrument_name": i.name,
            "future_type": "reversed" if i.inverse else "linear",
            "expiration_timestamp": 32503708800000,
            "creation_timestamp": 1534242287000,
            "contract_size": i.contract_size,
            "block_trade_commission": 0.0001,
        }

    def _position(self, i: _Instrument) -> dict[str, Any]:
        size = sum(
            (t["amount"] if t["direction"] == "buy" else -t["amount"])
            for t in self.user_trades
            if t["instrument_name"] == i.name
        )
        return {
            "instrument_name": i.name,
            "kind": "future",
            "size": size,
            "direction": "buy" if size > 0 else ("sell" if size < 0 else "zero"),
            "average_price": 0.0,
            "mark_price": 0.0,
            "index_price": 0.0,
            "floating_profit_loss": 0.0,
            "total_profit_loss": 0.0,
            "leverage": 50,
            "settlement_price": 0.0,
        }

    # -- matching -------------------------------------------------------------------------------

    async def _new_order(self, direction: str, p: dict[str, str]) -> dict[str, Any]:
        inst = self._inst(p)
        amount = float(p.get("amount", "nan"))
        price = float(p.get("price", "nan"))
        if not (
            amount > 0 and math.isclose(amount / inst.min_amount, round(amount / inst.min_amount))
        ):
            raise _RpcError(10002, "qty_too_low" if amount < inst.min_amount else "invalid_amount")
        if not math.isclose(price / inst.tick, round(price / inst.tick)):
            raise _RpcError(10043, "price_wrong_tick")
        tif = p.get("time_in_force", "good_til_cancelled")
        post_only = _flag(p.get("post_only"))
        self._next_order += 1
        now = _ms()
        o: dict[str, Any] = {
            "order_id": str(self._next_order),
            "_seq": self._next_order,
            "order_state": "open",
            "order_type": "limit",
            "instrument_name": inst.name,
            "direction": direction,
            "amount": amount,
            "filled_amount": 0.0,
            "price": price,
            "average_price": 0.0,
            "commission": 0.0,
            "time_in_force": tif,
            "post_only": post_only,
            "reduce_only": False,
            "label": p.get("label", ""),
            "creation_timestamp": now,
            "last_update_timestamp": now,
            "api": True,
            "web": False,
            "replaced": False,
            "is_liquidation": False,
            "max_show": amount,
            "profit_loss": 0.0,
        }
        crossing = self._crossing(inst, direction, price)
        if crossing and post_only:
            raise _RpcError(11054, "post_only_reject")
        self.orders[o["order_id"]] = o
        trades, changes = await self._take(inst, o, crossing)
        if o["order_state"] == "open" and tif in ("immediate_or_cancel", "fill_or_kill"):
            o["order_state"] = "cancelled"
        return await self._answer(inst, o, trades, changes)

    def _crossing(self, inst: _Instrument, direction: str, price: float) -> list[float]:
        """The scripted levels an order of ``direction`` at ``price`` crosses, best first."""
        book = inst.asks if direction == "buy" else inst.bids
        return sorted(
            (px for px in book if (px <= price if direction == "buy" else px >= price)),
            reverse=direction == "sell",
        )

    async def _take(
        self, inst: _Instrument, o: dict[str, Any], crossing: list[float]
    ) -> tuple[list[dict[str, Any]], list[list[Any]]]:
        """Order ``o`` takes the scripted liquidity of the ``crossing`` levels (taker fills)."""
        direction = o["direction"]
        book = inst.asks if direction == "buy" else inst.bids
        trades: list[dict[str, Any]] = []
        changes: list[list[Any]] = []
        for px in crossing:
            left = o["amount"] - o["filled_amount"]
            if left <= 0:
                break
            qty = min(left, book[px])
            book[px] -= qty
            if book[px] <= 0:
                del book[px]
                changes.append(["delete", px, 0.0])
            else:
                changes.append(["change", px, book[px]])
            trades.append(await self._fill(inst, o, qty, px, maker=False, publish=False))
            await self._publish_public_trade(inst, direction, px, qty)
        return trades, changes

    async def _answer(
        self,
        inst: _Instrument,
        o: dict[str, Any],
        trades: list[dict[str, Any]],
        changes: list[list[Any]],
    ) -> dict[str, Any]:
        """Publish the order, our trades and the book changes; the answer of buy/sell/edit."""
        direction = o["direction"]
        await self._publish_order(o)
        if trades:
            await self._publish("user.trades.any.any.raw", trades)
        if changes:
            await self._publish_book_change(
                inst, changes if direction == "sell" else [], changes if direction == "buy" else []
            )
        return {"order": self._public(o), "trades": trades}

    async def _edit(self, p: dict[str, str]) -> dict[str, Any]:
        o = self.orders.get(p.get("order_id", ""))
        if o is None:
            raise _RpcError(10004, "order_not_found")
        if o["order_state"] != "open":
            raise _RpcError(11044, "not_open_order")
        inst = self.instruments[o["instrument_name"]]
        amount = float(p.get("amount", "nan"))
        price = float(p.get("price", o["price"]))
        if not (
            amount > 0 and math.isclose(amount / inst.min_amount, round(amount / inst.min_amount))
        ):
            raise _RpcError(10002, "qty_too_low" if amount < inst.min_amount else "invalid_amount")
        if amount <= o["filled_amount"] + 1e-9:
            raise _RpcError(10002, "invalid_amount")
        if not math.isclose(price / inst.tick, round(price / inst.tick)):
            raise _RpcError(10043, "price_wrong_tick")
        post_only = _flag(p["post_only"]) if "post_only" in p else bool(o["post_only"])
        crossing = self._crossing(inst, o["direction"], price)
        if crossing and post_only:
            if _flag(p.get("reject_post_only")):
                raise _RpcError(11054, "post_only_reject")  # the order is left as it was
            # moved just inside the spread (Deribit's post_only without reject_post_only)
            best = crossing[0]
            price = best - inst.tick if o["direction"] == "buy" else best + inst.tick
            crossing = []
        if price != o["price"] or amount > o["amount"]:  # to the back of the queue
            o["_seq"] = max(x["_seq"] for x in self.orders.values()) + 1
        o.update(
            price=price,
            amount=amount,
            max_show=amount,
            post_only=post_only,
            replaced=True,
            last_update_timestamp=_ms(),
        )
        trades, changes = await self._take(inst, o, crossing)
        return await self._answer(inst, o, trades, changes)

    async def _fill(
        self,
        inst: _Instrument,
        o: dict[str, Any],
        qty: float,
        price: float,
        *,
        maker: bool,
        publish: bool = True,
    ) -> dict[str, Any]:
        done = o["filled_amount"]
        o["average_price"] = (o["average_price"] * done + price * qty) / (done + qty)
        o["filled_amount"] = done + qty
        rate = INVERSE_FEE_MAKER if maker else INVERSE_FEE_TAKER
        fee = rate * (qty / price if inst.inverse else qty * price)
        o["commission"] += fee
        now = _ms()
        o["last_update_timestamp"] = now
        if o["filled_amount"] >= o["amount"] - 1e-12:
            o["order_state"] = "filled"
        self._next_trade += 1
        inst.trade_seq += 1
        t = {
            "trade_seq": inst.trade_seq,
            "trade_id": f"{inst.base}-{self._next_trade}",
            "timestamp": now,
            "tick_direction": 0,
            "state": o["order_state"],
            "self_trade": False,
            "reduce_only": False,
            "price": price,
            "post_only": o["post_only"],
            "order_type": "limit",
            "order_id": o["order_id"],
            "matching_id": None,
            "mark_price": price,
            "liquidity": "M" if maker else "T",
            "instrument_name": inst.name,
            "index_price": price,
            "fee_currency": inst.settle,
            "fee": fee,
            "direction": o["direction"],
            "amount": qty,
            "label": o["label"],
            "api": True,
        }
        self.user_trades.append(t)
        if publish:
            await self._publish_order(o)
            await self._publish("user.trades.any.any.raw", [t])
        return t

    async def _publish_order(self, o: dict[str, Any]) -> None:
        await self._publish("user.orders.any.any.raw", self._public(o))

    @staticmethod
    def _public(o: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in o.items() if not k.startswith("_")}

    # -- inspection (tests) ---------------------------------------------------------------------

    def open_orders(self, instrument: str = "BTC-PERPETUAL") -> list[dict[str, Any]]:
        return [
            self._public(o)
            for o in self.orders.values()
            if o["order_state"] == "open" and o["instrument_name"] == instrument
        ]

    def subscribed(self, *channels: str) -> bool:
        """True when some websocket is subscribed to every one of ``channels``."""
        return any(set(channels) <= st["channels"] for st in self._sockets.values())

    def order_calls(self) -> list[dict[str, Any]]:
        """The parameters of every order request received (``private/buy`` and ``sell``)."""
        return [p for m, p in self.calls if m in ("private/buy", "private/sell")]

    def edit_calls(self) -> list[dict[str, Any]]:
        """The parameters of every ``private/edit`` request received."""
        return [p for m, p in self.calls if m == "private/edit"]
