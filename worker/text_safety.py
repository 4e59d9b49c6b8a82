"""Text from REDCap made safe to show: on a terminal, in a spreadsheet, a report, an email.

REDCap hands back whatever was typed or imported, record IDs included. Three things in such
text do harm where people read it, and every renderer passes its text through here:

- **control and invisible characters** (ESC starts terminal escape sequences, NUL and DEL,
  U+202E and the other bidi controls reorder what is shown, zero-width spaces make two IDs
  look the same, U+2028 breaks a line): ``visible`` writes each as an escape (``\\x1b``,
  ``\\u202e``) so it is seen, not obeyed;
- **lone surrogates** (a ``\\ud800`` escape in a JSON answer) cannot be encoded as UTF-8 at
  all, so any print, file or email holding one fails: ``visible`` escapes them too, and
  ``json_text`` does for JSON output;
- **spreadsheet formulas**: a CSV cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR is
  run as a formula by Excel, LibreOffice and Google Sheets (CSV injection). ``csv_cell``
  prefixes such a cell with a single quote, as OWASP recommends, so it shows as the text it
  is. A plain negative number (``-12``, ``-0.5``) is left alone: it is a number to a
  spreadsheet, holds no formula, and a quote would turn it into text.
"""

from __future__ import annotations

import re

# Escaped by ``visible``: C0 and C1 controls and DEL; lone surrogates; the bidi controls
# (ALM, LRM, RLM, LRE..RLO, LRI..PDI); zero-width space, word joiner and BOM; the Unicode
# line and paragraph separators. Zero-width (non-)joiners stay: scripts and emoji need them.
_OTHER_UNSAFE = (
    "\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff"
    "\u061c\u200b\u200e\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff"
)
_UNSAFE = re.compile(f"[\t-\r{_OTHER_UNSAFE}]")
# ``visible_text`` keeps ASCII whitespace (tab, line feed, vertical tab, form feed, carriage
# return): in free text every layout treats it as whitespace (textwrap, CSV quoting, HTML).
_UNSAFE_IN_TEXT = re.compile(f"[{_OTHER_UNSAFE}]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_FORMULA_LEADERS = ("=", "+", "-", "@", "\t", "\r")
_NEGATIVE_NUMBER = re.compile(r"-[0-9]+(?:[.,][0-9]+)?")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` as one line with every control, invisible or unencodable character written
    as an escape (``\\n``: ``\\x0a``, ``\\x1b``, ``\\u202e``, ``\\ud800``): for names and IDs.
    Printable text is returned as it is."""
    if text.isprintable():  # the common case, in C: no control, format or surrogate character
        return text
    return _UNSAFE.sub(_escape, text)


def visible_text(text: str) -> str:
    """``visible`` for free text (messages, several-line texts): its whitespace (tabs, line
    breaks) stays for the layout to handle; every other such character is escaped."""
    if text.isprintable():
        return text
    return _UNSAFE_IN_TEXT.sub(_escape, text)


def json_text(text: str) -> str:
    """``text`` for a JSON document: JSON escapes controls itself, but a lone surrogate makes
    the document invalid for strict parsers (RFC 7493), so it is written as its escape."""
    return _SURROGATE.sub(_escape, text)


def csv_cell(text: str) -> str:
    """A CSV cell's text, shown rather than obeyed: escaped as ``visible_text`` (the CSV
    writer quotes a cell holding whitespace), and a single quote in front of a cell a
    spreadsheet would read as a formula (not of a plain negative number)."""
    text = visible_text(text)
    if text.startswith(_FORMULA_LEADERS) and not _NEGATIVE_NUMBER.fullmatch(text):
        return "'" + text
    return text


def has_surrogates(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate, which no request or file can carry."""
    return _SURROGATE.search(text) is not None
