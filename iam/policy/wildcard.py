"""Wildcard patterns, matched without backtracking. Pure Python: no Django, no regular expressions.

``*`` stands for any run of characters (also none, also across ``/`` and ``:``), ``?`` for exactly one character,
and everything else for itself. Resource NRNs, StringLike/StringNotLike values (and their IgnoreCase forms) and any
other wildcard a policy holds are matched here, nowhere else.

A pattern is compiled once into a function ``match(value) -> bool``. The pattern is split on ``*`` into segments of
fixed length: the first must match at the start of the value, the last at its end, and each one in between is taken
at its leftmost place after the previous one. With fixed-length segments the leftmost place is always a right one
(taking a segment earlier only leaves more room for the next), so no place is ever tried twice and a match costs
time linear in the pattern plus the value: a regex built as ``*`` -> ``.*`` backtracks exponentially on patterns
such as ``*a*a*a*b``, this cannot. A segment with at most one run of plain characters (``abc``, ``/user-??``) is
found by ``str.find`` of that run (linear since Python 3.10); one with several runs between ``?`` by bit-parallel
search: for ASCII segments one integer operation per plain character of the segment over the value's positions,
otherwise one shift-and pass over the value (about 0.3 us a character).

IgnoreCase compares characters as ``re.IGNORECASE`` did for these patterns: a character's simple lower case, with
the few lower-case letters that share an upper case (``s`` and ``ſ``, ``σ`` and ``ς``, ...) made one; both sides
are mapped character by character, so ``?`` still stands for one character.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache

Matcher = Callable[[str], bool]

# Refused at policy validation (iam/policy/document.py); far above any real pattern. Matching is linear whatever the
# size, these only bound the work one policy value can ask for.
MAX_PATTERN_LENGTH = 1024
MAX_STARS = 64


def has_wildcards(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def prefix_of(pattern: str) -> str | None:
    """``abc`` for ``abc*`` (one trailing star and no other wildcard), else None: ``str.startswith`` suffices."""
    if pattern.endswith("*") and pattern.count("*") == 1 and "?" not in pattern:
        return pattern[:-1]
    return None


def pattern_problem(pattern: str) -> str | None:
    """Why a wildcard pattern is refused at validation (too long, too many stars), or None."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"wildcard patterns are at most {MAX_PATTERN_LENGTH} characters (this one has {len(pattern)})"
    stars = pattern.count("*")
    if stars > MAX_STARS:
        return f"wildcard patterns hold at most {MAX_STARS} '*' (this one has {stars})"
    return None


# Case folding as re.IGNORECASE does it ------------------------------------------------------------------------

# Lower-case letters re.IGNORECASE treats as one (they share an upper case), from CPython's re/_casefix.py; each
# maps to the first of its group. tests/iam/test_wildcard.py checks this table against the running Python's.
_SAME_LETTER_GROUPS = (
    (0x69, 0x131),
    (0x73, 0x17F),
    (0xB5, 0x3BC),
    (0x345, 0x3B9, 0x1FBE),
    (0x390, 0x1FD3),
    (0x3B0, 0x1FE3),
    (0x3B2, 0x3D0),
    (0x3B5, 0x3F5),
    (0x3B8, 0x3D1),
    (0x3BA, 0x3F0),
    (0x3C0, 0x3D6),
    (0x3C1, 0x3F1),
    (0x3C2, 0x3C3),
    (0x3C6, 0x3D5),
    (0x432, 0x1C80),
    (0x434, 0x1C81),
    (0x43E, 0x1C82),
    (0x441, 0x1C83),
    (0x442, 0x1C84, 0x1C85),
    (0x44A, 0x1C86),
    (0x463, 0x1C87),
    (0x1C88, 0xA64B),
    (0x1E61, 0x1E9B),
    (0xFB05, 0xFB06),
)
_GROUP_FIRST = {code: group[0] for group in _SAME_LETTER_GROUPS for code in group}


class _FoldTable(dict):
    """``str.translate`` table of the case fold, filled on first use of each character."""

    def __missing__(self, code: int) -> int:
        lower = chr(code).lower()
        # str.lower() is the full lower case; re uses the simple one, which differs only for U+0130 (İ -> i).
        simple = ord(lower) if len(lower) == 1 else 0x69
        folded = _GROUP_FIRST.get(simple, simple)
        self[code] = folded
        return folded


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """``text`` with each character replaced by its case fold: equal folds are equal under IgnoreCase."""
    if text.isascii():
        return text.lower()  # the same as the table for ASCII, and much quicker
    return text.translate(_FOLD)


# Compilation --------------------------------------------------------------------------------------------------


def _chunks(segment: str) -> tuple[tuple[int, str], ...]:
    """The runs of plain characters of a segment, with their offsets: ``a??bc`` -> ((0, "a"), (3, "bc"))."""
    chunks, start = [], None
    for index, char in enumerate(segment + "?"):
        if char == "?":
            if start is not None:
                chunks.append((start, segment[start:index]))
                start = None
        elif start is None:
            start = index
    return tuple(chunks)


def _searcher(segment: str) -> Callable[[str, int, int], int]:
    """``search(value, start, end)``: the leftmost ``p`` with ``start <= p`` and ``p + len(segment) <= end`` where
    ``segment`` (holding ``?``) matches ``value[p:]``, or -1. Shift-and: bit ``j`` of ``state`` says the first
    ``j + 1`` characters of the segment match the value up to the current character."""
    length = len(segment)
    wild = sum(1 << j for j, char in enumerate(segment) if char == "?")
    masks: dict[str, int] = {}
    for j, char in enumerate(segment):
        if char != "?":
            masks[char] = masks.get(char, wild) | (1 << j)
    last = 1 << (length - 1)
    # A few plain runs (the longest of different texts; each costs one str.find) bound where a match can start:
    # run ``text`` at ``offset`` puts no match before the first place ``text`` is found, less ``offset``.
    every_chunk = _chunks(segment)
    distinct = {text: offset for offset, text in reversed(every_chunk)}
    chunks = sorted(((offset, text) for text, offset in distinct.items()), key=lambda chunk: -len(chunk[1]))[:4]
    bounds = tuple((offset, text, length - offset - len(text)) for offset, text in chunks)
    mask_of = masks.get
    # For a segment of ASCII characters and '?', the same search column by column instead of character by
    # character: per plain character c of the segment, the value's positions holding c as the bits of one integer
    # (bytes.translate and int(..., 2), both C loops); shifted by c's offsets in the segment and ANDed, the bits
    # left are the places where the segment matches. Its cost grows with the segment, not with the value.
    columns = None
    if all(char.isascii() for char in masks):
        columns = []
        for char in masks:
            table = bytearray(b"0" * 256)
            table[ord(char)] = ord("1")
            columns.append((bytes(table), tuple(j for j, other in enumerate(segment) if other == char)))
        columns = tuple(columns)

    def search(value: str, start: int, end: int) -> int:
        if end - start < length:
            return -1
        if not bounds:
            return start  # only '?': the first place it fits
        earliest = start
        for offset, text, after in bounds:
            found = value.find(text, start + offset, end - after)
            if found < 0:
                return -1
            if found - offset > earliest:
                earliest = found - offset
        # Usually the segment is right there; otherwise one shift-and pass from there finds the leftmost place.
        if earliest + length <= end:
            for offset, text in every_chunk:
                if not value.startswith(text, earliest + offset):
                    break
            else:
                return earliest
        if columns is not None:
            # Windows that double in size from the earliest place, so the cost follows the distance to the match
            # (or to the end), not the whole rest of the value for every segment of a many-star pattern.
            size = max(64, 4 * length)
            while earliest + length <= end:
                stop = min(end, earliest + size)
                # Not ASCII characters become '?' bytes, which no plain character of the segment is: one byte each.
                window = value[earliest:stop].encode("ascii", "replace")[::-1]  # bit i is window character i
                places = (1 << (stop - earliest - length + 1)) - 1  # the places where the whole segment fits
                for table, offsets in columns:
                    positions = int(window.translate(table), 2)
                    for offset in offsets:
                        places &= positions >> offset
                    if not places:
                        break
                if places:
                    return earliest + (places & -places).bit_length() - 1
                if stop == end:
                    return -1
                earliest = stop - length + 1
                size *= 2
            return -1
        state = 0
        for index in range(earliest, end):
            state = ((state << 1) | 1) & mask_of(value[index], wild)
            if state & last:
                return index - length + 1
        return -1

    return search


def _compile(pattern: str) -> Matcher:
    """The case-sensitive matcher of one pattern, in the cheapest form its shape allows."""
    parts = pattern.split("*")
    if "?" not in pattern:
        if len(parts) == 1:
            return lambda value: value == pattern
        first, last = parts[0], parts[-1]
        middle = tuple(part for part in parts[1:-1] if part)
        if not middle:
            if not last:
                return lambda value: value.startswith(first)  # also "*": startswith("") is always true
            if not first:
                return lambda value: value.endswith(last)
            shortest = len(first) + len(last)
            return lambda value: len(value) >= shortest and value.startswith(first) and value.endswith(last)
        if not first and not last and len(middle) == 1:
            (inner,) = middle
            return lambda value: inner in value
        if not last and len(middle) == 1:  # head*inner*, as in nrn:PUB:IAM::*:SubAccount/*
            (inner,) = middle
            start = len(first)
            return lambda value: value.startswith(first) and value.find(inner, start) >= 0
        return _plain(first, middle, last)
    if len(parts) == 1:
        chunks = _chunks(pattern)
        size = len(pattern)
        if len(chunks) == 1 and chunks[0][0] == 0:  # text??, as in .../SubAccount/user-??
            text = chunks[0][1]
            return lambda value: len(value) == size and value.startswith(text)
        return _general(chunks, size, (), 0, (), exact=True)
    first, last = parts[0], parts[-1]
    return _general(
        _chunks(first), len(first), _chunks(last), len(last), tuple(map(_segment, filter(None, parts[1:-1])))
    )


def _segment(part: str) -> tuple[str, int, int, int, Callable | None]:
    """How ``_general`` finds a segment between stars: (text, offset, after, length, search). With at most one plain
    run, the segment's leftmost place is that of its run, found by ``str.find`` (``offset`` characters after the
    place, ``after`` characters before its end); with more, by ``search`` (``_searcher``)."""
    chunks = _chunks(part)
    if len(chunks) > 1:
        return ("", 0, 0, len(part), _searcher(part))
    offset, text = chunks[0] if chunks else (0, "")
    return (text, offset, len(part) - offset - len(text), len(part), None)


def _plain(first: str, middle: tuple[str, ...], last: str) -> Matcher:
    """``first*m1*m2*...*last`` without ``?``: the ends by ``startswith``/``endswith``, the rest by ``str.find``."""
    start = len(first)
    tail_length = len(last)
    shortest = start + tail_length + sum(map(len, middle))
    segments = tuple((part, len(part)) for part in middle)

    def match(value: str) -> bool:
        if len(value) < shortest or not value.startswith(first) or not value.endswith(last):
            return False
        position, end = start, len(value) - tail_length
        for text, length in segments:
            found = value.find(text, position, end)
            if found < 0:
                return False
            position = found + length
        return True

    return match


def _general(
    head: tuple, head_length: int, tail: tuple, tail_length: int, segments: tuple, exact: bool = False
) -> Matcher:
    """A pattern's matcher: ``head`` at the start, ``tail`` at the end (their plain runs, by offset), the segments
    in order in between, each leftmost after the one before (see ``_segment``)."""
    shortest = head_length + tail_length + sum(segment[3] for segment in segments)

    def match(value: str) -> bool:
        size = len(value)
        if size < shortest or (exact and size != shortest):
            return False
        for offset, text in head:
            if not value.startswith(text, offset):
                return False
        end = size - tail_length
        for offset, text in tail:
            if not value.startswith(text, end + offset):
                return False
        position = head_length
        for text, offset, after, length, search in segments:
            if search is None:
                # ''.find("", i, j) is i when i <= j, else -1: a segment of '?' only needs no special case.
                found = value.find(text, position + offset, end - after)
                if found < 0:
                    return False
                position = found - offset + length
            else:
                found = search(value, position, end)
                if found < 0:
                    return False
                position = found + length
        return True

    return match


@lru_cache(maxsize=8192)
def matcher(pattern: str, ignore_case: bool = False) -> Matcher:
    """``match(value) -> bool`` for one pattern; compiled once per (pattern, ignore_case) in a process."""
    if not ignore_case:
        return _compile(pattern)
    folded = matcher(fold(pattern))
    return lambda value: folded(fold(value))


def matches(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """Whether ``value`` matches ``pattern``; for patterns known only at decision time (after ``${...}``)."""
    return matcher(pattern, ignore_case)(value)


def any_matcher(patterns: Iterable[str], ignore_case: bool = False) -> Matcher:
    """``match(value) -> bool``: does the value match one of the patterns? Plain patterns become one set look-up
    and ``abc*`` ones one ``str.startswith``; the others are tried one after another (each is linear). The same
    patterns give the same function (so deciders holding it can be shared)."""
    return _any_matcher(tuple(dict.fromkeys(patterns)), ignore_case)


@lru_cache(maxsize=8192)
def _any_matcher(patterns: tuple[str, ...], ignore_case: bool) -> Matcher:
    if ignore_case:
        folded = _any_matcher(tuple(dict.fromkeys(fold(pattern) for pattern in patterns)), False)
        return lambda value: folded(fold(value))
    if len(patterns) == 1:
        return matcher(patterns[0])
    exact = frozenset(pattern for pattern in patterns if not has_wildcards(pattern))
    prefixes = tuple(prefix for prefix in map(prefix_of, patterns) if prefix is not None)
    others = tuple(matcher(p) for p in patterns if has_wildcards(p) and prefix_of(p) is None)
    if not others:
        if not exact:
            return lambda value: value.startswith(prefixes)
        return lambda value: value in exact or value.startswith(prefixes)

    def match_any(value: str) -> bool:
        if value in exact or value.startswith(prefixes):
            return True
        for match in others:
            if match(value):
                return True
        return False

    return match_any
