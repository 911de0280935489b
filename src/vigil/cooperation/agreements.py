"""Agreements with partners: for each incident category, how soon a
notification must be acknowledged, answered and resolved and how often the
partner is kept in the loop, in calendar time or in working hours in the
partner's time zone, and whom to escalate to, level by level."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, delete, insert, select

from vigil.cooperation import tables
from vigil.cooperation.clock import Clock, format_duration, system_clock
from vigil.exchange.node import Node
from vigil.store.store import as_utc

CATEGORIES = ("ict", "air", "sea", "other")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_CONTACTS = 10


class CooperationError(ValueError):
    """A cooperation step refused, with the reason; nothing was changed."""


_HOURS = re.compile(r"^\s*(?P<days>[A-Za-z,-]+)\s+(?P<opens>\d{1,2}:\d{2})-(?P<closes>\d{1,2}:\d{2})\s+(?P<zone>\S+)\s*$")


def _day(name: str, text: str) -> int:
    for number, day in enumerate(DAYS):
        if name.strip().lower() == day.lower():
            return number
    raise CooperationError(f"working hours {text!r}: {name!r} is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)")


def _time(value: str, text: str) -> time:
    try:
        return time.fromisoformat(value.zfill(5))
    except ValueError:
        raise CooperationError(f"working hours {text!r}: {value!r} is not a time of day (HH:MM)") from None


@dataclass(frozen=True)
class WorkingHours:
    """Working days and hours in a time zone, e.g. ``Mon-Fri 09:00-18:00 Europe/Moscow``."""

    days: frozenset[int]  # 0 is Monday
    opens: time
    closes: time
    zone: str

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        match = _HOURS.match(text)
        if match is None:
            raise CooperationError(f"working hours {text!r}: write them as DAYS HH:MM-HH:MM ZONE, e.g. \"Mon-Fri 09:00-18:00 Europe/Moscow\"")
        days: set[int] = set()
        for item in match["days"].split(","):
            first, _, last = item.partition("-")
            start = _day(first, text)
            end = _day(last, text) if last else start
            days.update((start + step) % 7 for step in range((end - start) % 7 + 1))  # Sun-Thu wraps round
        opens, closes = _time(match["opens"], text), _time(match["closes"], text)
        if closes <= opens:
            raise CooperationError(f"working hours {text!r}: the day must end after it starts ({match['opens']}-{match['closes']})")
        try:
            ZoneInfo(match["zone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise CooperationError(f"working hours {text!r}: {match['zone']!r} is not a time zone (e.g. Europe/Moscow)") from None
        return cls(frozenset(days), opens, closes, match["zone"])

    def __str__(self) -> str:
        runs: list[list[int]] = []
        for day in sorted(self.days):
            if runs and runs[-1][-1] == day - 1:
                runs[-1].append(day)
            else:
                runs.append([day])
        if len(runs) > 1 and runs[0][0] == 0 and runs[-1][-1] == 6:  # Sun-Thu, not Mon-Thu,Sun
            runs[0] = runs.pop() + runs[0]
        names = ",".join(DAYS[run[0]] if len(run) == 1 else f"{DAYS[run[0]]}-{DAYS[run[-1]]}" for run in runs)
        return f"{names} {self.opens:%H:%M}-{self.closes:%H:%M} {self.zone}"

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The moment when ``amount`` of working time has passed since ``start``.

        Each working day's opening and closing are placed in the zone (so a
        change to or from summer time moves them) and the arithmetic is done
        in UTC."""
        zone = ZoneInfo(self.zone)
        moment, left = as_utc(start), amount
        day = moment.astimezone(zone).date()
        while True:
            if day.weekday() in self.days:
                opens = datetime.combine(day, self.opens, zone).astimezone(UTC)
                closes = datetime.combine(day, self.closes, zone).astimezone(UTC)
                begin = max(moment, opens)
                if begin < closes:
                    if begin + left <= closes:
                        return begin + left
                    left -= closes - begin
            day += timedelta(days=1)


@dataclass(frozen=True)
class Agreement:
    partner: str
    category: str
    ack: timedelta
    respond: timedelta
    resolve: timedelta | None
    keep_in_loop: timedelta | None
    hours: WorkingHours | None  # None: calendar time
    escalation: tuple[str, ...]  # contacts for levels 1, 2, ...
    updated_at: datetime

    def deadline(self, start: datetime, amount: timedelta) -> datetime:
        """``start`` plus ``amount``, counting working hours only when the agreement has them."""
        return self.hours.add(start, amount) if self.hours else as_utc(start) + amount

    def to_dict(self) -> dict[str, Any]:
        def spelled(value: timedelta | None) -> str | None:
            return format_duration(value) if value else None

        return {
            "partner": self.partner, "category": self.category, "ack": spelled(self.ack), "respond": spelled(self.respond),
            "resolve": spelled(self.resolve), "keep_in_loop": spelled(self.keep_in_loop),
            "hours": str(self.hours) if self.hours else None, "escalation": list(self.escalation),
            "updated_at": self.updated_at.isoformat(),
        }


def _seconds(value: timedelta | None) -> int | None:
    return int(value.total_seconds()) if value is not None else None


def _interval(seconds: int | None) -> timedelta | None:
    return timedelta(seconds=seconds) if seconds is not None else None


def _agreement(row: Any) -> Agreement:
    return Agreement(
        row.partner, row.category, timedelta(seconds=row.ack), timedelta(seconds=row.respond), _interval(row.resolve),
        _interval(row.keep_in_loop), WorkingHours.parse(row.hours) if row.hours else None,
        tuple(json.loads(row.escalation)), as_utc(row.updated_at),
    )


def find(conn: Connection, partner: str) -> list[Agreement]:
    """The agreements with ``partner``, one per category covered."""
    tables.ensure(conn)
    query = select(tables.agreements).where(tables.agreements.c.partner == partner).order_by(tables.agreements.c.category)
    return [_agreement(row) for row in conn.execute(query)]


def covering(conn: Connection, partner: str, category: str) -> Agreement:
    """The agreement with ``partner`` for ``category``; refused when there is none."""
    agreed = find(conn, partner)
    for agreement in agreed:
        if agreement.category == category:
            return agreement
    covered = ", ".join(a.category for a in agreed) or "none"
    raise CooperationError(f"no agreement with {partner!r} covers category {category!r} (covered: {covered}); `vigil agreement add`")


class Agreements:
    def __init__(self, node: Node, clock: Clock = system_clock) -> None:
        self.node = node
        self.engine = node.engine
        self.clock = clock
        tables.ensure(self.engine)

    def add(
        self, partner: str, category: str, ack: timedelta, respond: timedelta, resolve: timedelta | None = None,
        keep_in_loop: timedelta | None = None, hours: WorkingHours | None = None, escalation: Sequence[str] = (),
    ) -> Agreement:
        """Agree service levels with a partner for a category (replacing any
        agreed before; incidents already open keep their deadlines)."""
        self.node.partner(partner)  # a partner this node has added, else NodeError
        if category not in CATEGORIES:
            raise CooperationError(f"category {category!r} is not one of {', '.join(CATEGORIES)}")
        for field, value in (("ack", ack), ("respond", respond), ("resolve", resolve), ("keep-in-loop", keep_in_loop)):
            if value is not None and value <= timedelta():
                raise CooperationError(f"the {field} interval must be longer than zero")
        if respond < ack:
            raise CooperationError(f"the response ({format_duration(respond)}) cannot be due before the acknowledgement ({format_duration(ack)})")
        if resolve is not None and resolve < respond:
            raise CooperationError(f"the resolution ({format_duration(resolve)}) cannot be due before the response ({format_duration(respond)})")
        contacts = tuple(contact.strip() for contact in escalation)
        if any(not contact or len(contact) > 200 for contact in contacts):
            raise CooperationError("each escalation contact must be between 1 and 200 characters")
        if len(contacts) > MAX_CONTACTS:
            raise CooperationError(f"at most {MAX_CONTACTS} escalation levels, not {len(contacts)}")
        row = {
            "partner": partner, "category": category, "ack": _seconds(ack), "respond": _seconds(respond),
            "resolve": _seconds(resolve), "keep_in_loop": _seconds(keep_in_loop), "hours": str(hours) if hours else None,
            "escalation": json.dumps(list(contacts)), "updated_at": self.clock(),
        }
        with self.engine.begin() as conn:
            conn.execute(delete(tables.agreements).where(
                (tables.agreements.c.partner == partner) & (tables.agreements.c.category == category)))
            conn.execute(insert(tables.agreements).values(**row))
            return covering(conn, partner, category)

    def all(self) -> list[Agreement]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(tables.agreements).order_by(tables.agreements.c.partner, tables.agreements.c.category))
            return [_agreement(row) for row in rows]

    def with_partner(self, partner: str) -> list[Agreement]:
        with self.engine.connect() as conn:
            return find(conn, partner)
