"""Line parsers for Binance recorder files: a byte-level fast path and its ``json`` twin.

A recorder line is ``<local_receive_ns> <raw JSON>``; the JSON is a combined-stream envelope
``{"stream":"<symbol>@<stream>","data":{...}}`` or a bare REST depth snapshot
``{"lastUpdateId":...,"bids":[...],"asks":[...]}``. Both parsers fill the same per-line slots:

* ``kind`` (``K_*``): DEPTH (``@depth``, ``@depth@100ms``, ``@depth@0ms`` diffs), TRADE
  (``@trade``), BOOK_TICKER (``@bookTicker``), SNAPSHOT (json twin only), OTHER (a stream this
  reader does not use, json twin only); the fast path returns SLOW for anything it does not
  handle (a snapshot, another stream, a missing field, a malformed line, a number it cannot
  convert exactly), and the caller hands that line to :func:`parse_line_json`.
* ``ints[I_*]``: local ns, ``E``, ``T`` (ms, -1 if absent), ``U``, ``u``, ``pu``, trade id ``t``
  (-1 if absent), ``m`` (1 true, 0 false, -1 absent), a hash of the symbol ``s``, the maximum
  number of decimals of the price strings, the line's byte range and its level range.
* ``flts[F_*]``: trade price/qty, or bookTicker bid price/qty and ask price/qty.
* levels: ``side`` (+1 bid, -1 ask), ``price``, ``qty`` of each ``[price, qty]`` pair of a
  depth diff (bids then asks, in the order of the message).

Decimal strings are converted exactly as Python's ``float(text)`` does: the digits form an
integer mantissa ``m < 2**53`` and the value is ``m / 10**k`` with ``k <= 22`` decimals; both
are exact doubles, so the IEEE division is correctly rounded (Clinger's fast path). A string
outside that range goes to the json twin. :func:`scan_lines` is compiled with numba
(:data:`scan_lines_jit`); the tests compare it, line by line, with :func:`parse_line_json`,
which shares no code with it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from numba import njit
from numba.extending import register_jitable

from invrisk._typing import Float64Array, Int8Array, Int64Array

UInt8Array: TypeAlias = npt.NDArray[np.uint8]

# Line kinds.
K_IGNORED = 0
K_DEPTH = 1
K_TRADE = 2
K_BOOK_TICKER = 3
K_SNAPSHOT = 4
K_OTHER = 5
K_SLOW = 9

# Integer slots.
I_LOCAL = 0
I_E = 1
I_T = 2
I_FIRST = 3  # U
I_LAST = 4  # u (lastUpdateId for a snapshot)
I_PREV = 5  # pu
I_TID = 6  # t
I_M = 7
I_SYM = 8
I_PDEC = 9
I_START = 10
I_END = 11
I_LVL_LO = 12
I_LVL_HI = 13
N_INTS = 14

# Float slots.
F_PX = 0  # trade p, bookTicker b
F_QTY = 1  # trade q, bookTicker B
F_PX2 = 2  # bookTicker a
F_QTY2 = 3  # bookTicker A
N_FLOATS = 4

# Field bits (fast path).
_B_E = 1
_B_T = 2
_B_U = 4
_B_u = 8
_B_t = 16
_B_s = 32
_B_p = 64
_B_q = 128
_B_BSTR = 256
_B_BQ = 512
_B_ASTR = 1024
_B_AQ = 2048
_B_m = 4096
_B_BARR = 8192
_B_AARR = 16384
_B_pu = 32768

_REQ_DEPTH = _B_U | _B_u | _B_E | _B_BARR | _B_AARR | _B_s
_REQ_TRADE = _B_t | _B_p | _B_q | _B_m | _B_s
_REQ_BOOK_TICKER = _B_u | _B_BSTR | _B_BQ | _B_ASTR | _B_AQ | _B_s

_I64_MAX = 9_223_372_036_854_775_807
_MANTISSA_MAX = 2**53
_POW10 = np.array([10.0**k for k in range(23)])
_HASH_MOD = 2_147_483_647
_HASH_MUL = 131


def symbol_hash(symbol: str) -> int:
    """The hash the parsers store for a symbol (polynomial, mod 2**31 - 1)."""
    h = 0
    for c in symbol.encode():
        h = (h * _HASH_MUL + c) % _HASH_MOD
    return h


# --------------------------------------------------------------------------------------------
# Fast path (compiled by numba; the plain functions also run, slowly, in Python)
# --------------------------------------------------------------------------------------------


@register_jitable
def _ws(buf: UInt8Array, i: int, end: int) -> int:
    while i < end:
        c = buf[i]
        if c == 32 or c == 9 or c == 13:
            i += 1
        else:
            break
    return i


@register_jitable
def _int(buf: UInt8Array, i: int, end: int) -> tuple[int, int]:
    """A JSON integer at ``i``: (value, next index) or (0, -1)."""
    neg = False
    if i < end and buf[i] == 45:
        neg = True
        i += 1
    v = 0
    start = i
    while i < end:
        c = int(buf[i])
        if c < 48 or c > 57:
            break
        d = c - 48
        if v > (_I64_MAX - d) // 10:
            return 0, -1
        v = v * 10 + d
        i += 1
    if i == start:
        return 0, -1
    if neg:
        v = -v
    return v, i


@register_jitable
def _dec(buf: UInt8Array, i: int, end: int) -> tuple[float, int, int]:
    """A quoted decimal string at ``i``: (value, decimals, next index) or (nan, 0, -1)."""
    if i >= end or buf[i] != 34:
        return np.nan, 0, -1
    i += 1
    neg = False
    if i < end and buf[i] == 45:
        neg = True
        i += 1
    m = 0
    nd = 0
    k = 0
    dot = False
    while i < end:
        c = int(buf[i])
        if c >= 48 and c <= 57:
            d = c - 48
            if m > (_MANTISSA_MAX - d) // 10:
                return np.nan, 0, -1
            m = m * 10 + d
            nd += 1
            if dot:
                k += 1
        elif c == 46 and not dot:
            dot = True
        else:
            break
        i += 1
    if nd == 0 or k > 22 or i >= end or buf[i] != 34:
        return np.nan, 0, -1
    v = float(m) / _POW10[k]
    if neg:
        v = -v
    return v, k, i + 1


@register_jitable
def _skip_string(buf: UInt8Array, i: int, end: int) -> int:
    i += 1
    while i < end:
        c = buf[i]
        if c == 92:
            i += 2
            continue
        if c == 34:
            return i + 1
        i += 1
    return -1


@register_jitable
def _skip_value(buf: UInt8Array, i: int, end: int) -> int:
    if i >= end:
        return -1
    c = buf[i]
    if c == 34:
        return _skip_string(buf, i, end)
    if c == 91 or c == 123:
        depth = 0
        while i < end:
            c = buf[i]
            if c == 34:
                i = _skip_string(buf, i, end)
                if i < 0:
                    return -1
                continue
            if c == 91 or c == 123:
                depth += 1
            elif c == 93 or c == 125:
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return -1
    start = i
    while i < end:
        c = buf[i]
        if c == 44 or c == 93 or c == 125 or c == 32 or c == 9 or c == 13:
            break
        i += 1
    return i if i > start else -1


@register_jitable
def _levels(
    buf: UInt8Array,
    i: int,
    end: int,
    side: int,
    lside: Int8Array,
    lpx: Float64Array,
    lqty: Float64Array,
    nl: int,
    pdec: int,
) -> tuple[int, int, int]:
    """A ``[["p","q"],...]`` array at ``i``: (levels used, max decimals, next index or -1)."""
    cap = lside.shape[0]
    i = _ws(buf, i + 1, end)
    if i < end and buf[i] == 93:
        return nl, pdec, i + 1
    while i < end:
        if buf[i] != 91:
            return nl, pdec, -1
        i = _ws(buf, i + 1, end)
        px, k, i = _dec(buf, i, end)
        if i < 0:
            return nl, pdec, -1
        i = _ws(buf, i, end)
        if i >= end or buf[i] != 44:
            return nl, pdec, -1
        i = _ws(buf, i + 1, end)
        q, _k2, i = _dec(buf, i, end)
        if i < 0:
            return nl, pdec, -1
        i = _ws(buf, i, end)
        if i >= end or buf[i] != 93 or nl >= cap:
            return nl, pdec, -1
        lside[nl] = side
        lpx[nl] = px
        lqty[nl] = q
        nl += 1
        if k > pdec:
            pdec = k
        i = _ws(buf, i + 1, end)
        if i < end and buf[i] == 44:
            i = _ws(buf, i + 1, end)
            continue
        if i < end and buf[i] == 93:
            return nl, pdec, i + 1
        return nl, pdec, -1
    return nl, pdec, -1


@register_jitable
def _stream_kind(buf: UInt8Array, s: int, e: int) -> int:
    """Kind of a stream name ``<symbol>@<type>[@<speed>]`` held in ``buf[s:e]``."""
    at = s
    while at < e and buf[at] != 64:
        at += 1
    j = at + 1
    n = e - j
    if n >= 5 and (n == 5 or buf[j + 5] == 64):
        if (
            buf[j] == 100
            and buf[j + 1] == 101
            and buf[j + 2] == 112
            and buf[j + 3] == 116
            and buf[j + 4] == 104
        ):
            return K_DEPTH  # depth
        if (
            buf[j] == 116
            and buf[j + 1] == 114
            and buf[j + 2] == 97
            and buf[j + 3] == 100
            and buf[j + 4] == 101
        ):
            return K_TRADE  # trade
    if n >= 10 and (n == 10 or buf[j + 10] == 64):
        ok = True
        word = (98, 111, 111, 107, 84, 105, 99, 107, 101, 114)  # bookTicker
        for x in range(10):
            if buf[j + x] != word[x]:
                ok = False
                break
        if ok:
            return K_BOOK_TICKER
    return K_OTHER


@register_jitable
def _data(
    buf: UInt8Array,
    i: int,
    end: int,
    li: int,
    ints: Int64Array,
    flts: Float64Array,
    lside: Int8Array,
    lpx: Float64Array,
    lqty: Float64Array,
    nl: int,
) -> tuple[int, int, int]:
    """The ``data`` object at ``i``: (field bits, levels used, next index or -1)."""
    bits = 0
    pdec = 0
    i = _ws(buf, i + 1, end)
    if i < end and buf[i] == 125:
        return bits, nl, i + 1
    while i < end:
        if buf[i] != 34:
            return bits, nl, -1
        ks = i + 1
        ke = ks
        while ke < end and buf[ke] != 34 and buf[ke] != 92:
            ke += 1
        if ke >= end or buf[ke] != 34:
            return bits, nl, -1
        i = _ws(buf, ke + 1, end)
        if i >= end or buf[i] != 58:
            return bits, nl, -1
        i = _ws(buf, i + 1, end)
        if i >= end:
            return bits, nl, -1
        klen = ke - ks
        c = buf[ks]
        v = 0
        if klen == 2 and c == 112 and buf[ks + 1] == 117:  # pu
            v, i = _int(buf, i, end)
            ints[li, I_PREV] = v
            bits |= _B_pu
        elif klen != 1:
            i = _skip_value(buf, i, end)
        elif c == 69:  # E
            v, i = _int(buf, i, end)
            ints[li, I_E] = v
            bits |= _B_E
        elif c == 84:  # T
            v, i = _int(buf, i, end)
            ints[li, I_T] = v
            bits |= _B_T
        elif c == 85:  # U
            v, i = _int(buf, i, end)
            ints[li, I_FIRST] = v
            bits |= _B_U
        elif c == 117:  # u
            v, i = _int(buf, i, end)
            ints[li, I_LAST] = v
            bits |= _B_u
        elif c == 116:  # t
            v, i = _int(buf, i, end)
            ints[li, I_TID] = v
            bits |= _B_t
        elif c == 115:  # s
            if buf[i] != 34:
                return bits, nl, -1
            h = 0
            j = i + 1
            while j < end and buf[j] != 34 and buf[j] != 92:
                h = (h * _HASH_MUL + int(buf[j])) % _HASH_MOD
                j += 1
            if j >= end or buf[j] != 34:
                return bits, nl, -1
            ints[li, I_SYM] = h
            bits |= _B_s
            i = j + 1
        elif c == 109:  # m
            if i + 4 <= end and buf[i] == 116 and buf[i + 1] == 114 and buf[i + 2] == 117:
                if buf[i + 3] != 101:
                    return bits, nl, -1
                ints[li, I_M] = 1
                i += 4
            elif i + 5 <= end and buf[i] == 102 and buf[i + 1] == 97 and buf[i + 2] == 108:
                if buf[i + 3] != 115 or buf[i + 4] != 101:
                    return bits, nl, -1
                ints[li, I_M] = 0
                i += 5
            else:
                return bits, nl, -1
            bits |= _B_m
        elif c == 98 or c == 97:  # b, a: levels array or a bookTicker price
            if buf[i] == 91:
                side = 1 if c == 98 else -1
                nl, pdec, i = _levels(buf, i, end, side, lside, lpx, lqty, nl, pdec)
                bits |= _B_BARR if c == 98 else _B_AARR
            else:
                x, k, i = _dec(buf, i, end)
                flts[li, F_PX if c == 98 else F_PX2] = x
                bits |= _B_BSTR if c == 98 else _B_ASTR
                if k > pdec:
                    pdec = k
        elif c == 112:  # p
            x, k, i = _dec(buf, i, end)
            flts[li, F_PX] = x
            bits |= _B_p
            if k > pdec:
                pdec = k
        elif c == 113 or c == 66 or c == 65:  # q, B, A
            x, k, i = _dec(buf, i, end)
            flts[li, F_QTY2 if c == 65 else F_QTY] = x
            bits |= _B_q if c == 113 else (_B_BQ if c == 66 else _B_AQ)
        else:
            i = _skip_value(buf, i, end)
        if i < 0:
            return bits, nl, -1
        i = _ws(buf, i, end)
        if i < end and buf[i] == 44:
            i = _ws(buf, i + 1, end)
            continue
        if i < end and buf[i] == 125:
            ints[li, I_PDEC] = pdec
            return bits, nl, i + 1
        return bits, nl, -1
    return bits, nl, -1


@register_jitable
def _line(
    buf: UInt8Array,
    pos: int,
    end: int,
    li: int,
    ints: Int64Array,
    flts: Float64Array,
    lside: Int8Array,
    lpx: Float64Array,
    lqty: Float64Array,
    nl: int,
) -> tuple[int, int]:
    """Scan one line ``buf[pos:end]``: (kind, levels used)."""
    for j in range(I_LOCAL, I_START):
        ints[li, j] = -1
    ints[li, I_PDEC] = 0
    ints[li, I_LVL_LO] = nl
    ints[li, I_LVL_HI] = nl
    for j in range(N_FLOATS):
        flts[li, j] = np.nan
    local, i = _int(buf, pos, end)
    if i < 0 or i >= end or buf[i] != 32:
        return K_SLOW, nl
    ints[li, I_LOCAL] = local
    i = _ws(buf, i + 1, end)
    if i >= end or buf[i] != 123:
        return K_SLOW, nl
    i = _ws(buf, i + 1, end)
    stype = -1
    bits = -1
    nl0 = nl
    while i < end:
        if buf[i] != 34:
            return K_SLOW, nl0
        ks = i + 1
        ke = ks
        while ke < end and buf[ke] != 34:
            ke += 1
        i = _ws(buf, ke + 1, end)
        if ke >= end or i >= end or buf[i] != 58:
            return K_SLOW, nl0
        i = _ws(buf, i + 1, end)
        klen = ke - ks
        if (
            klen == 6
            and buf[ks] == 115
            and buf[ks + 1] == 116
            and buf[ks + 2] == 114
            and buf[ks + 3] == 101
            and buf[ks + 4] == 97
            and buf[ks + 5] == 109
        ):  # stream
            if i >= end or buf[i] != 34:
                return K_SLOW, nl0
            se = i + 1
            while se < end and buf[se] != 34 and buf[se] != 92:
                se += 1
            if se >= end or buf[se] != 34:
                return K_SLOW, nl0
            stype = _stream_kind(buf, i + 1, se)
            i = se + 1
        elif (
            klen == 4
            and buf[ks] == 100
            and buf[ks + 1] == 97
            and buf[ks + 2] == 116
            and buf[ks + 3] == 97
            and i < end
            and buf[i] == 123
        ):  # data
            bits, nl, i = _data(buf, i, end, li, ints, flts, lside, lpx, lqty, nl)
            if i < 0:
                return K_SLOW, nl0
        else:
            return K_SLOW, nl0
        i = _ws(buf, i, end)
        if i < end and buf[i] == 44:
            i = _ws(buf, i + 1, end)
            continue
        if i < end and buf[i] == 125:
            i += 1
            break
        return K_SLOW, nl0
    if _ws(buf, i, end) != end or bits < 0:
        return K_SLOW, nl0
    if stype == K_DEPTH and bits & _REQ_DEPTH == _REQ_DEPTH:
        ints[li, I_LVL_LO] = nl0
        ints[li, I_LVL_HI] = nl
        return K_DEPTH, nl
    if stype == K_TRADE and bits & _REQ_TRADE == _REQ_TRADE and bits & (_B_T | _B_E) != 0:
        return K_TRADE, nl0
    if stype == K_BOOK_TICKER and bits & _REQ_BOOK_TICKER == _REQ_BOOK_TICKER:
        return K_BOOK_TICKER, nl0
    return K_SLOW, nl0


def scan_lines(
    buf: UInt8Array,
    kinds: Int8Array,
    ints: Int64Array,
    flts: Float64Array,
    lside: Int8Array,
    lpx: Float64Array,
    lqty: Float64Array,
) -> tuple[int, int]:
    """Scan the newline-separated lines of ``buf`` into the slot arrays.

    Returns ``(lines scanned, levels used)``. Lines the fast path does not handle get
    ``K_SLOW`` (their byte range is still recorded in ``I_START``/``I_END``).
    """
    n = buf.shape[0]
    nlines = kinds.shape[0]
    pos = 0
    li = 0
    nl = 0
    while pos < n and li < nlines:
        e = pos
        while e < n and buf[e] != 10:
            e += 1
        k, nl = _line(buf, pos, e, li, ints, flts, lside, lpx, lqty, nl)
        kinds[li] = k
        ints[li, I_START] = pos
        ints[li, I_END] = e
        li += 1
        pos = e + 1
    return li, nl


def emit_rows(
    kinds: Int8Array,
    acts: Int8Array,
    ints: Int64Array,
    flts: Float64Array,
    lside: Int8Array,
    lpx: Float64Array,
    lqty: Float64Array,
    xlo: Int64Array,
    xhi: Int64Array,
    x_i64: Int64Array,
    x_f64: Float64Array,
    x_i8: Int8Array,
    o_exch: Int64Array,
    o_local: Int64Array,
    o_kind: npt.NDArray[np.uint8],
    o_side: Int8Array,
    o_price: Float64Array,
    o_qty: Float64Array,
    o_uid: Int64Array,
    o_fid: Int64Array,
    o_pid: Int64Array,
    o_flag: npt.NDArray[np.bool_],
) -> int:
    """Write the event rows of one chunk; returns the number of rows written.

    Per line: first its extra rows ``xlo[li]:xhi[li]`` (prepared by the caller: snapshot,
    CLEAR after a gap, released diffs; columns of ``x_i64`` = exch, local, update, first, prev;
    ``x_f64`` = price, qty; ``x_i8`` = kind, side, exch-from-local flag), then, when
    ``acts[li]`` is 1, the line's own rows (depth levels, one trade, two BBO rows).
    """
    r = 0
    for li in range(kinds.shape[0]):
        for x in range(xlo[li], xhi[li]):
            o_exch[r] = x_i64[x, 0]
            o_local[r] = x_i64[x, 1]
            o_uid[r] = x_i64[x, 2]
            o_fid[r] = x_i64[x, 3]
            o_pid[r] = x_i64[x, 4]
            o_price[r] = x_f64[x, 0]
            o_qty[r] = x_f64[x, 1]
            o_kind[r] = x_i8[x, 0]
            o_side[r] = x_i8[x, 1]
            o_flag[r] = x_i8[x, 2] != 0
            r += 1
        if acts[li] == 0:
            continue
        k = kinds[li]
        local = ints[li, I_LOCAL]
        flag = False
        if ints[li, I_T] >= 0:
            exch = ints[li, I_T] * 1_000_000
        elif ints[li, I_E] >= 0:
            exch = ints[li, I_E] * 1_000_000
        else:
            exch = local
            flag = True
        if k == K_DEPTH:
            u = ints[li, I_LAST]
            first = ints[li, I_FIRST]
            prev = ints[li, I_PREV]
            for j in range(ints[li, I_LVL_LO], ints[li, I_LVL_HI]):
                o_exch[r] = exch
                o_local[r] = local
                o_kind[r] = 1
                o_side[r] = lside[j]
                o_price[r] = lpx[j]
                o_qty[r] = lqty[j]
                o_uid[r] = u
                o_fid[r] = first
                o_pid[r] = prev
                o_flag[r] = flag
                r += 1
        elif k == K_TRADE:
            o_exch[r] = exch
            o_local[r] = local
            o_kind[r] = 4
            o_side[r] = -1 if ints[li, I_M] == 1 else 1
            o_price[r] = flts[li, F_PX]
            o_qty[r] = flts[li, F_QTY]
            o_uid[r] = ints[li, I_TID]
            o_fid[r] = -1
            o_pid[r] = -1
            o_flag[r] = flag
            r += 1
        elif k == K_BOOK_TICKER:
            for s in range(2):
                o_exch[r] = exch
                o_local[r] = local
                o_kind[r] = 5
                o_side[r] = 1 if s == 0 else -1
                o_price[r] = flts[li, F_PX + 2 * s]
                o_qty[r] = flts[li, F_QTY + 2 * s]
                o_uid[r] = ints[li, I_LAST]
                o_fid[r] = -1
                o_pid[r] = -1
                o_flag[r] = flag
                r += 1
    return r


scan_lines_jit = njit(cache=True, nogil=True)(scan_lines)
emit_rows_jit = njit(cache=True, nogil=True)(emit_rows)


# --------------------------------------------------------------------------------------------
# The json twin (slow path, reference)
# --------------------------------------------------------------------------------------------


class LineError(Exception):
    """A line cannot be parsed; the caller adds the file and line number."""


_DECIMAL = re.compile(r"-?(?:\d+\.?\d*|\.\d+)")


@dataclass
class ParsedLine:
    """One line as the json twin reads it (same slots as the fast path)."""

    kind: int
    ints: list[int]
    flts: list[float]
    levels: list[tuple[int, float, float]] = field(default_factory=list)
    stream: str = ""
    keys: frozenset[str] = frozenset()
    symbol: str | None = None


def _json_int(data: dict[str, Any], key: str, what: str, *, required: bool) -> int:
    if key not in data:
        if required:
            raise LineError(f"{what} has no field {key!r}")
        return -1
    v = data[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise LineError(f"{what} field {key!r} is {v!r}, expected an integer")
    return v


def _json_dec(data: dict[str, Any], key: str, what: str) -> tuple[float, int]:
    if key not in data:
        raise LineError(f"{what} has no field {key!r}")
    return _decimal(data[key], f"{what} field {key!r}")


def _decimal(v: object, what: str) -> tuple[float, int]:
    if not isinstance(v, str) or _DECIMAL.fullmatch(v) is None:
        raise LineError(f'{what} is {v!r}, expected a decimal string such as "61800.20"')
    dot = v.find(".")
    return float(v), (len(v) - dot - 1 if dot >= 0 else 0)


def _json_levels(v: object, side: int, what: str) -> tuple[list[tuple[int, float, float]], int]:
    if not isinstance(v, list):
        raise LineError(f"{what} is not an array of [price, qty] pairs")
    out: list[tuple[int, float, float]] = []
    pdec = 0
    for pair in v:
        if not isinstance(pair, list) or len(pair) != 2:
            raise LineError(f"{what} holds {pair!r}, expected a [price, qty] pair")
        px, k = _decimal(pair[0], f"{what} price")
        q, _ = _decimal(pair[1], f"{what} qty")
        out.append((side, px, q))
        pdec = max(pdec, k)
    return out, pdec


def parse_line_json(line: bytes) -> ParsedLine:
    """Parse one recorder line with the stdlib ``json`` (raises :class:`LineError`)."""
    text = line.rstrip(b"\r\n")
    sp = text.find(b" ")
    if not text.strip():
        raise LineError("empty line")
    if sp <= 0 or not text[:sp].isdigit():
        raise LineError("no '<local_receive_ns> ' prefix")
    ints = [-1] * N_INTS
    ints[I_LOCAL] = int(text[:sp])
    ints[I_PDEC] = 0
    flts = [math.nan] * N_FLOATS
    try:
        msg = json.loads(text[sp + 1 :])
    except (ValueError, UnicodeDecodeError) as exc:
        raise LineError(f"invalid JSON ({exc})") from exc
    if not isinstance(msg, dict):
        raise LineError("the JSON is not an object")
    if "lastUpdateId" in msg and "stream" not in msg:
        what = "depth snapshot"
        ints[I_LAST] = _json_int(msg, "lastUpdateId", what, required=True)
        ints[I_E] = _json_int(msg, "E", what, required=False)
        ints[I_T] = _json_int(msg, "T", what, required=False)
        for key in ("bids", "asks"):
            if key not in msg:
                raise LineError(f"{what} has no field {key!r}")
        bids, kb = _json_levels(msg["bids"], 1, f"{what} bids")
        asks, ka = _json_levels(msg["asks"], -1, f"{what} asks")
        ints[I_PDEC] = max(kb, ka)
        symbol = msg.get("symbol")
        return ParsedLine(
            K_SNAPSHOT,
            ints,
            flts,
            bids + asks,
            keys=frozenset(msg),
            symbol=symbol if isinstance(symbol, str) else None,
        )
    stream = msg.get("stream")
    data = msg.get("data")
    if not isinstance(stream, str) or not isinstance(data, dict) or set(msg) != {"stream", "data"}:
        raise LineError("neither a combined-stream message {stream, data} nor a depth snapshot")
    parts = stream.split("@")
    stype = parts[1] if len(parts) > 1 else ""
    kind = {"depth": K_DEPTH, "trade": K_TRADE, "bookTicker": K_BOOK_TICKER}.get(stype, K_OTHER)
    if kind == K_OTHER:
        return ParsedLine(K_OTHER, ints, flts, stream=stream, keys=frozenset(data))
    what = {K_DEPTH: "depthUpdate", K_TRADE: "trade", K_BOOK_TICKER: "bookTicker"}[kind]
    symbol = data.get("s")
    if not isinstance(symbol, str):
        raise LineError(f"{what} has no symbol field 's'")
    ints[I_SYM] = symbol_hash(symbol)
    ints[I_E] = _json_int(data, "E", what, required=kind == K_DEPTH)
    ints[I_T] = _json_int(data, "T", what, required=False)
    levels: list[tuple[int, float, float]] = []
    if kind == K_DEPTH:
        ints[I_FIRST] = _json_int(data, "U", what, required=True)
        ints[I_LAST] = _json_int(data, "u", what, required=True)
        ints[I_PREV] = _json_int(data, "pu", what, required=False)
        for key in ("b", "a"):
            if key not in data:
                raise LineError(f"{what} has no field {key!r}")
        bids, kb = _json_levels(data["b"], 1, f"{what} field 'b'")
        asks, ka = _json_levels(data["a"], -1, f"{what} field 'a'")
        levels = bids + asks
        ints[I_PDEC] = max(kb, ka)
    elif kind == K_TRADE:
        ints[I_TID] = _json_int(data, "t", what, required=True)
        if ints[I_T] < 0 and ints[I_E] < 0:
            raise LineError(f"{what} has no time field 'T' or 'E'")
        flts[F_PX], ints[I_PDEC] = _json_dec(data, "p", what)
        flts[F_QTY], _ = _json_dec(data, "q", what)
        if "m" not in data:
            raise LineError(f"{what} has no field 'm'")
        if not isinstance(data["m"], bool):
            raise LineError(f"{what} field 'm' is {data['m']!r}, expected true or false")
        ints[I_M] = int(data["m"])
    else:
        ints[I_LAST] = _json_int(data, "u", what, required=True)
        flts[F_PX], kb = _json_dec(data, "b", what)
        flts[F_QTY], _ = _json_dec(data, "B", what)
        flts[F_PX2], ka = _json_dec(data, "a", what)
        flts[F_QTY2], _ = _json_dec(data, "A", what)
        ints[I_PDEC] = max(kb, ka)
    return ParsedLine(kind, ints, flts, levels, stream, frozenset(data), symbol)
