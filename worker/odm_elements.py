"""Reading REDCap's project XML (CDISC ODM 1.3.1 with REDCap's ``redcap:`` extensions), shared
by the worker's structure reader and the sandbox's project loader: elements and attributes
found by their local names, and the layout of its missing-data codes.

Namespaces are matched on local names only: REDCap has written the ODM namespace with both
``http://`` and ``https://``, and its own attributes with or without the ``redcap:`` prefix.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator


def local(name: str) -> str:
    """A tag or attribute name without its namespace."""
    return name.rpartition("}")[2]


def attr(element: ET.Element, name: str) -> str:
    """An attribute by local name; "" when absent."""
    for key, value in element.attrib.items():
        if local(key) == name:
            return value
    return ""


def children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in element if local(child.tag) == name)


def child(element: ET.Element, name: str) -> ET.Element | None:
    return next(children(element, name), None)


def text(element: ET.Element | None) -> str:
    return "" if element is None else "".join(element.itertext())


def missing_codes_text(stored: str) -> str:
    """``redcap:MissingDataCodes`` (one ``CODE, Label`` per line) as the project info export
    gives them: ``"UNK, Unknown\\nNA, Not applicable"`` -> ``"UNK, Unknown | NA, Not
    applicable"``."""
    parts = [p.strip() for p in re.split(r"[\r\n|]+", stored) if p.strip()]
    return " | ".join(parts)
