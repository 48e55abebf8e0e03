"""Authorization engine benchmark: compiled engine vs the plain reference evaluator vs Cedar (cedarpy).

Generates (seeded) a realistic account: 1,000 principals, 500 policies of 1-10 statements with 1-30 actions each,
a third of the statements with conditions, 100 groups, 1-3 groups per principal, and 100,000 requests. Checks that
the compiled engine decides exactly like the reference evaluator (and like Cedar on the first 5,000 requests: Cedar
takes ~1 ms a decision), then prints decisions per second and p50/p99 latency per decision for each (and for the
engine with plain closures as deciders instead of generated code), the first decision after a change (compile
from scratch + one decision, at 20, 80 and 160 attached policies), the memory a compiled principal holds, and the
cost of authorization on a signed API read. Every evaluator is timed the same way (see ``timed``). About two
minutes on an idle 2-core machine with --skip-api.

    python bench/authz.py [--requests 100000] [--cedar-requests 5000] [--seed 7] [--scale 1] [--passes 3] [--skip-api]
                          [--cold-rounds 200] [--memory-principals 200] [--closure-deciders]"""

import argparse
import functools
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iam.policy import catalog, conditions, engine, wildcard  # noqa: E402
from iam.policy.engine import CompiledPolicies, Request  # noqa: E402
from tests.iam import reference_eval  # noqa: E402

MEMBER_NO = 2942
PRODUCTS = {p: [a.name for a in catalog.actions_for(p)] for p in catalog.PRODUCTS}
KEYS_STRING = ["ncp:principalName", "ncp:resourceTag/team", "ncp:requestTag/env"]
TEAMS = ["red", "blue", "green", "ops"]


def nrn_of(kind: str, n: int) -> str:
    return f"nrn:PUB:IAM::{MEMBER_NO}:{kind}/{kind.lower()}-{n:04d}"


RESOURCE_POOL = [nrn_of("SubAccount", i) for i in range(200)] + [nrn_of("Group", i) for i in range(50)]
RESOURCE_POOL += [nrn_of("Policy", i) for i in range(50)] + [nrn_of("Role", i) for i in range(20)]


def gen_condition(rng: random.Random) -> dict:
    kind = rng.randrange(7)
    if kind == 0:
        return {"StringEquals": {"ncp:resourceTag/team": rng.sample(TEAMS, rng.randint(1, 2))}}
    if kind == 1:
        return {"StringNotEquals": {"ncp:requestTag/env": [rng.choice(["prod", "dev"])]}}
    if kind == 2:
        return {"StringLike": {"ncp:principalName": [rng.choice(["user-1*", "user-*", "admin*"])]}}
    if kind == 3:
        return {"IpAddress": {"ncp:SourceIp": [rng.choice(["10.0.0.0/8", "192.168.0.0/16"])]}}
    if kind == 4:
        return {"Bool": {"ncp:MultiFactorAuthPresent": [rng.choice(["true", "false"])]}}
    if kind == 5:
        return {"ForAnyValue:StringEquals": {"ncp:TagKeys": rng.sample(["team", "env", "cost"], 2)}}
    return {"ForAllValues:StringEquals": {"ncp:TagKeys": rng.sample(["team", "env", "cost"], 2)}}


def gen_statement(rng: random.Random) -> dict:
    product = rng.choice(catalog.PRODUCTS)
    names = PRODUCTS[product]
    actions = rng.sample(names, min(len(names), rng.randint(1, 30)))
    if rng.random() < 0.05:
        actions = [rng.choice(["View*", "Change*", "*"])]
    roll = rng.random()
    if roll < 0.5:
        resources = ["*"]
    elif roll < 0.85:
        resources = rng.sample(RESOURCE_POOL, rng.randint(1, 5))
    else:
        resources = [f"nrn:PUB:IAM::{MEMBER_NO}:{rng.choice(['SubAccount', 'Group', 'Policy'])}/*"]
    statement = {
        "effect": "Deny" if rng.random() < 0.12 else "Allow",
        "targets": [{"product": product, "actions": actions, "resourceNrns": resources}],
    }
    if rng.random() < 1 / 3:
        statement["condition"] = gen_condition(rng)
    return statement


GROUP_POLICIES = (5, 10)
DIRECT_POLICIES = (2, 8)


def gen_account(rng: random.Random):
    policies = [(f"policy-{i:03d}", [gen_statement(rng) for _ in range(rng.randint(1, 10))]) for i in range(500)]
    # About 20 effective policies per principal, the size the compile target names: 5-10 policies per group,
    # 1-3 groups per principal, 2-8 direct policies.
    groups = [rng.sample(policies, rng.randint(*GROUP_POLICIES)) for _ in range(100)]
    principals = []
    for i in range(1000):
        direct = rng.sample(policies, rng.randint(*DIRECT_POLICIES))
        member_of = rng.sample(range(100), rng.randint(1, 3))
        seen, effective = set(), []
        for policy in direct + [p for g in member_of for p in groups[g]]:
            if policy[0] not in seen:
                seen.add(policy[0])
                effective.append(policy)
        principals.append((f"user-{i:04d}", effective))
    return policies, principals


def gen_requests(rng: random.Random, principals, count: int):
    requests = []
    for _ in range(count):
        index = rng.randrange(len(principals))
        product = rng.choice(catalog.PRODUCTS)
        action = catalog.get_action(product, rng.choice(PRODUCTS[product]))
        resource = rng.choice(RESOURCE_POOL) if action.resource_types else None
        context = {"ncp:principalName": principals[index][0], "ncp:principalType": "SubAccount"}
        context["ncp:SourceIp"] = rng.choice(["10.1.2.3", "192.168.7.7", "172.16.0.1"])
        context["ncp:MultiFactorAuthPresent"] = rng.random() < 0.5
        if resource is not None and rng.random() < 0.7:
            context["ncp:resourceTag/team"] = rng.choice(TEAMS)
        if rng.random() < 0.4:
            tags = dict(
                rng.sample(
                    [("team", rng.choice(TEAMS)), ("env", rng.choice(["prod", "dev"])), ("cost", "x")],
                    rng.randint(0, 2),
                )
            )
            context["ncp:TagKeys"] = list(tags)
            for k, v in tags.items():
                context[f"ncp:requestTag/{k}"] = v
        requests.append((index, Request(product, action.name, resource), context))
    return requests


def percentile(values, fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def report(name: str, latencies_ns: list[int], total_s: float) -> None:
    print(
        f"  {name:<22} {len(latencies_ns) / total_s:>12,.0f} decisions/s   "
        f"p50 {percentile(latencies_ns, 0.50) / 1000:>8.2f} us   p99 {percentile(latencies_ns, 0.99) / 1000:>8.2f} us"
    )


PASSES = 3  # --passes


def timed(deciders, requests):
    """Throughput from the fastest of PASSES passes with no per-decision clock (as timeit does: on a shared
    machine the slower passes measure the neighbours); latencies from one more, timed pass. ``deciders[i]`` decides
    for principal i, so every evaluator is called the same way: one call per decision, no wrapper in between."""
    decisions, total = None, float("inf")
    for _ in range(PASSES):
        start = time.perf_counter()
        outcome = [deciders[index](request, context) for index, request, context in requests]
        total = min(total, time.perf_counter() - start)
        if decisions is not None and outcome != decisions:
            raise AssertionError("an evaluator decided the same requests differently in two passes")
        decisions = outcome
    latencies = []
    clock = time.perf_counter_ns
    for index, request, context in requests:
        decide = deciders[index]
        t0 = clock()
        decide(request, context)
        latencies.append(clock() - t0)
    return decisions, latencies, total


def compile_all(principals, closures: bool = False) -> list[CompiledPolicies]:
    """Every principal compiled before any clock starts, every action included (the authorizer builds an action's
    decider on its first decision; the first decision after a change is measured on its own below). Compiled once
    and used by the engine's passes, the floor and the Cedar comparison alike. ``closures``: every decider the
    engine's plain closure (its generic loop) instead of generated code, for the comparison."""
    limit = engine._MAX_GENERATED_TESTS
    if closures:
        engine._MAX_GENERATED_TESTS = -1  # every entry has more tests than that: all take the closure
    try:
        compiled = [CompiledPolicies(p).prepare() for _, p in principals]
    finally:
        engine._MAX_GENERATED_TESTS = limit
    gc.collect()
    gc.freeze()  # long-lived like the generated data: no collection during another evaluator's passes rescans them
    return compiled


def run_engine(compiled, requests):
    return timed([c.decide for c in compiled], requests)


class _OneLookup:
    """What a decision costs at the very least in this harness: a method call and the look-up of the request's
    action in the engine's own per-principal index (product, then action)."""

    def __init__(self, compiled: CompiledPolicies):
        self.entries = compiled._deciders

    def decide(self, request, context):
        return self.entries[request.product][request.action]


def run_floor(compiled, requests):
    floors = [_OneLookup(c) for c in compiled]
    return timed([f.decide for f in floors], requests)


def run_reference(principals, requests):
    return timed([functools.partial(reference_eval.evaluate, p) for _, p in principals], requests)


# Cedar ---------------------------------------------------------------------------------------------------------


def _cedar_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _cedar_condition(condition: dict) -> str:
    parts = []
    for operator, clauses in condition.items():
        for key, values in clauses.items():
            ref = f"context[{_cedar_str(key)}]"
            has = f"context has {_cedar_str(key)}"
            if operator == "StringEquals":
                parts.append(f"({has} && ({' || '.join(f'{ref} == {_cedar_str(v)}' for v in values)}))")
            elif operator == "StringNotEquals":
                parts.append(f"(!({has}) || ({' && '.join(f'{ref} != {_cedar_str(v)}' for v in values)}))")
            elif operator == "StringLike":
                parts.append(f"({has} && ({' || '.join(f'{ref} like {_cedar_str(v)}' for v in values)}))")
            elif operator == "IpAddress":
                parts.append(f"({has} && ({' || '.join(f'{ref}.isInRange(ip({_cedar_str(v)}))' for v in values)}))")
            elif operator == "Bool":
                parts.append(f"({has} && {ref} == {str(values[0]).lower()})")
            elif operator == "ForAnyValue:StringEquals":
                parts.append(f"({has} && {ref}.containsAny([{', '.join(_cedar_str(v) for v in values)}]))")
            elif operator == "ForAllValues:StringEquals":
                parts.append(f"(!({has}) || [{', '.join(_cedar_str(v) for v in values)}].containsAll({ref}))")
            else:
                raise ValueError(operator)
    return " && ".join(parts)


def cedar_policies(policies) -> str:
    """The same statements in Cedar: one permit/forbid per target, actions expanded, key applicability applied."""
    texts = (_cedar_policy(policy_id, statements) for policy_id, statements in policies)
    return "\n".join(text for text in texts if text)


_CEDAR_TEXT: dict = {}  # principals share policies: each one's Cedar text is written once


def _cedar_policy(policy_id, statements) -> str:
    key = (policy_id, id(statements))
    if key not in _CEDAR_TEXT:
        _CEDAR_TEXT[key] = (_cedar_text(policy_id, statements), statements)  # keeps statements (and its id) alive
    return _CEDAR_TEXT[key][0]


def _cedar_text(policy_id, statements) -> str:
    out = []
    for index, statement in enumerate(statements):
        condition = statement.get("condition")
        keys = [k for clauses in (condition or {}).values() for k in clauses]
        for target in statement["targets"]:
            product = target["product"]
            actions = [a for a in PRODUCTS[product] if any(reference_eval._action_ok(p, a) for p in target["actions"])]
            if statement["effect"] == "Allow" and keys:
                actions = [
                    a
                    for a in actions
                    if all(catalog.condition_key_applies(catalog.get_action(product, a), k) for k in keys)
                ]
            if not actions:
                continue
            action_list = ", ".join(f"Action::{_cedar_str(f'{product}:{a}')}" for a in actions)
            clauses = []
            resources = target["resourceNrns"]
            if "*" not in resources:
                exact = [r for r in resources if "*" not in r]
                like = [r for r in resources if "*" in r]
                options = [f"context.resourceNrn == {_cedar_str(r)}" for r in exact]
                options += [f"context.resourceNrn like {_cedar_str(r)}" for r in like]
                clauses.append("(" + " || ".join(options) + ")")
            if condition:
                clauses.append(_cedar_condition(condition))
            effect = "permit" if statement["effect"] == "Allow" else "forbid"
            when = f" when {{ {' && '.join(clauses)} }}" if clauses else ""
            out.append(
                f'@id("{policy_id}-{index}-{product}")\n{effect}(principal, action in [{action_list}], resource){when};'
            )
    return "\n".join(out)


def cedar_context(request: Request, context: dict) -> dict:
    out = {"resourceNrn": request.resource or ""}
    for key, value in context.items():
        if key == "ncp:SourceIp":
            out[key] = {"__extn": {"fn": "ip", "arg": value}}
        else:
            out[key] = value
    return out


def run_cedar(principals, requests):
    import cedarpy

    policy_sets = {}
    entities = cedarpy.Entities.from_json_str("[]")
    # Parse each principal's policies once (like a server would), outside the timed decisions.
    for index, _, _ in requests:
        if index not in policy_sets:
            policy_sets[index] = cedarpy.PolicySet.from_str(cedar_policies(principals[index][1]))

    def decider(index):
        name, policy_set = principals[index][0], policy_sets.get(index)

        def decide(request, context):
            payload = {
                "principal": f'User::"{name}"',
                "action": f'Action::"{request.product}:{request.action}"',
                "resource": 'Resource::"r"',
                "context": cedar_context(request, context),
            }
            return "allowed" if cedarpy.is_authorized(payload, policy_set, entities).allowed else "denied"

        return decide

    return timed([decider(i) for i in range(len(principals))], requests)


# After a change and through the API ---------------------------------------------------------------------------


def forget_policy_contents() -> None:
    """Forget every compiled condition, resource matcher and decider the process shares by content, and the values
    compiled from policy text (wildcard matchers, networks): the next compile meets its policies for the first time."""
    for shared in (
        engine._shared_conditions,
        engine._shared_matchers,
        engine._shared_deciders,
        engine._shared_policies,
    ):
        shared.clear()
    for cached in (wildcard.matcher, wildcard._any_matcher, conditions._network):
        cached.cache_clear()


def forget_everything() -> None:
    """As a freshly started process: also the generated decider code and the catalog look-ups."""
    forget_policy_contents()
    for cached in (engine._factory, engine._applies, conditions._address, conditions._address_bits):
        cached.cache_clear()


def first_decision_after_change(
    policies, rng: random.Random, rounds: int = 200, forget=None, count: int = 20, requests=None
) -> tuple[list[int], list[int]]:
    """Compile ``count`` policies and decide once: (latencies, statement counts). ``forget`` runs before each round
    (outside the timing), so that the compile cannot reuse what earlier compiles of the same policies left in the
    process's shared caches. The decision is one of ``requests`` (the workload's mix of actions) when given, else
    View/getSubAccountDetail."""
    samples, statements = [], []
    for _ in range(rounds):
        chosen = rng.sample(policies, count)
        if requests:
            _, request, context = rng.choice(requests)
        else:
            request = Request("SubAccount", "View/getSubAccountDetail", rng.choice(RESOURCE_POOL))
            context = {"ncp:principalName": "user-0001"}
        statements.append(sum(len(document) for _, document in chosen))
        if forget is not None:
            forget()
        gc.collect()  # the benchmark's own garbage is not part of compiling
        t0 = time.perf_counter_ns()
        CompiledPolicies(chosen).decide(request, context)
        samples.append(time.perf_counter_ns() - t0)
    return samples, statements


COLD_POLICY_COUNTS = (20, 80, 160)


def cold_path(policies, requests, rng: random.Random, rounds: int) -> None:
    """The first decision after a change at 20, 80 and 160 attached policies: policies this process has never
    compiled (its shared caches emptied before each round), one request of the workload's mix decided."""
    print("first decision after a change by attached policies (never-seen policies, compile + one decision):")
    for count in COLD_POLICY_COUNTS:
        samples, statements = first_decision_after_change(
            policies, rng, rounds=rounds, forget=forget_policy_contents, count=count, requests=requests
        )
        print(
            f"  {count:>3} policies ({statistics.median(statements):>4.0f} statements at the median)   "
            f"p50 {percentile(samples, 0.5) / 1e6:7.3f} ms   p99 {percentile(samples, 0.99) / 1e6:7.3f} ms"
        )


def memory_per_principal(principals, requests, count: int) -> None:
    """Bytes per compiled principal, by tracemalloc: starting as a fresh process (every shared and cached compiled
    piece forgotten), compile the first ``count`` principals and decide every request of the workload they make,
    then divide what is still allocated (after a collection) by ``count``. Shared pieces (conditions, matchers,
    deciders, generated code) are counted too, spread over the principals that share them. The same again with
    every action's decider built (prepare()), as a process that served every action of every principal would."""
    import tracemalloc

    own = [(index, request, context) for index, request, context in requests if index < count]
    actions = {(index, request.product, request.action) for index, request, _ in own}
    statements = statistics.median(sum(len(d) for _, d in principals[i][1]) for i in range(count))
    print(
        f"memory per compiled principal (tracemalloc, {count} principals, {statements:.0f} statements at the median, "
        f"{len(own):,} requests, {len(actions) / count:.1f} distinct actions each):"
    )
    for label, prepare in (("the requests' actions built", False), ("every action built (prepare)", True)):
        forget_everything()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        compiled = [CompiledPolicies(p) for _, p in principals[:count]]
        if prepare:
            for c in compiled:
                c.prepare()
        for index, request, context in own:
            compiled[index].decide(request, context)
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        del compiled
        print(f"  {label:<30} {used / count / 1024:8.1f} KB per principal")


def api_overhead(policies, rng: random.Random, calls: int) -> dict:
    """Signed GET /sub-accounts/{id} by a sub account with 20 policies, engine on vs authorization off."""
    data_dir = tempfile.mkdtemp(prefix="iam-bench-")
    os.environ.update({"DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "config.settings"})
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    from iam.gateway import authz
    from iam.models import Policy
    from iam.services.accounts import account_create
    from iam.services.policies import policies_attach
    from iam.services.sub_accounts import access_key_create, sub_account_create
    from tests.conftest import SignedClient

    account, _, _ = account_create(name="Bench", member_no=MEMBER_NO)
    # Allow-only policies, so the reader keeps its access and every call measures a full allowed path.
    chosen = rng.sample([p for p in policies if all(s["effect"] == "Allow" for s in p[1])], 19)
    rows = [Policy(account=account, name=f"b{i}", permissions=doc) for i, (_, doc) in enumerate(chosen)]
    rows.append(
        Policy(
            account=account,
            name="reader",
            permissions=[
                {
                    "effect": "Allow",
                    "targets": [
                        {"product": "SubAccount", "actions": ["View/getSubAccountDetail"], "resourceNrns": ["*"]}
                    ],
                }
            ],
        )
    )
    Policy.objects.bulk_create(rows)
    sub, _ = sub_account_create(
        account=account,
        login_id="reader",
        name="reader",
        email="reader@example.com",
        can_api_gateway_access=True,
        can_console_access=False,
    )
    policies_attach(target=sub, policy_ids=[p.policy_id for p in Policy.objects.filter(account=account)])
    key, secret = access_key_create(sub_account=sub)

    from tests.conftest import Credentials

    creds = Credentials(key.access_key, secret)
    client = SignedClient()
    uri = f"/api/v1/sub-accounts/{sub.sub_account_id}"

    # The calls alternate between the engine and no authorization, so that a machine that speeds up or slows
    # down during the run (a shared host does) weighs on both alike.
    from iam.gateway import permissions

    deciders = {"with": authz.EngineAuthorizer(), "without": AllowEverything()}
    chosen_authorizer = ["with"]
    real_get_authorizer = permissions.get_authorizer
    permissions.get_authorizer = lambda: deciders[chosen_authorizer[0]]
    samples: dict[str, list[int]] = {"with": [], "without": []}
    try:
        for round_no in range(2 * (calls + 50)):
            which = "with" if round_no % 2 == 0 else "without"
            chosen_authorizer[0] = which
            t0 = time.perf_counter_ns()
            response = client.call("GET", uri, creds=creds)
            elapsed = time.perf_counter_ns() - t0
            assert response.status_code == 200
            if round_no >= 100:  # 50 warm-up calls each
                samples[which].append(elapsed)
    finally:
        permissions.get_authorizer = real_get_authorizer
    with_engine, without = samples["with"], samples["without"]

    # First decision after a change, through the real authorizer: bump the version, time one authorize().
    from iam.gateway.principals import Principal
    from iam.models import Account
    from iam.signals import authz_changed

    after_change = []
    authorizer = authz.get_authorizer()
    for round_no in range(101):
        authz_changed(account.pk)
        version = Account.objects.get(pk=account.pk).authz_version
        principal = Principal(
            account_id=account.pk, member_no=MEMBER_NO, principal_type="SubAccount", principal_id=str(sub.sub_account_id),
            name="reader", nrn=sub.nrn, sub_account_no=sub.sub_account_no, policy_version=version,
        )  # fmt: skip
        gc.collect()  # a collection of the benchmark's own garbage is not part of the decision
        t0 = time.perf_counter_ns()
        decision = authorizer.authorize(principal, [Request("SubAccount", "View/getSubAccountDetail", sub.nrn)])
        if round_no:  # the first round warms imports and regex caches
            after_change.append(time.perf_counter_ns() - t0)
        assert decision.allowed
    return {"with": with_engine, "without": without, "after_change_db": after_change}


class AllowEverything:
    """Authorization off: the same request path with a decision that costs nothing."""

    def authorize(self, principal, requests, *, request_tags=None):
        from iam.gateway.authz import Decision

        return Decision(True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument(
        "--cedar-requests", type=int, default=5_000, help="requests also decided by Cedar (~1 ms each, per pass)"
    )
    parser.add_argument("--api-calls", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        help="multiply the policies per group and direct policies (2 = ~40 per principal)",
    )
    parser.add_argument("--skip-api", action="store_true", help="only the in-memory measurements")
    parser.add_argument(
        "--closure-deciders",
        action="store_true",
        help="every action's decider a plain closure (the engine's generic loop) instead of generated code",
    )
    parser.add_argument(
        "--cold-rounds", type=int, default=200, help="first decisions after a change per attached-policy count"
    )
    parser.add_argument("--memory-principals", type=int, default=200, help="principals compiled for the memory figure")
    parser.add_argument(
        "--passes", type=int, default=3, help="throughput passes per evaluator; the fastest counts (default 3)"
    )
    args = parser.parse_args()
    global GROUP_POLICIES, DIRECT_POLICIES, PASSES
    PASSES = max(1, args.passes)
    GROUP_POLICIES = (GROUP_POLICIES[0] * args.scale, GROUP_POLICIES[1] * args.scale)
    DIRECT_POLICIES = (DIRECT_POLICIES[0] * args.scale, DIRECT_POLICIES[1] * args.scale)

    if args.closure_deciders:
        engine._MAX_GENERATED_TESTS = -1  # every entry has more tests than that: all take the closure
    rng = random.Random(args.seed)
    policies, principals = gen_account(rng)
    requests = gen_requests(rng, principals, args.requests)
    statements = sum(len(d) for _, d in policies)
    per_principal = statistics.mean(len(p) for _, p in principals)
    print(
        f"account: 1,000 principals, 500 policies ({statements:,} statements), {per_principal:.1f} policies per principal"
    )
    print(f"requests: {len(requests):,} (seed {args.seed}); throughput: the fastest of {PASSES} passes per evaluator")
    print(f"deciders: {'closures (--closure-deciders)' if args.closure_deciders else 'generated code'}")
    gc.collect()
    gc.freeze()  # the generated data is long-lived: keep the collector from rescanning it mid-measurement

    compiled = compile_all(principals)
    engine_decisions, engine_lat, engine_s = run_engine(compiled, requests)
    ref_decisions, ref_lat, ref_s = run_reference(principals, requests)
    mismatches = sum(a != b for a, b in zip(engine_decisions, ref_decisions, strict=True))
    allowed = sum(d == "allowed" for d in engine_decisions)
    print(
        f"decisions: {allowed:,} allowed, {len(requests) - allowed:,} denied; engine vs reference mismatches: {mismatches}"
    )
    print("throughput and latency per decision:")
    report("compiled engine", engine_lat, engine_s)
    report("reference evaluator", ref_lat, ref_s)
    print(f"  engine / reference throughput: {(len(requests) / engine_s) / (len(requests) / ref_s):,.0f}x")
    _, floor_lat, floor_s = run_floor(compiled, requests)
    report("floor (1 dict look-up)", floor_lat, floor_s)
    print(
        f"  floor / reference throughput: {(len(requests) / floor_s) / (len(requests) / ref_s):,.0f}x (no engine can beat this in Python)"
    )
    if not args.closure_deciders:
        closures = compile_all(principals, closures=True)
        closure_decisions, closure_lat, closure_s = run_engine(closures, requests)
        del closures
        if closure_decisions != engine_decisions:
            raise AssertionError("closure deciders decided differently from generated ones")
        report("engine, closures", closure_lat, closure_s)
        print(f"  generated / closure deciders throughput: {closure_s / engine_s:.2f}x (same decisions)")

    try:
        import cedarpy  # noqa: F401
    except ImportError:
        print("  cedar: cedarpy is not installed (pip install -r requirements-dev.txt)")
    if args.cedar_requests <= 0:
        print("  cedar: skipped (--cedar-requests 0)")
    elif "cedarpy" in sys.modules:
        subset = requests[: args.cedar_requests]
        cedar_decisions, cedar_lat, cedar_s = run_cedar(principals, subset)
        ours = ["allowed" if d == "allowed" else "denied" for d in engine_decisions[: len(subset)]]
        cedar_mismatch = sum(a != b for a, b in zip(ours, cedar_decisions, strict=True))
        _, engine_subset_lat, engine_subset_s = run_engine(compiled, subset)
        report(f"cedarpy ({len(subset):,})", cedar_lat, cedar_s)
        report(f"engine, same {len(subset):,}", engine_subset_lat, engine_subset_s)
        print(f"  engine vs cedar decision mismatches: {cedar_mismatch}")
        print(
            f"  per decision p50: engine {percentile(engine_subset_lat, 0.5) / 1000:.2f} us vs cedar "
            f"{percentile(cedar_lat, 0.5) / 1000:.2f} us ({percentile(cedar_lat, 0.5) / percentile(engine_subset_lat, 0.5):.1f}x faster)"
        )

    del compiled  # no longer needed: the compile measurements below start from the same heap as before
    print("first decision after a change (compile 20 policies + decide, in memory):")
    for label, forget in (
        ("policies never seen by this process", forget_policy_contents),
        ("a freshly started process (no cache at all)", forget_everything),
        ("policies other principals already use", None),
    ):
        samples, _ = first_decision_after_change(policies, rng, forget=forget)
        print(
            f"  {label:<46} p50 {percentile(samples, 0.5) / 1e6:.3f} ms, p99 {percentile(samples, 0.99) / 1e6:.3f} ms"
        )
    cold_path(policies, requests, rng, args.cold_rounds)
    memory_per_principal(principals, requests, args.memory_principals)
    if args.skip_api:
        return
    api = api_overhead(policies, rng, args.api_calls)
    print(
        "first decision after a change through the authorizer (DB load + compile + decide, SQLite): "
        f"p50 {percentile(api['after_change_db'], 0.5) / 1e6:.3f} ms, p90 {percentile(api['after_change_db'], 0.9) / 1e6:.3f} ms, "
        f"p99 {percentile(api['after_change_db'], 0.99) / 1e6:.3f} ms, slowest at round "
        f"{api['after_change_db'].index(max(api['after_change_db'])) + 1}"
    )
    with_p50, without_p50 = percentile(api["with"], 0.5), percentile(api["without"], 0.5)
    print(
        f"signed GET /api/v1/sub-accounts/{{id}} ({args.api_calls} calls, in-process, SQLite): "
        f"authorized p50 {with_p50 / 1e6:.3f} ms, authorization off p50 {without_p50 / 1e6:.3f} ms, "
        f"added {(with_p50 - without_p50) / 1e6:.3f} ms"
    )


if __name__ == "__main__":
    main()
