"""Deterministic synthetic data helpers for the sandboxes.

Everything derives from a seeded `random.Random`, so the same seed and volume give the
same records on every machine, and timestamps count from a fixed epoch, not the clock.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import functools
import gc
import json
import random
import typing as t
import uuid
import zlib

#: 2024-01-01T00:00:00Z: synthetic timestamps count from here.
EPOCH = 1_704_067_200

WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
]


def rng(seed: int, name: str) -> random.Random:
    """An independent random stream per (seed, table name)."""
    return random.Random(f"{seed}:{name}")


def pick(r: random.Random, seq: t.Sequence[t.Any]) -> t.Any:
    """A random element of `seq` (one `random()` call: `random.choice` is 4x slower, and
    100k-record tables call this a lot)."""
    return seq[int(r.random() * len(seq))]


@contextlib.contextmanager
def collector_paused() -> t.Iterator[None]:
    """No cyclic garbage collection while the block runs: building millions of small
    acyclic records, the collector would rescan the growing heap again and again (a
    third of the build time at 100k records)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def words(r: random.Random, n: int = 2) -> str:
    """`n` random words joined by spaces."""
    return " ".join(r.choice(WORDS) for _ in range(n))


def uid(r: random.Random) -> str:
    """A deterministic UUID4 string."""
    return str(uuid.UUID(int=r.getrandbits(128), version=4))


def iso(ts: int) -> str:
    """Unix seconds as ISO 8601 UTC (`2024-01-01T00:00:00Z`)."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sql_time(ts: int) -> str:
    """Unix seconds as `YYYY-MM-DD HH:MM:SS` UTC (cached parts: fast for 100k rows)."""
    days, rest = divmod(ts, 86_400)
    return _day(days) + _clock(rest)


@functools.cache
def _day(days: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=days)).isoformat()


@functools.cache
def _clock(seconds: int) -> str:
    return f" {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def email(r: random.Random, domain: str = "example.com") -> str:
    """A synthetic e-mail address."""
    return f"{r.choice(WORDS)}.{r.choice(WORDS)}{r.randrange(1000)}@{domain}"


def opaque(text: str) -> str:
    """`text` as an opaque URL-safe token (base64 without padding), for API cursors."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def unopaque(token: str) -> str | None:
    """The text of a token made by `opaque`, or None if it is not one."""
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def drifts(stream: str, field: str) -> bool:
    """Whether drift mode alters `field` of `stream` (about a third of the fields)."""
    return zlib.crc32(f"{stream}.{field}".encode()) % 3 == 0


def drifted(value: t.Any) -> t.Any:
    """`value` as another JSON type: what an API does when it breaks its own types."""
    if isinstance(value, bool):
        return int(value)  # 1 / 0 where a boolean is documented
    if isinstance(value, int | float):
        return str(value)  # a numeric string where a number is documented
    if isinstance(value, str):
        return {"text": value}  # an object where a string is documented
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)  # JSON text where an object is documented
    if isinstance(value, list):
        return {"items": value}  # an object where a list is documented
    return value  # null stays null


def drift_tables(tables: dict[str, t.Any], stable: t.Mapping[str, t.Sequence[str]]) -> None:
    """Alter the values of every third record of each table in place (the first one
    included, so a first page shows each drift), in the fields `drifts` picks, leaving
    `stable[stream]` and `id` alone."""
    for stream, rows in tables.items():
        keep = {"id", *stable.get(stream, ())}
        groups = rows.values() if isinstance(rows, dict) else [rows]
        for group in groups:
            for record in group[::3]:
                for field, value in record.items():
                    if field not in keep and drifts(stream, field):
                        record[field] = drifted(value)
