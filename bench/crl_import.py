"""How long importing a CRL of 1,000,000 revoked serials takes, and what a revocation check costs.

Makes the CRL with cryptography (an EC P-256 CA of its own, serials of 16 random bytes like real CAs'), cached in the
data folder so later runs skip it, then on its own database: creates a main account and a trust anchor of that CA,
times the import request's work (``crl_create``: decode, verify the signature, store the DER) and the Celery task's
(``crl_import_run``: parse and store every serial, then put the list in force), and the revocation check (revoked and
not revoked serials, p50/p99 over --lookups look-ups). Prints the figures; no assertions: it is a measuring tool.

Its own database only (as bench/inactive_disable.py): ``bench_iam`` on the DATABASE_URL PostgreSQL server, created
when missing and emptied first; SQLite in a temporary folder otherwise.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/crl_import.py [-n 1000000]
"""

import argparse
import base64
import datetime as dt
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inactive_disable import bench_database_url, setup_django  # noqa: E402


def make_crl(n: int, cache_dir: Path):
    """A CA certificate and a DER CRL with ``n`` revoked serials (cached: building it takes a while)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    cache_dir.mkdir(parents=True, exist_ok=True)
    crl_path, ca_path = cache_dir / f"bench-{n}.crl", cache_dir / f"bench-{n}-ca.pem"
    if crl_path.exists() and ca_path.exists():
        return ca_path.read_text(), crl_path.read_bytes(), None
    started = time.perf_counter()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench CRL CA")])
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    # The builder's add_revoked_certificate copies its list each time (quadratic): hand it the whole list at once.
    revoked = [
        x509.RevokedCertificateBuilder()
        .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1 or 1)
        .revocation_date(now)
        .build()
        for _ in range(n)
    ]
    builder = x509.CertificateRevocationListBuilder(
        issuer_name=name, last_update=now, next_update=now + dt.timedelta(days=7), revoked_certificates=revoked
    )
    crl_der = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    ca_pem = ca.public_bytes(serialization.Encoding.PEM).decode()
    crl_path.write_bytes(crl_der)
    ca_path.write_text(ca_pem)
    return ca_pem, crl_der, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="revoked serials in the CRL")
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=None)
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="bench-crl-")
    cache_dir = Path(os.environ.get("DATA_DIR", ROOT / "var")) / "bench"
    ca_pem, crl_der, built = make_crl(args.n, cache_dir)
    if built is not None:
        print(f"made the CRL: {args.n:,} serials, {len(crl_der) / 1e6:.1f} MB DER in {built:.1f} s (cached)")
    setup_django(bench_database_url(data_dir), data_dir)

    from cryptography import x509
    from django.db import connection

    from external_access.models import Crl
    from external_access.services import crls, trust_anchors
    from iam import outbox
    from iam.services.accounts import account_create

    outbox._publish = lambda message: None  # the bench runs the import task itself: no broker

    account, _, _ = account_create(name="Bench CRL", member_no=990_001)
    anchor = trust_anchors.trust_anchor_create(
        account=account,
        name="bench-anchor",
        source={"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": ca_pem}},
    )
    print(f"database: {connection.vendor}; CRL of {args.n:,} serials, {len(crl_der) / 1e6:.1f} MB DER")

    started = time.perf_counter()
    crl = crls.crl_create(trust_anchor=anchor, name="bench", crl_data=base64.b64encode(crl_der).decode())
    request_seconds = time.perf_counter() - started
    print(f"import request (decode, verify the signature, store): {request_seconds:.2f} s")

    kwargs = {"batch_size": args.batch_size} if args.batch_size else {}
    started = time.perf_counter()
    outcome = crls.crl_import_run(crl_id=crl.pk, generation=crl.generation, **kwargs)
    task_seconds = time.perf_counter() - started
    crl.refresh_from_db()
    print(
        f"import task: {outcome}, {crl.stored_serials:,} of {crl.total_serials:,} serials stored in {task_seconds:.2f} s"
        f" ({crl.stored_serials / task_seconds:,.0f} serials/s); request + task {request_seconds + task_seconds:.2f} s"
    )
    assert crl.import_status == Crl.ACTIVE  # the figure means nothing otherwise

    parsed = x509.load_der_x509_crl(crl_der)
    revoked_serials = [entry.serial_number for _, entry in zip(range(args.lookups // 2), parsed, strict=False)]
    fresh_serials = [int.from_bytes(secrets.token_bytes(16), "big") >> 1 for _ in range(args.lookups // 2)]
    for label, serials, expected in (("revoked", revoked_serials, True), ("not revoked", fresh_serials, False)):
        times = []
        for serial in serials:
            started = time.perf_counter()
            result = crls.is_revoked(anchor, serial)
            times.append((time.perf_counter() - started) * 1e3)
            assert result is expected
        times.sort()
        p99 = times[int(len(times) * 0.99) - 1]
        print(f"revocation check, {label}: p50 {statistics.median(times):.3f} ms, p99 {p99:.3f} ms")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN SELECT 1 FROM external_access_revokedserial s JOIN external_access_crl c ON s.crl_id = c.id"
                " WHERE s.serial_number = %s AND c.trust_anchor_id = %s AND c.enabled AND c.active_generation ="
                " s.generation LIMIT 1",
                [format(revoked_serials[0], "x"), anchor.pk],
            )
            plan = " / ".join(row[0].strip() for row in cursor.fetchall())
        print(f"plan: {plan}")
    Crl.objects.filter(pk=crl.pk).delete()


if __name__ == "__main__":
    main()
