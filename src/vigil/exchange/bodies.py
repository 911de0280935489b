"""What a message body may hold, for each message type, and how it is marked.

STIX 2.1 types (threat-actor, identity, indicator, report, note, relationship)
travel as a STIX bundle: the TLP 2.0 marking-definition of the message's TLP
(the OASIS TLP 2.0 extension, not STIX's built-in TLP 1.0 markings) and the
objects, every one carrying that marking in ``object_marking_refs``. Vigil's
own types (case-file, screening-hit, rfi, rfi-answer) travel as canonical JSON
checked by strict models; they carry the TLP in a ``tlp`` field, so that a body
kept or forwarded without its envelope still says how it may be handled.

Marking policy: ``prepare`` marks what is unmarked and refuses what is marked
otherwise (another TLP, a TLP 1.0 marking, any other marking or granular
markings) rather than re-marking it: a body marked RED sent as GREEN is a
handling mistake to be corrected by the sender, not silently. ``validate``
requires exactly the message's marking on every object.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections import Counter
from datetime import date
from typing import Annotated, Any, Literal

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from vigil.exchange.envelope import TLP, canonical

STIX_TYPES = ("threat-actor", "identity", "indicator", "report", "note", "relationship")
VIGIL_TYPES = ("case-file", "screening-hit", "rfi", "rfi-answer")
TYPES = STIX_TYPES + VIGIL_TYPES

TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP_CREATED = "2022-10-01T00:00:00.000Z"
TLP_MARKING_IDS = {
    "CLEAR": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "GREEN": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "AMBER": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "AMBER+STRICT": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
_TLP_BY_ID = {marking_id: tlp for tlp, marking_id in TLP_MARKING_IDS.items()}

# Limits on Vigil bodies (STIX bodies are bounded by the envelope's MAX_BODY only).
NAME_MAX = 300
SHORT_MAX = 200
TEXT_MAX = 100_000


class BodyError(ValueError):
    """A body that is not valid for its type; the message names the type and the field."""


@functools.cache
def _stix() -> Any:
    """The stix2 library, taught the TLP 2.0 property extension (so that
    ``tlp_2_0`` is checked rather than passed through). Loaded on first use:
    importing it costs every command a fifth of a second."""
    import stix2
    from stix2.properties import EnumProperty
    from stix2.registry import class_for_type

    if class_for_type(TLP_EXTENSION, "2.1", "extensions") is None:

        @stix2.v21.CustomExtension(TLP_EXTENSION, [("tlp_2_0", EnumProperty([t.lower() for t in TLP], required=True))])
        class TLP20Marking:
            extension_type = "property-extension"

    return stix2


def parse_stix(obj: Any) -> Any:
    """One STIX 2.1 object checked by stix2 (no custom content); ValueError naming the problem."""
    stix2 = _stix()
    try:
        return stix2.parse(obj, allow_custom=False, version="2.1")
    # stix2 fails in several ways on odd input ("extensions": null, "type": null)
    except (stix2.exceptions.STIXError, ValueError, TypeError, AttributeError, KeyError) as exc:
        raise ValueError(f"not a valid STIX 2.1 object: {exc}") from None


def _tlp1_name(marking_id: str) -> str | None:
    """The name of a STIX built-in TLP 1.0 marking, by its id."""
    stix2 = _stix()
    return {m.id: m.name for m in (stix2.TLP_WHITE, stix2.TLP_GREEN, stix2.TLP_AMBER, stix2.TLP_RED)}.get(marking_id)


def _check_tlp(tlp: str) -> None:
    if tlp not in TLP:
        raise BodyError(f"{tlp!r} is not a TLP 2.0 marking ({', '.join(TLP)})")


def tlp_marking(tlp: str) -> dict[str, Any]:
    """The OASIS TLP 2.0 marking-definition for ``tlp`` ("CLEAR" ... "RED"), as a STIX 2.1 JSON object."""
    _check_tlp(tlp)
    marking = _stix().MarkingDefinition(
        id=TLP_MARKING_IDS[tlp], created=TLP_CREATED, name=f"TLP:{tlp}",
        extensions={TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": tlp.lower()}},
    )
    return json.loads(marking.serialize())


# --- reading bytes ---------------------------------------------------------------------------------------------------


def _text(type: str, raw: bytes) -> str:
    if not isinstance(raw, bytes | bytearray):
        raise BodyError(f"{type}: the body must be bytes, not {raw.__class__.__name__}")
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"{type}: not UTF-8 text (invalid byte at offset {exc.start})") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise ValueError(f"duplicate key {key!r}")
        data[key] = value
    return data


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_object(type: str, text: str) -> dict[str, Any]:
    """A JSON object; duplicate keys and NaN/Infinity are refused (other parsers would read them differently)."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_not_a_number)
    except json.JSONDecodeError as exc:
        raise BodyError(f"{type}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except ValueError as exc:
        raise BodyError(f"{type}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BodyError(f"{type}: a JSON object expected, not {_json_kind(data)}")
    return data


def _json_kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}.get(
        type(value), "a number"
    )


def _known(type: str) -> None:
    if type not in TYPES:
        raise BodyError(f"{type!r}: unknown body type (known types: {', '.join(TYPES)})")


# --- STIX bodies -----------------------------------------------------------------------------------------------------


def _where(index: int | None, obj: Any) -> str:
    what = obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None
    if index is None:
        return f"{what}: " if what else ""
    return f"objects[{index}]" + (f" ({what})" if what else "") + ": "


def _parse_stix(type: str, obj: Any, index: int | None) -> dict[str, Any]:
    """One STIX 2.1 object checked by stix2 (no custom content), back as normalised JSON."""
    if not isinstance(obj, dict):
        raise BodyError(f"{type}: {_where(index, obj)}a STIX object expected, not {_json_kind(obj)}")
    if obj.get("type") == "bundle":
        raise BodyError(f"{type}: {_where(index, obj)}a bundle inside a bundle")
    try:
        parsed = parse_stix(obj)
    except ValueError as exc:
        raise BodyError(f"{type}: {_where(index, obj)}{exc}") from None
    return json.loads(parsed.serialize())


def _stix_objects(type: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The objects of a STIX object or bundle, each checked, with one at least of the declared type."""
    if data.get("type") == "bundle":
        if unexpected := sorted(set(data) - {"type", "id", "objects"}):
            raise BodyError(f"{type}: bundle: unexpected field {unexpected[0]!r} (a STIX 2.1 bundle has type, id, objects)")
        bundle_id = data.get("id")
        if not isinstance(bundle_id, str) or not _is_stix_id(bundle_id, "bundle"):
            raise BodyError(f"{type}: bundle: id: {bundle_id!r} is not a bundle id (bundle--<UUID>)")
        objects = data.get("objects")
        if not isinstance(objects, list) or not objects:
            raise BodyError(f"{type}: bundle: objects: a non-empty list expected")
        parsed = [_parse_stix(type, obj, i) for i, obj in enumerate(objects)]
    else:
        parsed = [_parse_stix(type, data, None)]
    if not any(obj["type"] == type for obj in parsed):
        found = ", ".join(sorted({obj["type"] for obj in parsed}))
        raise BodyError(f"{type}: no {type} object in the body (found: {found})")
    return parsed


def _is_stix_id(value: str, prefix: str) -> bool:
    head, sep, tail = value.partition("--")
    if head != prefix or not sep:
        return False
    try:
        uuid.UUID(tail)
    except ValueError:
        return False
    return True


def _wrong_marking(marking_id: str, tlp: str) -> str:
    if marking_id in _TLP_BY_ID:
        return f"marked TLP:{_TLP_BY_ID[marking_id]}, but the message is TLP:{tlp}"
    if tlp1 := _tlp1_name(marking_id):
        return f"marked with the TLP 1.0 {tlp1}; Vigil bodies carry the TLP 2.0 marking (TLP:{tlp})"
    return f"marking {marking_id} is not allowed; Vigil bodies carry only the TLP 2.0 marking (TLP:{tlp})"


def _marking_problem(obj: dict[str, Any], tlp: str) -> str | None:
    """What is wrong with a marking-definition in a body marked ``tlp`` (None: it is the OASIS TLP 2.0 one)."""
    expected = tlp_marking(tlp)
    if obj == expected:
        return None
    return _wrong_marking(obj["id"], tlp) if obj["id"] != expected["id"] else "not the OASIS TLP 2.0 definition"


def _check_marking_refs(type: str, index: int, obj: dict[str, Any], tlp: str) -> None:
    """The object's markings are the message's TLP 2.0 marking, or none (``prepare`` then adds it)."""
    where = _where(index, obj)
    if "granular_markings" in obj:
        raise BodyError(f"{type}: {where}granular_markings: not supported (the whole body carries the message's TLP)")
    for ref in obj.get("object_marking_refs", []):
        if ref != TLP_MARKING_IDS[tlp]:
            raise BodyError(f"{type}: {where}object_marking_refs: {_wrong_marking(ref, tlp)}")


def _prepare_stix(type: str, text: str, tlp: str) -> bytes:
    if type == "note" and not text.lstrip().startswith("{"):
        objects = [_text_note(text)]
    else:
        try:
            data = _json_object(type, text)
        except BodyError as exc:
            hint = " (text beginning with '{' is read as STIX JSON; send such text inside a STIX note)" if type == "note" else ""
            raise BodyError(f"{exc}{hint}") from None
        objects = _stix_objects(type, data)
    marking = tlp_marking(tlp)
    marked: list[dict[str, Any]] = []
    for i, obj in enumerate(objects):
        if obj["type"] == "marking-definition":
            if problem := _marking_problem(obj, tlp):
                raise BodyError(f"{type}: {_where(i, obj)}{problem}")
            continue  # added once, below
        _check_marking_refs(type, i, obj, tlp)
        if not obj.get("object_marking_refs"):
            obj = _parse_stix(type, {**obj, "object_marking_refs": [marking["id"]]}, i)
        marked.append(obj)
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [marking, *marked]}
    return canonical(bundle)


def _text_note(text: str) -> dict[str, Any]:
    """A STIX note holding free text. STIX requires a note to refer to at least one
    object; a free-text note stands alone, so it refers to itself."""
    if not text.strip():
        raise BodyError("note: content: empty text")
    note_id = f"note--{uuid.uuid4()}"
    return json.loads(_stix().Note(id=note_id, content=text, object_refs=[note_id]).serialize())


def _validate_stix(type: str, data: dict[str, Any], tlp: str) -> None:
    if data.get("type") != "bundle":
        raise BodyError(f"{type}: a STIX 2.1 bundle expected (with the TLP 2.0 marking-definition), not {data.get('type')!r}")
    objects = _stix_objects(type, data)
    markings = [(i, obj) for i, obj in enumerate(objects) if obj["type"] == "marking-definition"]
    if not markings:
        raise BodyError(f"{type}: no TLP 2.0 marking-definition in the bundle")
    for i, obj in markings:
        if problem := _marking_problem(obj, tlp):
            raise BodyError(f"{type}: {_where(i, obj)}{problem}")
    if len(markings) > 1:
        raise BodyError(f"{type}: the marking-definition appears {len(markings)} times")
    for i, obj in enumerate(objects):
        if obj["type"] == "marking-definition":
            continue
        _check_marking_refs(type, i, obj, tlp)
        if obj.get("object_marking_refs") != [TLP_MARKING_IDS[tlp]]:
            raise BodyError(f"{type}: {_where(i, obj)}object_marking_refs: the message's marking (TLP:{tlp}) is missing")


# --- Vigil bodies ----------------------------------------------------------------------------------------------------


def _country(value: str) -> str:
    # XK (Kosovo) is user-assigned in ISO 3166 but used by the lists and by vigil.countries.
    if not re.fullmatch(r"[A-Z]{2}", value) or (value != "XK" and pycountry.countries.get(alpha_2=value) is None):
        raise PydanticCustomError("country", "{value} is not an ISO 3166-1 alpha-2 country code", {"value": repr(value)})
    return value


def _partial_date(value: str) -> str:
    """YYYY, YYYY-MM or YYYY-MM-DD: lists and case files often know only the year or month."""
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", value)
    try:
        if match is None:
            raise ValueError
        date(int(match[1]), int(match[2] or 1), int(match[3] or 1))
    except ValueError:
        raise PydanticCustomError("partial_date", "{value} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)", {"value": repr(value)}) from None
    return value


def _message_id(value: str) -> str:
    try:
        if str(uuid.UUID(value)) != value:
            raise ValueError
    except ValueError:
        raise PydanticCustomError("message_id", "{value} is not a message id (a lower-case UUID)", {"value": repr(value)}) from None
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=SHORT_MAX)]
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX)]
RequiredText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX)]
Country = Annotated[str, AfterValidator(_country)]
PartialDate = Annotated[str, AfterValidator(_partial_date)]
MessageId = Annotated[str, AfterValidator(_message_id)]
TlpLevel = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
Status = Literal["detained", "at-large", "deceased", "repatriated", "prosecuted", "convicted", "released", "unknown"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Document(_Body):
    type: Short  # "passport", "national-id", ...
    number: Short
    country: Country | None = None


class Subject(_Body):
    """A person of concern."""

    names: list[Name] = Field(min_length=1, max_length=50)
    birth_dates: list[PartialDate] = Field(default=[], max_length=20)
    nationalities: list[Country] = Field(default=[], max_length=20)
    documents: list[Document] = Field(default=[], max_length=50)


class Travel(_Body):
    date: PartialDate
    from_country: Country | None = None
    to_country: Country | None = None
    note: Annotated[str, StringConstraints(max_length=2_000)] = ""

    @model_validator(mode="after")
    def _somewhere(self) -> Travel:
        if self.from_country is None and self.to_country is None:
            raise PydanticCustomError("travel", "from_country or to_country expected")
        return self


class ListReference(_Body):
    source: Short  # "un", "ofac-sdn", ...
    reference: Short  # the list's own reference, e.g. "QDi.123"


class CaseFile(_Body):
    """A case file on a person of concern (e.g. a foreign terrorist fighter)."""

    tlp: TlpLevel
    subject: Subject
    status: Status
    travel: list[Travel] = Field(default=[], max_length=1_000)
    list_entries: list[ListReference] = Field(default=[], max_length=200)
    summary: Text = ""


class HitQuery(_Body):
    name: Name
    dob: PartialDate | None = None
    country: Country | None = None
    id_number: Short | None = None


class HitEntry(_Body):
    source: Short
    entry_id: Short  # "un:QDi.430"
    reference: Short | None = None
    name: Name


class ScreeningHit(_Body):
    """A screening hit shared with a partner."""

    tlp: TlpLevel
    query: HitQuery
    entry: HitEntry
    score: float = Field(ge=0, le=1)
    explanation: Text = ""
    list_version: Short  # what the partner can recognise: a publication date or content hash
    note: Text = ""


def _subject_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "<text>"
    return "<subject>" if isinstance(value, dict | Subject) else None


RfiSubject = Annotated[
    Annotated[RequiredText, Tag("<text>")] | Annotated[Subject, Tag("<subject>")],
    Discriminator(_subject_kind, custom_error_type="rfi_subject", custom_error_message="text or a subject object expected"),
]


class Rfi(_Body):
    """A request for information."""

    tlp: TlpLevel
    question: RequiredText
    subject: RfiSubject | None = None
    needed_by: date | None = None
    references: list[Short] = Field(default=[], max_length=100)


class RfiAnswer(_Body):
    tlp: TlpLevel
    request_id: MessageId  # the id of the rfi message answered
    answer: RequiredText
    references: list[Short] = Field(default=[], max_length=100)


_MODELS: dict[str, type[_Body]] = {"case-file": CaseFile, "screening-hit": ScreeningHit, "rfi": Rfi, "rfi-answer": RfiAnswer}


def _path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not str(part).startswith("<"):  # union tags
            path += f".{part}" if path else str(part)
    return path


_DATE = "not a date (YYYY-MM-DD)"
# Plainer words for pydantic's error types; "{...}" takes values from the error's context.
_ERRORS = {
    "missing": "missing (required)",
    "extra_forbidden": "unexpected field",
    "string_type": "text expected",
    "float_type": "a number expected",
    "list_type": "a list expected",
    "model_type": "an object expected",
    "model_attributes_type": "an object expected",
    "date_parsing": _DATE,
    "date_type": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "string_too_long": "longer than {max_length:,} characters",
    "string_too_short": "empty",
    "too_long": "more than {max_length:,} items",
    "too_short": "empty (at least {min_length} expected)",
    "literal_error": "{input!r} is not one of {expected}",
    "less_than_equal": "{input!r} is more than {le}",
    "greater_than_equal": "{input!r} is less than {ge}",
}


def _model_error(type: str, error: ValidationError) -> BodyError:
    errors = error.errors()
    first = errors[0]
    if template := _ERRORS.get(first["type"]):
        message = template.format(input=first.get("input"), **first.get("ctx", {}))
    else:
        message = first["msg"][:1].lower() + first["msg"][1:]
    path = _path(first["loc"])
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return BodyError(f"{type}: {path + ': ' if path else ''}{message}{more}")


def _load_vigil(type: str, text: str) -> _Body:
    _json_object(type, text)  # clear errors for bad JSON, duplicate keys, NaN
    try:
        return _MODELS[type].model_validate_json(text)
    except ValidationError as exc:
        raise _model_error(type, exc) from None


def _prepare_vigil(type: str, text: str, tlp: str) -> bytes:
    data = _json_object(type, text)
    if "tlp" in data and data["tlp"] != tlp:
        raise BodyError(f"{type}: tlp: the body is marked {data['tlp']!r}, but the message is {tlp}")
    model = _load_vigil(type, json.dumps({**data, "tlp": tlp}, ensure_ascii=False))
    return canonical(model.model_dump(mode="json"))


# --- public API ------------------------------------------------------------------------------------------------------


def prepare(type: str, content: bytes, tlp: str) -> bytes:
    """The body to seal for a message of ``type`` marked ``tlp``.

    STIX types: ``content`` is a STIX 2.1 object or bundle holding an object of
    that type (or, for ``note``, plain UTF-8 text, which becomes a note unless it
    begins with "{"); the result is a bundle with the TLP 2.0 marking-definition,
    every object marked with it. Vigil types: ``content`` is the JSON body (its
    ``tlp`` is set if absent); the result is its canonical JSON.
    """
    _known(type)
    _check_tlp(tlp)
    text = _text(type, content)
    if type in STIX_TYPES:
        return _prepare_stix(type, text, tlp)
    return _prepare_vigil(type, text, tlp)


def validate(type: str, body: bytes, tlp: str) -> None:
    """Check an opened body: UTF-8 JSON of the right shape for ``type``, marked ``tlp`` throughout."""
    _known(type)
    _check_tlp(tlp)
    text = _text(type, body)
    if type in STIX_TYPES:
        _validate_stix(type, _json_object(type, text), tlp)
        return
    model = _load_vigil(type, text)
    if model.tlp != tlp:
        raise BodyError(f"{type}: tlp: the body is marked {model.tlp}, but the message is {tlp}")


def describe(type: str, body: bytes) -> str:
    """A short text of a (prepared) body for reading; free text (a note's content, a summary) is given in full."""
    _known(type)
    text = _text(type, body)
    if type in VIGIL_TYPES:
        model = _load_vigil(type, text)
        return _DESCRIBE[type](model)
    data = _json_object(type, text)
    objects = _stix_objects(type, data)
    names = {obj["id"]: obj.get("name") or obj["id"] for obj in objects}
    markings = [obj["name"] for obj in objects if obj["type"] == "marking-definition" and "name" in obj]
    parts = [", ".join(markings)] if markings else []
    parts += [_describe_stix(obj, names) for obj in objects if obj["type"] == type]
    others = Counter(obj["type"] for obj in objects if obj["type"] not in (type, "marking-definition"))
    if others:
        parts.append("Also: " + ", ".join(f"{n} {kind}" for kind, n in sorted(others.items())))
    return "\n\n".join(parts)


def _describe_stix(obj: dict[str, Any], names: dict[str, str]) -> str:
    kind = obj["type"]
    if kind == "note":
        head = f"Note: {obj['abstract']}" if obj.get("abstract") else "Note"
        if obj.get("authors"):
            head += f" (by {', '.join(obj['authors'])})"
        return f"{head}\n{obj['content']}"
    if kind == "relationship":
        line = f"Relationship: {names.get(obj['source_ref'], obj['source_ref'])} {obj['relationship_type']} " \
               f"{names.get(obj['target_ref'], obj['target_ref'])}"
    elif kind == "indicator":
        line = f"Indicator: {obj.get('name', obj['id'])}\nPattern ({obj['pattern_type']}): {obj['pattern']}"
    elif kind == "report":
        line = f"Report: {obj['name']} (published {obj['published']}, {len(obj['object_refs'])} objects)"
    elif kind == "identity":
        line = f"Identity: {obj['name']}" + (f" ({obj['identity_class']})" if obj.get("identity_class") else "")
    else:  # threat-actor
        line = f"Threat actor: {obj['name']}" + (f" (aliases: {', '.join(obj['aliases'])})" if obj.get("aliases") else "")
    return line + (f"\n{obj['description']}" if obj.get("description") else "")


def _describe_subject(subject: Subject) -> list[str]:
    lines = [" / ".join(subject.names)]
    if subject.birth_dates:
        lines.append(f"Born: {', '.join(subject.birth_dates)}")
    if subject.nationalities:
        lines.append(f"Nationality: {', '.join(subject.nationalities)}")
    for doc in subject.documents:
        lines.append(f"Document: {doc.type} {doc.number}" + (f" ({doc.country})" if doc.country else ""))
    return lines


def _describe_case_file(case: CaseFile) -> str:
    names, *details = _describe_subject(case.subject)
    lines = [f"TLP:{case.tlp}", f"Case file: {names} — status: {case.status}", *details]
    for trip in case.travel:
        route = f"{trip.from_country or '?'} → {trip.to_country or '?'}"
        lines.append(f"Travel {trip.date}: {route}" + (f" ({trip.note})" if trip.note else ""))
    if case.list_entries:
        lines.append("Listed: " + ", ".join(f"{e.source} {e.reference}" for e in case.list_entries))
    if case.summary:
        lines += ["", case.summary]
    return "\n".join(lines)


def _describe_hit(hit: ScreeningHit) -> str:
    query = hit.query.name + "".join(
        f", {label} {value}" for label, value in (("born", hit.query.dob), ("country", hit.query.country),
                                                   ("id", hit.query.id_number)) if value
    )
    entry = f"{hit.entry.name} ({hit.entry.source} {hit.entry.reference or hit.entry.entry_id})"
    lines = [f"TLP:{hit.tlp}", f"Screening hit: {query} ~ {entry}, score {hit.score:.2f}, list {hit.list_version}"]
    lines += [text for text in (hit.explanation, hit.note) if text]
    return "\n".join(lines)


def _describe_rfi(rfi: Rfi) -> str:
    lines = [f"TLP:{rfi.tlp}", "Request for information" + (f" (needed by {rfi.needed_by})" if rfi.needed_by else "")]
    if isinstance(rfi.subject, Subject):
        names, *details = _describe_subject(rfi.subject)
        lines += [f"Subject: {names}", *details]
    elif rfi.subject:
        lines.append(f"Subject: {rfi.subject}")
    if rfi.references:
        lines.append(f"References: {', '.join(rfi.references)}")
    return "\n".join([*lines, "", rfi.question])


def _describe_answer(answer: RfiAnswer) -> str:
    lines = [f"TLP:{answer.tlp}", f"Answer to request {answer.request_id}"]
    if answer.references:
        lines.append(f"References: {', '.join(answer.references)}")
    return "\n".join([*lines, "", answer.answer])


_DESCRIBE: dict[str, Any] = {
    "case-file": _describe_case_file, "screening-hit": _describe_hit, "rfi": _describe_rfi, "rfi-answer": _describe_answer,
}


def prepare_answer(request_id: str, content: bytes, tlp: str) -> bytes:
    """An rfi-answer to request ``request_id``: a JSON body, or plain text as the answer."""
    text = _text("rfi-answer", content)
    data = _json_object("rfi-answer", text) if text.lstrip().startswith("{") else {"answer": text}
    data.setdefault("request_id", request_id)
    return prepare("rfi-answer", json.dumps(data, ensure_ascii=False).encode(), tlp)


def answered_request(body: bytes) -> str:
    """The id of the request an (already validated) rfi-answer answers."""
    return json.loads(body)["request_id"]
