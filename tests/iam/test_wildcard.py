"""iam/policy/wildcard.py against three references (a dynamic programme, the regexes it replaced, and the reference
evaluator's fnmatch), plus hand cases."""

import itertools
import operator
import os
import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iam.policy import wildcard
from iam.policy.conditions import compile_clause
from tests.iam.reference_eval import glob

EXAMPLES = int(os.environ.get("WILDCARD_EXAMPLES", "500"))  # more for a deeper run


def dp(pattern: str, value: str) -> bool:
    """The textbook dynamic programme: ``row[j]`` says whether the pattern read so far matches ``value[:j]``."""
    row = [True] + [False] * len(value)
    for char in pattern:
        if char == "*":
            row = list(itertools.accumulate(row, operator.or_))
        else:
            row = [False] + [row[j] and (char == "?" or char == value[j]) for j in range(len(value))]
    return row[-1]


def old_regex(pattern: str, ignore_case: bool = False) -> re.Pattern:
    """What StringLike and wildcard NRNs were matched with before: exact semantics, exponential on ``*a*a*a*b``."""
    text = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern) + r"\Z"
    return re.compile(text, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


patterns = st.text(alphabet="ab*?/:", max_size=14)
values = st.text(alphabet="ab/:", max_size=16)
# Values may hold the wildcard characters too: in a value they are plain characters.
any_values = st.text(alphabet="ab*?/:\n", max_size=16)
# Characters whose case rules differ (long s, Kelvin sign, dotted and dotless i, final sigma, sharp s, ...).
CASED = "aAsSſkKKiIİıσςΣßẞµμ"
cased_patterns = st.text(alphabet=CASED + "*?", max_size=10)
cased_values = st.text(alphabet=CASED, max_size=12)


@settings(max_examples=EXAMPLES, deadline=None)
@given(pattern=patterns, value=values)
def test_matches_like_the_dynamic_programme_and_the_reference_evaluator(pattern, value):
    assert wildcard.matches(pattern, value) == dp(pattern, value)
    assert wildcard.matches(pattern, value) == glob(pattern, value)


@settings(max_examples=EXAMPLES, deadline=None)
@given(pattern=patterns, value=any_values)
def test_matches_like_the_regex_it_replaces(pattern, value):
    assert wildcard.matches(pattern, value) == (old_regex(pattern).match(value) is not None)


@settings(max_examples=EXAMPLES, deadline=None)
@given(pattern=cased_patterns, value=cased_values)
def test_ignore_case_is_what_re_ignorecase_was(pattern, value):
    expected = old_regex(pattern, ignore_case=True).match(value) is not None
    assert wildcard.matches(pattern, value, ignore_case=True) == expected
    # And without IgnoreCase, case matters.
    assert wildcard.matches(pattern, value) == (old_regex(pattern).match(value) is not None)


@settings(max_examples=EXAMPLES // 2, deadline=None)
@given(patterns=st.lists(patterns, max_size=5), value=values, ignore_case=st.booleans())
def test_any_matcher_is_any_of_its_patterns(patterns, value, ignore_case):
    expected = any(wildcard.matches(p, value, ignore_case) for p in patterns)
    assert wildcard.any_matcher(patterns, ignore_case)(value) == expected


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    pattern=st.text(alphabet="ab?", min_size=1, max_size=8) | st.text(alphabet="aé?", min_size=1, max_size=8),
    value=st.text(alphabet="ab", max_size=40) | st.text(alphabet="abé", max_size=40),
)
def test_question_mark_segments_between_stars(pattern, value):
    # Segments with '?' between two stars take the bit-parallel search (ASCII segments, also against values that
    # are not ASCII) or the shift-and pass (segments that are not); give them long values and repeated segments.
    for shape in (f"*{pattern}*", f"a*{pattern}*{pattern}*b", f"*{pattern}"):
        assert wildcard.matches(shape, value) == dp(shape, value), shape


def leftmost(segment: str, value: str, start: int, end: int) -> int:
    """Where a fixed-length segment first matches in value[start:end], by trying every place."""
    for place in range(start, end - len(segment) + 1):
        if all(c == "?" or c == value[place + j] for j, c in enumerate(segment)):
            return place
    return -1


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    segment=st.text(alphabet="ab?", min_size=1, max_size=8) | st.text(alphabet="aé?", min_size=1, max_size=8),
    value=st.text(alphabet="ab", max_size=40) | st.text(alphabet="abé", max_size=40),
    start=st.integers(0, 10),
    cut=st.integers(0, 10),
)
def test_the_segment_search_finds_the_leftmost_place(segment, value, start, cut):
    end = max(0, len(value) - cut)
    assert wildcard._searcher(segment)(value, start, end) == leftmost(segment, value, start, end)


@pytest.mark.parametrize("gap", [0, 1, 40, 58, 59, 60, 61, 63, 64, 65, 120, 121, 128, 250, 251, 256, 1000, 5000])
@pytest.mark.parametrize("segment", ["ab?ab", "a?b?a", "ab?X", "aé?éb"])
def test_the_segment_search_across_its_growing_windows(segment, gap):
    # The column search looks in windows that double from the first possible place: a match right before, on or
    # after a window's edge is still the leftmost one, and a value with no match answers -1.
    filler = "ab" * (gap // 2) + "x" * (gap % 2)
    example = segment.replace("?", "z")
    for value in (filler + example + filler, filler + example, filler, "ba" * gap + example):
        for start in (0, 3):
            end = len(value)
            assert wildcard._searcher(segment)(value, start, end) == leftmost(segment, value, start, end), value


def test_the_segment_search_past_a_failed_first_guess():
    # The plain runs' first places point at a place where the segment does not match: the bit-parallel search
    # (ASCII) or the shift-and pass (not ASCII) has to find the real one.
    cases = [("b??bb?", "ababababbb"), ("b?ba?bb?", "aaaaaaaabaaaabaababbbabbb"), ("a?a?b", "aaab" + "a" * 30 + "aab")]
    cases += [(segment.replace("b", "é"), value.replace("b", "é")) for segment, value in cases]
    cases += [("ab?b", "abxabxb"), ("aé?é", "aéxaéxé")]  # the match has a character the segment lacks at its '?'
    for segment, value in cases:
        expected = leftmost(segment, value, 0, len(value))
        assert wildcard._searcher(segment)(value, 0, len(value)) == expected, (segment, value)
        assert wildcard.matches(f"*{segment}*", value) is (expected >= 0)


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("", "", True),
        ("", "a", False),
        ("*", "", True),
        ("*", "nrn:PUB:IAM::1:SubAccount/x", True),
        ("?", "", False),
        ("?", "\n", True),
        ("*", "a\nb", True),
        ("a*", "a", True),
        ("*a", "a", True),
        ("ab*ba", "aba", False),  # the head and the tail may not overlap
        ("ab*ba", "abba", True),
        ("a**b", "ab", True),
        ("*?*", "", False),
        ("*?*", "x", True),
        ("nrn:PUB:IAM::1:*/x", "nrn:PUB:IAM::1:Group/sub/x", True),  # '*' crosses '/' and ':'
        ("nrn:PUB:IAM::1:SubAccount/?", "nrn:PUB:IAM::1:SubAccount/ab", False),
        ("[a-z]*", "a", False),  # brackets are literal, not a class
        ("[a-z]*", "[a-z]", True),
        (".*", "abc", False),
        (".*", ".abc", True),
        ("a\\*", "a\\b", True),  # no escapes: a backslash is a character like any other
        ("^a$|b", "^a$|b", True),
        ("(a)+", "(a)+", True),
        ("*a?b*c", "xxaxbyc", True),
        ("*a?b*c", "xxabyc", False),
        ("team-??-*", "team-01-red", True),
        ("team-??-*", "team-1-red", False),
        ("*??*", "a", False),  # a segment of '?' only, between stars
        ("*??*", "ab", True),
        ("*/user-??/*", "x/user-1/y/user-22/z", True),  # one plain run: found by str.find, then the '?'s fit
        ("*/user-??/*", "x/user-1/y/user-2/z", False),
        ("a*?b?c*d", "abYcd", False),  # two plain runs: the shift-and search
        ("a*?b?c*d", "aXXbYcd", True),
        ("a*?b?c*d", "aXbYcd", True),
    ],
)
def test_hand_cases(pattern, value, expected):
    assert wildcard.matches(pattern, value) is expected
    assert dp(pattern, value) is expected
    assert glob(pattern, value) is expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("ABC*", "abcdef", True),
        ("straße", "STRASSE", False),  # one character is one character: ß is not ss
        ("s", "ſ", True),
        ("K", "\u212a", True),  # the Kelvin sign
        ("i", "İ", True),
        ("?", "İ", True),
        ("σ*", "ς", True),
    ],
)
def test_ignore_case_hand_cases(pattern, value, expected):
    assert wildcard.matches(pattern, value, ignore_case=True) is expected
    assert (old_regex(pattern, ignore_case=True).match(value) is not None) is expected


def test_patterns_that_made_regexes_backtrack_answer_correctly():
    # Each of these took from a second to hours with the regexes (2 ** stars steps); here each is one pass.
    sub_account = "nrn:PUB:IAM::2942:SubAccount/" + "a" * 20
    assert not wildcard.matches("nrn:PUB:IAM::2942:SubAccount/" + "*" * 16 + "b", sub_account)
    assert wildcard.matches("nrn:PUB:IAM::2942:SubAccount/" + "*" * 16 + "a", sub_account)
    for pairs, size in ((10, 45), (50, 128), (200, 4096)):
        assert not wildcard.matches("*a" * pairs + "*b", "a" * size)
        assert not wildcard.matches("*a" * pairs + "b", "a" * size)
        assert not wildcard.matches("*a" * pairs + "*b*", "a" * size)
        assert wildcard.matches("*a" * pairs + "*b", "a" * size + "b")
        assert not wildcard.matches("*a" * pairs + "*b", "A" * size + "B", ignore_case=False)
        assert wildcard.matches("*a" * pairs + "*b", "A" * size + "B", ignore_case=True)
    assert not wildcard.matches("*" + "a?" * 500 + "b*", "ab" * 2048)
    assert wildcard.matches("*" + "a?" * 500 + "b*", "a" * 4095 + "b")
    assert not wildcard.matches("*a" * 64 + "*", "a" * 63)


def test_string_like_conditions_with_backtracking_shapes_decide_correctly():
    pattern = "*a" * 50 + "*b"
    for name, expected in (("StringLike", False), ("StringNotLike", True), ("ForAnyValue:StringLike", False)):
        check = compile_clause(name, "ncp:requestTag/team", [pattern, "*a" * 9 + "*b"])
        assert check({"ncp:requestTag/team": "a" * 128}) is expected, name
        assert check({"ncp:requestTag/team": ["a" * 128]}) is expected, name
    check = compile_clause("StringLikeIgnoreCase", "ncp:requestTag/team", [pattern])
    assert check({"ncp:requestTag/team": "A" * 128 + "B"}) is True
    assert check({"ncp:requestTag/team": "A" * 128}) is False


def test_prefix_of():
    assert wildcard.prefix_of("nrn:PUB:IAM::1:SubAccount/*") == "nrn:PUB:IAM::1:SubAccount/"
    assert wildcard.prefix_of("*") == ""
    assert wildcard.prefix_of("a*b*") is None
    assert wildcard.prefix_of("a?*") is None
    assert wildcard.prefix_of("abc") is None


def test_pattern_limits():
    assert wildcard.pattern_problem("a" * wildcard.MAX_PATTERN_LENGTH) is None
    assert "1024 characters" in wildcard.pattern_problem("a" * (wildcard.MAX_PATTERN_LENGTH + 1))
    assert wildcard.pattern_problem("*" * wildcard.MAX_STARS) is None
    assert "64 '*'" in wildcard.pattern_problem("*" * (wildcard.MAX_STARS + 1))


def test_the_same_patterns_give_the_same_matcher():
    # Engine deciders are shared by content: equal pattern lists must give one function.
    assert wildcard.any_matcher(["a*b", "c?"]) is wildcard.any_matcher(["a*b", "c?"])
    assert wildcard.matcher("a*b", True) is wildcard.matcher("a*b", True)


def test_the_fold_table_is_the_running_pythons():
    import _sre
    from re._casefix import _EXTRA_CASES

    groups = {tuple(sorted((code, *others))) for code, others in _EXTRA_CASES.items()}
    assert groups == set(wildcard._SAME_LETTER_GROUPS)
    first = {code: min(group) for group in groups for code in group}
    text = "".join(chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF)
    expected = "".join(chr(first.get(lower, lower)) for lower in map(_sre.unicode_tolower, map(ord, text)))
    assert wildcard.fold(text) == expected
    ascii_text = "".join(map(chr, range(128)))
    assert wildcard.fold(ascii_text) == ascii_text.translate(wildcard._FOLD)
