"""Policy documents for tests, in the wire format."""


def policy_doc(actions, effect="Allow", resources=("*",), condition=None, product="SubAccount") -> list[dict]:
    """A one-statement permissions list."""
    statement = {
        "effect": effect,
        "targets": [{"product": product, "actions": list(actions), "resourceNrns": list(resources)}],
    }
    if condition:
        statement["condition"] = condition
    return [statement]
