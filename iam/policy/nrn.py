"""NRNs (Ncloud Resource Names): ``nrn:PUB:{product}::{memberNo}:{ResourceType}/{id}``.

The one place that produces and parses them. Pure Python, no Django.
"""

import re
import uuid
from dataclasses import dataclass

IAM = "IAM"
EXTERNAL_ACCESS = "ExternalAccess"
PRIVATE_CA = "PrivateCA"
VPC_SERVER = "VPCServer"
SERVER_REGION = "KR"

_NRN_RE = re.compile(
    r"^nrn:(?P<partition>[A-Z]+):(?P<product>[A-Za-z][A-Za-z0-9]*):(?P<region>[A-Za-z0-9-]*):"
    r"(?P<member_no>\d+):(?P<resource_type>[A-Za-z][A-Za-z0-9]*)/(?P<resource_id>[^\s/][^\s]*)$"
)


class InvalidNrn(ValueError):
    """Raised when a text is not a well-formed NRN."""


@dataclass(frozen=True)
class Nrn:
    """A parsed NRN."""

    product: str
    member_no: int
    resource_type: str
    resource_id: str
    partition: str = "PUB"
    region: str = ""

    def __str__(self) -> str:
        return (
            f"nrn:{self.partition}:{self.product}:{self.region}:{self.member_no}:"
            f"{self.resource_type}/{self.resource_id}"
        )


def build(product: str, member_no: int, resource_type: str, resource_id: object) -> str:
    """The NRN text of one resource."""
    return str(
        Nrn(product=product, member_no=int(member_no), resource_type=resource_type, resource_id=str(resource_id))
    )


def server_nrn(member_no: int, server_instance_no: object) -> str:
    """The NRN of a VPC server (the catalog's ``VPCServer:Server`` resource type), as NCP spells it with a region."""
    return str(
        Nrn(
            product=VPC_SERVER,
            member_no=int(member_no),
            resource_type="Server",
            resource_id=str(server_instance_no),
            region=SERVER_REGION,
        )
    )


def parse(text: str) -> Nrn:
    """Parse an NRN text; raise InvalidNrn when it is malformed."""
    if not isinstance(text, str):
        raise InvalidNrn("an NRN must be a string")
    match = _NRN_RE.match(text)
    if not match:
        raise InvalidNrn(f"malformed NRN: {text[:200]!r}; expected nrn:PUB:{{product}}::{{memberNo}}:{{Type}}/{{id}}")
    return Nrn(
        product=match["product"],
        member_no=int(match["member_no"]),
        resource_type=match["resource_type"],
        resource_id=match["resource_id"],
        partition=match["partition"],
        region=match["region"],
    )


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except InvalidNrn:
        return False
    return True


def canonical_role_nrn(text) -> str | None:
    """The NRN of a role as policies name it (a UUID roleNo lower-case and hyphenated), or None if ``text`` is no
    IAM role NRN. Authorization and the lookup both use this spelling, so no other spelling slips past a Deny."""
    if not isinstance(text, str):
        return None
    try:
        parsed = parse(text.strip())
    except InvalidNrn:
        return None
    if parsed.product != IAM or parsed.resource_type != "Role":
        return None
    try:
        role_no = str(uuid.UUID(parsed.resource_id))
    except ValueError:
        role_no = parsed.resource_id
    return build(IAM, parsed.member_no, "Role", role_no)
