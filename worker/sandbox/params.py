"""A POST body parsed the way REDCap's PHP sees it.

PyCap sends arrays as ``records[0]=1&records[1]=2`` (PHP array syntax); REDCapR sends
``records=1,2``. REDCap explodes non-array values on ``,`` for the record-export filters, so
both arrive here as lists.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

_ARRAY_KEY = re.compile(r"^([^\[\]]+)\[([^\[\]]*)\]$")
FORMATS = ("json", "csv", "xml")


def coerce_format(value: str, *, allow_odm: bool = False) -> str:
    """REDCap turns any format it does not know into xml."""
    if value in FORMATS or (allow_odm and value == "odm"):
        return value
    return "xml"


def is_true(value: str | None) -> bool:
    """REDCap's boolean flags: ``1`` or any-case ``true``; so Python's ``"False"`` is false."""
    return value is not None and (value == "1" or value.lower() == "true")


@dataclass
class RequestParams:
    scalars: dict[str, str] = field(default_factory=dict)
    arrays: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, body: bytes) -> RequestParams:
        params = cls()
        indexed: dict[str, dict[str, str]] = {}
        text = body.decode("utf-8", errors="replace")
        for key, value in parse_qsl(text, keep_blank_values=True, encoding="utf-8"):
            match = _ARRAY_KEY.match(key)
            if match is None:
                params.scalars[key] = value
                continue
            name, index = match.groups()
            slots = indexed.setdefault(name, {})
            # PHP appends for "name[]"; a repeated index overwrites, keeping its first position.
            slots[index if index else f"\0{len(slots)}"] = value
        params.arrays = {name: list(slots.values()) for name, slots in indexed.items()}
        return params

    def get(self, name: str, default: str = "") -> str:
        return self.scalars.get(name, default)

    def has(self, name: str) -> bool:
        return name in self.scalars or name in self.arrays

    def is_array(self, name: str) -> bool:
        return name in self.arrays

    def list(self, name: str) -> list[str] | None:
        """An array parameter, from ``name[i]`` keys or a comma string; None when absent/blank."""
        if name in self.arrays:
            values = [v.strip() for v in self.arrays[name] if v.strip()]
        elif self.scalars.get(name, "").strip():
            values = [v.strip() for v in self.scalars[name].split(",") if v.strip()]
        else:
            return None
        return values or None

    def flag(self, name: str) -> bool:
        return is_true(self.scalars.get(name))

    @property
    def content(self) -> str:
        return self.get("content")

    def format(self, *, allow_odm: bool = False) -> str:
        return coerce_format(self.get("format"), allow_odm=allow_odm)

    @property
    def return_format(self) -> str:
        """Format of error bodies and import results: returnFormat, else format, else xml."""
        return coerce_format(self.get("returnFormat") or self.get("format"))

    def redacted(self) -> dict[str, str | builtins.list[str]]:
        """Everything but the token (never kept anywhere) and the import payload (too big)."""
        out: dict[str, str | builtins.list[str]] = {}
        for key, value in self.scalars.items():
            if key == "token":
                continue
            out[key] = f"<{len(value)} characters>" if key == "data" else value
        for key, values in self.arrays.items():
            if key != "token":
                out[key] = list(values)
        return out
