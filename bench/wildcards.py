"""Wildcard worst cases: the pattern shapes that made the old regexes backtrack, per decision, in microseconds.

Patterns of 50 and 200 ``*a`` pairs with a final character that is not in the value, against 128 and 4,096
characters of ``a`` (the old ``*`` -> ``.*`` regexes took 1.2 s for 10 pairs and 45 characters, doubling with each
pair). Each is decided as a wildcard resource NRN and as a StringLike condition on ``ncp:requestTag/team``, through
the engine's decision (``CompiledPolicies.decide``, what every API request uses) and its explanation (``explain``,
what the simulator uses). Three shapes per size: the non-matching character last (``*a...*ab``: the end is checked
first, so it fails at once), in a last segment of its own between stars (``*a...*a*b*``: every ``a`` is found, then
the whole value is searched for the ``b``), and a ``?`` segment between stars (``*a?a?...b*``: one shift-and pass).
200 pairs are over the 64-star limit policies are held to; they are compiled here directly, to show that matching
itself does not depend on that limit. Every decision is checked before it is timed. Target: under 1 ms each.

Last, the worst value for a ``?`` segment: ``abab...`` against ``*a?a?...a?b*`` (every plain run is there, so
nothing is skipped and the bit-parallel search runs in full), also within the target.

    python bench/wildcards.py [--repeat 5]
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iam.policy.engine import IMPLICIT_DENY, CompiledPolicies, Request  # noqa: E402

SUB_ACCOUNTS = "nrn:PUB:IAM::2942:SubAccount/"
KEY = "ncp:requestTag/team"
TARGET_US = 1000.0


def shapes(pairs: int) -> list[tuple[str, str]]:
    return [
        ("'*a' x n + 'b'", "*a" * pairs + "b"),
        ("'*a' x n + '*b*'", "*a" * pairs + "*b*"),
        ("'*' + 'a?' x n + 'b*'", "*" + "a?" * pairs + "b*"),
    ]


def resource_policies(pattern: str) -> CompiledPolicies:
    statement = {
        "effect": "Allow",
        "targets": [{"product": "SubAccount", "actions": ["View/getSubAccountDetail"], "resourceNrns": [pattern]}],
    }
    return CompiledPolicies([("wildcard-resource", [statement])])


def condition_policies(pattern: str) -> CompiledPolicies:
    statement = {
        "effect": "Allow",
        "targets": [{"product": "SubAccount", "actions": ["Change/createGroup"], "resourceNrns": ["*"]}],
        "condition": {"StringLike": {KEY: [pattern]}},
    }
    return CompiledPolicies([("wildcard-condition", [statement])])


def per_call_us(call, repeat: int) -> float:
    """The best of ``repeat`` runs, each long enough (about 50 ms) to be measured, in microseconds per call."""
    count = 1
    while True:
        start = time.perf_counter()
        for _ in range(count):
            call()
        elapsed = time.perf_counter() - start
        if elapsed > 0.05:
            break
        count *= 4
    best = elapsed / count
    for _ in range(repeat - 1):
        start = time.perf_counter()
        for _ in range(count):
            call()
        best = min(best, (time.perf_counter() - start) / count)
    return best * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("wildcard worst cases, per decision in us (decide = every API request, explain = the simulator)")
    print(f"  {'path':<10} {'shape':<22} {'pairs':>5} {'value':>6} {'decide':>9} {'explain':>9}")
    worst = 0.0
    for pairs in (50, 200):
        for name, pattern in shapes(pairs):
            for size in (128, 4096):
                value = "a" * size
                cases = (
                    ("resource", resource_policies(SUB_ACCOUNTS + pattern), Request("SubAccount", "View/getSubAccountDetail", SUB_ACCOUNTS + value), {}),
                    ("condition", condition_policies(pattern), Request("SubAccount", "Change/createGroup"), {KEY: value}),
                )  # fmt: skip
                for path, compiled, request, context in cases:
                    # Nothing matches: each shape ends in a 'b' the value does not hold.
                    assert compiled.decide(request, context) == IMPLICIT_DENY, (path, name, pairs, size)
                    assert compiled.explain(request, context).decision == IMPLICIT_DENY, (path, name, pairs, size)
                    decide = per_call_us(lambda c=compiled, r=request, x=context: c.decide(r, x), args.repeat)
                    explain = per_call_us(lambda c=compiled, r=request, x=context: c.explain(r, x), args.repeat)
                    worst = max(worst, decide, explain)
                    print(f"  {path:<10} {name:<22} {pairs:>5} {size:>6} {decide:>9.2f} {explain:>9.2f}")
    print("'?' segment against its worst value ('ab' repeated instead of 'a'):")
    for pairs in (50, 200):
        pattern = "*" + "a?" * pairs + "b*"
        for size in (128, 4096):
            value = ("ab" * size)[:size]
            cases = (
                ("resource", resource_policies(SUB_ACCOUNTS + pattern), Request("SubAccount", "View/getSubAccountDetail", SUB_ACCOUNTS + value), {}),
                ("condition", condition_policies(pattern), Request("SubAccount", "Change/createGroup"), {KEY: value}),
            )  # fmt: skip
            for path, compiled, request, context in cases:
                assert compiled.decide(request, context) == IMPLICIT_DENY, (path, pairs, size)
                decide = per_call_us(lambda c=compiled, r=request, x=context: c.decide(r, x), args.repeat)
                explain = per_call_us(lambda c=compiled, r=request, x=context: c.explain(r, x), args.repeat)
                worst = max(worst, decide, explain)
                print(f"  {path:<10} {'* + a? x n + b*':<22} {pairs:>5} {size:>6} {decide:>9.2f} {explain:>9.2f}")
    verdict = "under" if worst < TARGET_US else "OVER"
    print(f"worst: {worst:.2f} us per decision ({verdict} the {TARGET_US:.0f} us target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
