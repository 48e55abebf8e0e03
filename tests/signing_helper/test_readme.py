"""The README's signing helper section shows only commands and flags the helper has."""

import re

from ncp_signing_helper.cli import build_parser

from tests.signing_helper.conftest import HELPER_ROOT

README = (HELPER_ROOT.parent / "README.md").read_text()


def test_every_command_and_flag_in_the_readme_section_exists():
    section = re.search(r"^## The signing helper\b.*?\n(.*?)(?=^## )", README, re.M | re.S).group(1)
    (block,) = re.findall(r"^```sh\n(.*?)^```", section, re.M | re.S)
    lines = "".join(line for line in block.splitlines(keepends=True) if not line.lstrip().startswith("#"))
    commands = re.split(r"^ncp-signing-helper ", lines, flags=re.M)[1:]
    subparsers = build_parser().parse_args(["version"])._subparsers
    seen = []
    for text in commands:
        name = text.split()[0]
        flags = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))
        known = {option for action in subparsers[name]._actions for option in action.option_strings}
        assert flags <= known, (name, flags - known)
        seen.append(name)
    assert seen == ["credential-process", "serve", "update"]
    assert "`pip install ./signing_helper`" in section
