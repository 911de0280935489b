"""The draft of a joint designation proposal, structured like a UN listing:
its model, checked strictly, read from a JSON file with every problem named
by file and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from vigil.exchange.bodies import Country, Name, PartialDate, Short

REGIMES = ("1267", "1988")  # ISIL (Da'esh) and Al-Qaida; the Taliban
KINDS = ("person", "organisation")
TEXT_MAX = 100_000


class ProposalError(ValueError):
    """A proposal file that cannot be read, or an act on a proposal that its
    state or its sponsors do not allow; the message names the problem."""


def _regime_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _regime(value: str) -> str:
    if value not in REGIMES:
        raise PydanticCustomError("regime", "{value} is not a regime proposals are made under (allowed: {allowed})",
                                  {"value": repr(value), "allowed": ", ".join(REGIMES)})
    return value


Regime = Annotated[str, BeforeValidator(_regime_text), AfterValidator(_regime)]
LongText = Annotated[str, StringConstraints(max_length=TEXT_MAX)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000)]


class Strict(BaseModel):
    """Unknown fields and loosely typed values are refused; a model once read does not change."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ProposalDocument(Strict):
    type: Short  # "passport", "national-id", ...
    number: Short
    country: Country | None = None  # issuing country
    issued_on: PartialDate | None = None
    note: Note = ""


class ProposalAddress(Strict):
    street: Short | None = None
    city: Short | None = None
    state_province: Short | None = None
    postal_code: Short | None = None
    country: Country | None = None
    note: Note = ""

    @model_validator(mode="after")
    def _somewhere(self) -> ProposalAddress:
        if not any((self.street, self.city, self.state_province, self.postal_code, self.country)):
            raise PydanticCustomError("address", "an address needs a street, city, state_province, postal_code or country")
        return self


class Draft(Strict):
    """What the committee needs for a listing, as the UN's list publishes it."""

    kind: Literal["person", "organisation"]
    names: list[Name] = Field(min_length=1, max_length=100)  # the first is the name to list, the others aliases
    regime: Regime
    original_script_names: list[Name] = Field(default=[], max_length=100)
    birth_dates: list[PartialDate] = Field(default=[], max_length=20)
    birth_places: list[Short] = Field(default=[], max_length=20)
    nationalities: list[Country] = Field(default=[], max_length=20)
    documents: list[ProposalDocument] = Field(default=[], max_length=50)
    addresses: list[ProposalAddress] = Field(default=[], max_length=50)
    reasons: LongText = ""  # the narrative summary of reasons for listing

    @model_validator(mode="after")
    def _person_facts(self) -> Draft:
        if self.kind == "organisation" and (self.birth_dates or self.birth_places or self.nationalities):
            raise PydanticCustomError(
                "organisation", "birth_dates, birth_places and nationalities describe a person, not an organisation")
        return self

    @classmethod
    def read(cls, path: Path) -> Draft:
        """A draft from a JSON file; every problem is named with the file and the field."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ProposalError(f"{path}: {error.strerror}") from None
        except UnicodeDecodeError as error:
            raise ProposalError(f"{path}: not UTF-8 text (byte {error.start})") from None
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, source: str) -> Draft:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ProposalError(f"{source}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})") from None
        return cls.of(data, source)

    @classmethod
    def of(cls, data: Any, source: str) -> Draft:
        if not isinstance(data, dict):
            raise ProposalError(f"{source}: a JSON object with kind, names and regime expected")
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise ProposalError(f"{source}: {problems(error)}") from None

    def content(self) -> dict[str, Any]:
        """The draft as JSON data: what is kept, sent and signed."""
        return self.model_dump(mode="json")


_WORDS = {
    "missing": "missing (required)",
    "extra_forbidden": "unexpected field",
    "string_type": "text expected",
    "int_type": "a whole number expected",
    "list_type": "a list expected",
    "dict_type": "an object expected",
    "model_type": "an object expected",
    "string_too_short": "empty",
    "string_too_long": "longer than {max_length:,} characters",
    "too_short": "empty (at least {min_length} expected)",
    "too_long": "more than {max_length:,} items",
    "literal_error": "{input!r} is not one of {expected}",
    "string_pattern_mismatch": "{input!r} is not in the expected form",
}


def problems(error: ValidationError) -> str:
    """Every problem of a validation, as "field: what is wrong", joined with "; "."""
    found = []
    for item in error.errors():
        path = ""
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        template = _WORDS.get(item["type"])
        message = template.format(input=item.get("input"), **item.get("ctx", {})) if template else item["msg"]
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        found.append(f"{path}: {message}" if path else message)
    return "; ".join(found)
