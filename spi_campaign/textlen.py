"""X (Twitter) weighted character counting: exact, and fast when it can be.

Contract
--------
``x_weighted_length(text)`` is the exact twitter-text v3 weighted length, as
computed by ``twitter_text.parse_tweet(text).weightedLength`` (PyPI package
``twitter-text-parser``).  ``x_fits(text, limit)`` is *always* equal to
``x_weighted_length(text) <= limit``; it merely avoids the parse when a cheap
upper bound already proves the text fits.  ``twitter_text`` costs ~0.3 s to
import, so it is imported lazily, inside the functions that need it; importing
this module does not import it.

Why the fast path is safe
-------------------------
``parse_tweet`` (v3 config) NFC-normalises the text, turns ``\\r\\n`` into
``\\n``, extracts URL and emoji entities, then walks the text left to right,
splitting it into disjoint segments that cost:

* a URL entity: 23, whatever its length;
* an emoji entity: 2, whatever its length;
* any other code point: 1 if in 0-4351, 8192-8205, 8208-8223 or 8242-8247,
  else 2.

``_upper_bound`` works on the NFC form and charges every code point its
per-code-point weight, plus 23 for every *possible* URL.  That is >= the
exact length because:

* ``\\r\\n`` -> ``\\n`` only removes a weight-1 code point (and touches no dot
  or letter, so it cannot create or destroy a URL).
* An emoji match of two or more code points weighs >= 2 code point by code
  point, i.e. >= its cost of 2.  The only single-code-point emoji with a
  per-code-point weight of 1 are U+00A9 and U+00AE (checked by scanning every
  code point against the library's emoji regex); the bound charges them 2.
* A URL segment costs 23 <= 23 + the weight of its own code points, so the
  bound holds as long as it adds 23 at least once per URL entity.  Every URL
  twitter-text recognises (with or without protocol, t.co, IDN, punycode)
  contains an ASCII ``.`` immediately followed by the first character of its
  TLD (``valid_domain`` / ``valid_ascii_domain`` end in ``\\.`` followed by a
  gTLD, ccTLD or ``xn--`` punycode TLD); call it the URL's TLD dot.  The
  library extracts nothing from a text without an ASCII ``.``, and every TLD
  it knows (and every case-insensitive variant of a TLD's first character)
  satisfies ``str.isalpha``.  So every URL owns a distinct "dot followed by an
  alphabetic character".
* Dots are not counted one by one but per *run*: a maximal run of
  ``[A-Za-z0-9./-]`` characters (so ``https://kpk.go.id/x`` costs 23 once,
  not once per dot).  Two URLs cannot have their TLD dots in the same run:
  a URL with protocol has a ``:`` (not in the run alphabet) before its TLD
  dot; a URL without protocol must not be preceded by a letter, digit, ``-``,
  ``_``, ``.`` or ``/``; a URL whose domain is followed by ``/`` swallows the
  rest of the run as its path (only trailing dots can be left over); a TLD
  cannot be followed by a letter, digit or ``-``; and two ASCII domains
  inside one domain match with only ``[A-Za-z0-9.-]`` between them would
  have been matched as one (the domain regex is greedy).  Hence the number
  of URLs is <= the number of runs holding a dot followed by a letter.
* The library does not accept the full-width or ideographic dots U+FF0E,
  U+3002, U+FF61 as separators; the bound still adds 23 for each one
  followed by a letter, as a safety margin (it costs nothing for
  Latin-script posts).

The tests in ``tests/test_textlen_conformance.py`` check all of this against
the official twitter-text conformance files and with property-based tests.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import NamedTuple

__all__ = ["X_LIMIT", "XParse", "x_parse", "x_weighted_length", "x_fits"]

X_LIMIT = 280
_URL_WEIGHT = 23

# Code points the bound charges 2: everything outside the v3 weight-1 ranges
# (0-4351, 8192-8205, 8208-8223, 8242-8247), plus (c) and (R), which the library
# counts as 2 because they are single-code-point emoji.
_HEAVY = re.compile(
    "[\u00a9\u00ae\u1100-\u1fff\u200e\u200f\u2020-\u2031\u2038-\U0010ffff]"
)
# A URL needs an ASCII "." followed by a TLD; one URL per run of _RUN chars.
_RUN = re.compile(r"[A-Za-z0-9./-]+")
# Not accepted by twitter-text as dots; counted only as a safety margin.
_OTHER_DOTS = re.compile("[\uff0e\u3002\uff61]")


class XParse(NamedTuple):
    """What a preview needs from ``twitter_text.parse_tweet``."""

    weighted_length: int
    valid: bool  # twitter-text's validity: 0 < length <= 280 and no invalid chars
    permillage: int


@functools.lru_cache(maxsize=65536)
def x_parse(text: str) -> XParse:
    """Exact twitter-text v3 parse of ``text`` (cached per distinct text)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    from twitter_text import parse_tweet  # lazy: ~0.3 s to import

    result = parse_tweet(text)
    return XParse(result.weightedLength, result.valid, result.permillage)


def x_weighted_length(text: str) -> int:
    """Exact twitter-text v3 weighted length (``parse_tweet(text).weightedLength``)."""
    return x_parse(text).weighted_length


def _url_slots(s: str) -> int:
    """Upper bound on the number of URLs twitter-text extracts from NFC text ``s``."""
    slots = 0
    end = len(s)
    run_end = -1
    dot = s.find(".")
    while dot != -1:
        if dot >= run_end and dot + 1 < end and s[dot + 1].isalpha():
            run_end = _RUN.match(s, dot).end()  # at most one URL per run
            slots += 1
        dot = s.find(".", dot + 1)
    if not s.isascii():
        for match in _OTHER_DOTS.finditer(s):
            i = match.end()
            if i < end and s[i].isalpha():
                slots += 1
    return slots


def _upper_bound(text: str) -> int:
    """Cheap upper bound on ``x_weighted_length(text)``; never imports twitter_text."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    s = unicodedata.normalize("NFC", text)
    bound = len(s)
    if not s.isascii():
        bound += len(_HEAVY.findall(s))
    return bound + _URL_WEIGHT * _url_slots(s)


def x_fits(text: str, limit: int = X_LIMIT) -> bool:
    """True iff ``x_weighted_length(text) <= limit``, skipping the parse when possible."""
    if _upper_bound(text) <= limit:
        return True
    return x_weighted_length(text) <= limit
