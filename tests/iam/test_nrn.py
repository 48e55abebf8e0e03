"""NRNs are built and parsed by one module."""

import pytest

from iam.policy import nrn


def test_build_matches_the_wire_format():
    assert nrn.build(nrn.IAM, 2942, "SubAccount", "abc-1") == "nrn:PUB:IAM::2942:SubAccount/abc-1"
    assert nrn.build(nrn.EXTERNAL_ACCESS, "17", "TrustAnchor", 5) == "nrn:PUB:ExternalAccess::17:TrustAnchor/5"


def test_parse_round_trips():
    parsed = nrn.parse("nrn:PUB:IAM::2942:Role/b0c3-11")
    assert parsed == nrn.Nrn(product="IAM", member_no=2942, resource_type="Role", resource_id="b0c3-11")
    assert str(parsed) == "nrn:PUB:IAM::2942:Role/b0c3-11"


def test_parse_keeps_a_region():
    parsed = nrn.parse("nrn:PUB:VPCServer:KR:2942:Server/123")
    assert (parsed.product, parsed.region, parsed.resource_id) == ("VPCServer", "KR", "123")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "*",
        "nrn:PUB:IAM::2942:SubAccount",  # no id
        "nrn:PUB:IAM::abc:SubAccount/1",  # memberNo not numeric
        "arn:aws:iam::123:user/x",
        "nrn:PUB:IAM::2942:SubAccount/ space",
        "nrn:PUB:IAM:2942:SubAccount/1",  # missing a colon
    ],
)
def test_malformed_nrns_are_refused(text):
    assert not nrn.is_valid(text)
    with pytest.raises(nrn.InvalidNrn):
        nrn.parse(text)


def test_non_string_is_refused():
    with pytest.raises(nrn.InvalidNrn):
        nrn.parse(42)
