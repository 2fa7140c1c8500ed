"""Reading and writing ENTSO-E (IEC 62325-451) documents: safe parsing, located errors, text forms.

A reader collects every problem it finds as a FieldError whose location is an XPath-like path
(`/ReserveBid_MarketDocument/Bid_TimeSeries[2]/Period/Point/quantity.quantity`), so one reply
names all broken elements at once. Repeated elements carry their 1-based XPath index.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no stubs

from adapters.errors import MarketInputError
from gateway.messages.problems import FieldError

_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")  # xs:decimal: no exponent, no NaN
_MINUTE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z$")  # ESMP_DateTime: UTC
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?$")  # the resolutions balancing uses
INTERVAL_FORMAT = "%Y-%m-%dT%H:%MZ"  # ESMP_DateTimeInterval start/end: minute precision
CREATED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # createdDateTime: second precision


@dataclass(frozen=True)
class Node:
    element: Any  # an lxml element
    path: str


def parse_document(data: bytes, namespace: str, root: str, what: str) -> Node:
    """Parse untrusted bytes: no DTD, no entities, no network; the root must be ``root`` in
    ``namespace`` (the document type and version this module reads)."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise _fail("/", "DTDs and entities are not allowed in market documents", what)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True,
        remove_pis=True, huge_tree=False,
    )  # fmt: skip
    try:
        element = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        message = f"not well-formed XML at line {line}, column {column}: {exc}"
        raise _fail("/", message, what) from None
    expected = f"{{{namespace}}}{root}"
    if element.tag != expected:
        raise _fail(
            "/", f"root element is {element.tag!r}; expected {root} in namespace {namespace}", what
        )
    return Node(element, f"/{root}")


def _fail(location: str, message: str, what: str) -> MarketInputError:
    return MarketInputError([FieldError(location=location, message=message)], what)


@dataclass
class Reader:
    """Typed access to the children of a document in one namespace, collecting errors."""

    namespace: str
    errors: list[FieldError] = field(default_factory=list)

    def fail(self, location: str, message: str) -> None:
        self.errors.append(FieldError(location=location, message=message))

    def children(self, parent: Node, name: str) -> list[Node]:
        found = parent.element.findall(f"{{{self.namespace}}}{name}")
        return [Node(e, f"{parent.path}/{name}[{i}]") for i, e in enumerate(found, start=1)]

    def child(self, parent: Node, name: str, required: bool = True) -> Node | None:
        found = parent.element.findall(f"{{{self.namespace}}}{name}")
        path = f"{parent.path}/{name}"
        if len(found) > 1:
            self.fail(path, f"{name} appears {len(found)} times; once is allowed here")
        if not found:
            if required:
                self.fail(path, f"missing element {name}")
            return None
        return Node(found[0], path)

    def text(
        self, parent: Node, name: str, required: bool = True, max_length: int | None = None
    ) -> str | None:
        node = self.child(parent, name, required)
        if node is None:
            return None
        value = (node.element.text or "").strip()
        if not value:
            self.fail(node.path, f"{name} is empty")
            return None
        if max_length is not None and len(value) > max_length:
            self.fail(node.path, f"{name} is {len(value)} characters; at most {max_length}")
            return None
        return value

    def code(
        self, parent: Node, name: str, allowed: Collection[str], required: bool = True
    ) -> str | None:
        value = self.text(parent, name, required)
        if value is not None and value not in allowed:
            self.fail(
                f"{parent.path}/{name}",
                f"code {value!r} is not accepted here; expected one of {sorted(allowed)}",
            )
            return None
        return value

    def number(self, parent: Node, name: str, required: bool = True) -> float | None:
        value = self.text(parent, name, required)
        if value is None:
            return None
        if not _DECIMAL.match(value):
            self.fail(f"{parent.path}/{name}", f"{value!r} is not a decimal number")
            return None
        return float(value)

    def integer(self, parent: Node, name: str) -> int | None:
        value = self.text(parent, name)
        if value is None:
            return None
        if not value.isdigit():
            self.fail(f"{parent.path}/{name}", f"{value!r} is not a positive integer")
            return None
        return int(value)

    def when(self, parent: Node, name: str) -> datetime | None:
        value = self.text(parent, name)
        if value is None:
            return None
        if not _MINUTE_TIME.match(value):
            self.fail(f"{parent.path}/{name}", f"{value!r} is not a UTC time YYYY-MM-DDThh:mmZ")
            return None
        try:
            return datetime.fromisoformat(value)
        except ValueError as exc:
            self.fail(f"{parent.path}/{name}", f"{value!r} is not a date and time: {exc}")
            return None

    def interval(self, parent: Node, name: str) -> tuple[datetime, datetime] | None:
        node = self.child(parent, name)
        if node is None:
            return None
        start, end = self.when(node, "start"), self.when(node, "end")
        if start is None or end is None:
            return None
        if end <= start:
            self.fail(f"{node.path}/end", "end is not after start")
            return None
        return start, end

    def time_unit(
        self, period: Node, window: tuple[datetime, datetime] | None, resolution: int
    ) -> int | None:
        """The index of the market time unit a Period's timeInterval covers in ``window``."""
        interval = self.interval(period, "timeInterval")
        if interval is None or window is None:
            return None
        start, end = interval
        step = timedelta(minutes=resolution)
        where = f"{period.path}/timeInterval"
        if end - start != step:
            self.fail(where, f"lasts {end - start}; expected one resolution ({resolution} min)")
            return None
        if (start - window[0]) % step or not window[0] <= start < end <= window[1]:
            self.fail(f"{where}/start", "not a market time unit inside the document's interval")
            return None
        return int((start - window[0]) / step)

    def minutes(self, parent: Node, name: str) -> int | None:
        value = self.text(parent, name)
        if value is None:
            return None
        match = _DURATION.match(value)
        if match is None or not any(match.groups()):
            self.fail(f"{parent.path}/{name}", f"{value!r} is not a duration like PT15M or PT1H")
            return None
        return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


class Writer:
    """Builds a document in one default namespace, in the schema's element order."""

    def __init__(self, namespace: str, root: str) -> None:
        self.namespace = namespace
        self.root = etree.Element(f"{{{namespace}}}{root}", nsmap={None: namespace})

    def add(self, parent: Any, name: str, text: str | None = None, **attributes: str) -> Any:
        element = etree.SubElement(parent, f"{{{self.namespace}}}{name}", attributes)
        if text is not None:
            element.text = text
        return element

    def interval(self, parent: Any, name: str, start: datetime, end: datetime) -> None:
        node = self.add(parent, name)
        self.add(node, "start", interval_text(start))
        self.add(node, "end", interval_text(end))

    def tobytes(self) -> bytes:
        data: bytes = etree.tostring(
            self.root, xml_declaration=True, encoding="UTF-8", pretty_print=True
        )
        return data


def decimal_text(value: float) -> str:
    """The shortest decimal that reads back as the same float, without an exponent."""
    if not math.isfinite(value):
        raise ValueError(f"{value} has no decimal form")
    return format(Decimal(repr(value)), "f")


def interval_text(when: datetime) -> str:
    return when.astimezone(UTC).strftime(INTERVAL_FORMAT)


def created_text(when: datetime) -> str:
    return when.astimezone(UTC).strftime(CREATED_FORMAT)


def duration_text(minutes: int) -> str:
    return f"PT{minutes}M"


def is_whole_minute(when: datetime) -> bool:
    return when.second == 0 and when.microsecond == 0


def period_start(start: datetime, resolution_minutes: int, period_index: int) -> datetime:
    return start + timedelta(minutes=resolution_minutes * period_index)
