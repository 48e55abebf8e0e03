"""The code's layout, as the README's repository map describes it: the policy language imports no Django (nor
anything of ``iam`` outside it), ``iam``'s root stays small, and every package says what it is for."""

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "iam" / "policy"
STDLIB = set(sys.stdlib_module_names)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, at any depth (function-level imports too), as absolute names."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside the package by construction
                found.append((node.lineno, "iam.policy"))
            else:
                found.append((node.lineno, node.module))
    return found


def test_the_policy_package_imports_only_the_standard_library_and_itself():
    offending = []
    for path in sorted(POLICY.rglob("*.py")):
        for lineno, module in imported_modules(path):
            top = module.split(".")[0]
            if module == "iam.policy" or module.startswith("iam.policy."):
                continue
            if top in STDLIB and top != "iam":
                continue
            offending.append(f"{path.relative_to(ROOT)}:{lineno} imports {module}")
    assert offending == []


def test_the_policy_package_runs_without_django_installed():
    """Import every module and decide a request in a fresh interpreter where importing Django fails."""
    script = textwrap.dedent(
        f"""
        import importlib, pkgutil, sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("django", "rest_framework", "celery"):
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        sys.path.insert(0, {str(ROOT)!r})
        import iam.policy
        for info in pkgutil.iter_modules(iam.policy.__path__):
            importlib.import_module("iam.policy." + info.name)
        from iam.policy.engine import CompiledPolicies
        from iam.policy.request import Request
        statement = {{"effect": "Allow", "targets": [
            {{"product": "iam", "actions": ["View/getGroupList"], "resourceNrns": ["*"]}}]}}
        compiled = CompiledPolicies([("p1", [statement])])
        print(compiled.decide(Request("iam", "View/getGroupList")))
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("django", "rest_framework", "celery")))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd="/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["allowed", "[]"]


def test_iam_root_holds_fewer_than_15_modules():
    modules = sorted(p.name for p in (ROOT / "iam").glob("*.py"))
    assert len(modules) < 15, modules


def test_every_package_opens_with_a_docstring():
    missing = []
    for app in ("iam", "sts", "external_access"):
        for init in sorted((ROOT / app).rglob("__init__.py")):
            if "migrations" in init.parts or "management" in init.parts:
                continue
            if not ast.get_docstring(ast.parse(init.read_text())):
                missing.append(str(init.relative_to(ROOT)))
    assert missing == []


def test_the_readme_map_names_every_package():
    readme = (ROOT / "README.md").read_text()
    packages = ["iam/", "iam/services/", "iam/policy/", "iam/gateway/", "iam/api/", "iam/admin/", "iam/console/"]
    packages += ["sts/", "external_access/", "signing_helper/"]
    assert [p for p in packages if f"| `{p}`" not in readme and f"`{p}`," not in readme] == []
