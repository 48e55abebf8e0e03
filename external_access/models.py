"""External Access data: private certificate authorities and the certificates they issued, trust anchors, and the
certificate revocation lists imported into them.

Every row belongs to one main account (``account``, directly or through its trust anchor or CA), and is looked up
through ``AccountScopedQuerySet.for_account`` like the Sub Account rows, so another account's id is simply not found.
"""

import uuid

from django.db import models

from iam.models import Account
from iam.policy import nrn
from iam.querysets import AccountScopedQuerySet


class CertificateAuthority(models.Model):
    """A private CA of an account: a root, or an intermediate signed by one of the account's CAs. Its private key is
    stored encrypted (``iam.secrets``) and never leaves the service."""

    ROOT = "ROOT"
    SUBORDINATE = "SUBORDINATE"
    TYPE_CHOICES = [(ROOT, "Root"), (SUBORDINATE, "Subordinate")]
    RSA_2048 = "RSA_2048"
    RSA_3072 = "RSA_3072"
    RSA_4096 = "RSA_4096"
    EC_P256 = "EC_prime256v1"
    EC_P384 = "EC_secp384r1"
    KEY_ALGORITHMS = (RSA_2048, RSA_3072, RSA_4096, EC_P256, EC_P384)
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"
    STATUS_CHOICES = [(ACTIVE, "Active"), (DISABLED, "Disabled")]

    # The wire's caId is this row's id (an integer, as NCP's Private CA ids are).
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="certificate_authorities")
    name = models.CharField(max_length=30)
    ca_type = models.CharField(max_length=20, choices=TYPE_CHOICES)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    key_algorithm = models.CharField(max_length=20, choices=[(a, a) for a in KEY_ALGORITHMS])
    subject = models.CharField(max_length=1000)
    serial_number = models.CharField(max_length=40)
    certificate_pem = models.TextField()
    private_key_encrypted = models.TextField(editable=False)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    status = models.CharField(max_length=20, choices=STATUS_CHOICES, default=ACTIVE)
    crl_number = models.PositiveBigIntegerField(default=0)
    create_time = models.DateTimeField(auto_now_add=True)
    update_time = models.DateTimeField(auto_now=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = "private CA"
        verbose_name_plural = "private CAs"
        constraints = [models.UniqueConstraint("account", "name", name="uniq_ca_name_per_account")]

    def __str__(self) -> str:
        return self.name

    @property
    def nrn(self) -> str:
        return nrn.build(nrn.PRIVATE_CA, self.account.member_no, "CA", self.pk)


class IssuedCertificate(models.Model):
    """A certificate a private CA signed (a workload's), kept to revoke it and to publish the CA's CRL."""

    REASONS = (
        "unspecified",
        "key_compromise",
        "ca_compromise",
        "affiliation_changed",
        "superseded",
        "cessation_of_operation",
        "certificate_hold",
        "privilege_withdrawn",
    )

    certificate_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ca = models.ForeignKey(CertificateAuthority, on_delete=models.CASCADE, related_name="issued_certificates")
    serial_number = models.CharField(max_length=40)
    subject = models.CharField(max_length=1000)
    certificate_pem = models.TextField()
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    revoke_time = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.CharField(max_length=30, blank=True, default="")
    create_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint("ca", "serial_number", name="uniq_serial_per_ca")]

    def __str__(self) -> str:
        return f"{self.subject} ({self.serial_number})"


class TrustAnchor(models.Model):
    """What a workload's certificate must chain to: one of the account's private CAs, or a bundle of CA
    certificates (PEM) of an outside CA."""

    NCP_PCA = "NCP_PCA"
    CERTIFICATE_BUNDLE = "CERTIFICATE_BUNDLE"
    SOURCE_CHOICES = [(NCP_PCA, "Private CA"), (CERTIFICATE_BUNDLE, "Certificate bundle")]

    trust_anchor_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="trust_anchors")
    name = models.CharField(max_length=30)
    description = models.CharField(max_length=1000, blank=True, default="")
    enabled = models.BooleanField(default=True)
    source_type = models.CharField(max_length=30, choices=SOURCE_CHOICES)
    ca = models.ForeignKey(
        CertificateAuthority, on_delete=models.PROTECT, null=True, blank=True, related_name="trust_anchors"
    )
    certificate_bundle_pem = models.TextField(blank=True, default="")
    create_time = models.DateTimeField(auto_now_add=True)
    update_time = models.DateTimeField(auto_now=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint("account", "name", name="uniq_trust_anchor_name_per_account"),
            models.CheckConstraint(
                condition=(models.Q(source_type="NCP_PCA", ca__isnull=False) & models.Q(certificate_bundle_pem=""))
                | (models.Q(source_type="CERTIFICATE_BUNDLE", ca__isnull=True) & ~models.Q(certificate_bundle_pem="")),
                name="trust_anchor_source_consistent",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def nrn(self) -> str:
        return nrn.build(nrn.EXTERNAL_ACCESS, self.account.member_no, "TrustAnchor", self.trust_anchor_id)


class Crl(models.Model):
    """A certificate revocation list imported into a trust anchor.

    Importing stores the revoked serials in a Celery task, in batches, under a new ``generation``; the list in force
    is the one whose rows carry ``active_generation``, switched in one update once every row is stored. A failed,
    killed or repeated import therefore never leaves a partial or doubled list in force: its rows belong to a
    generation nobody reads, and are deleted when the next import completes."""

    PENDING = "PENDING"
    IMPORTING = "IMPORTING"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"
    STATUS_CHOICES = [(PENDING, "Pending"), (IMPORTING, "Importing"), (ACTIVE, "Active"), (FAILED, "Failed")]

    crl_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    trust_anchor = models.ForeignKey(TrustAnchor, on_delete=models.CASCADE, related_name="crls")
    name = models.CharField(max_length=15)
    enabled = models.BooleanField(default=True)
    crl_der = models.BinaryField(editable=False)
    issuer = models.CharField(max_length=1000)
    this_update = models.DateTimeField()
    next_update = models.DateTimeField(null=True, blank=True)
    import_status = models.CharField(max_length=20, choices=STATUS_CHOICES, default=PENDING)
    import_error = models.CharField(max_length=500, blank=True, default="")
    import_started_time = models.DateTimeField(null=True, blank=True)
    total_serials = models.PositiveIntegerField(default=0)
    stored_serials = models.PositiveIntegerField(default=0)
    generation = models.PositiveIntegerField(default=0, help_text="the import under way or last started")
    active_generation = models.PositiveIntegerField(null=True, blank=True, help_text="the list in force")
    create_time = models.DateTimeField(auto_now_add=True)
    update_time = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "CRL"
        verbose_name_plural = "CRLs"
        constraints = [models.UniqueConstraint("trust_anchor", "name", name="uniq_crl_name_per_trust_anchor")]

    def __str__(self) -> str:
        return self.name

    @property
    def nrn(self) -> str:
        return nrn.build(nrn.EXTERNAL_ACCESS, self.trust_anchor.account.member_no, "Crl", self.crl_id)


class RevokedSerial(models.Model):
    """One revoked serial of a CRL's import (lower-case hex, no leading zeros). The revocation check is one look-up
    of the (serial, crl) index."""

    crl = models.ForeignKey(Crl, on_delete=models.CASCADE, related_name="+", db_index=False)
    generation = models.PositiveIntegerField()
    serial_number = models.CharField(max_length=40)

    class Meta:
        indexes = [
            models.Index(fields=["serial_number", "crl", "generation"], name="revoked_serial_lookup"),
            models.Index(fields=["crl", "generation"], name="revoked_serial_by_import"),
        ]


class Profile(models.Model):
    """Which Service roles a workload authenticated by a certificate may take on, and for how long."""

    MIN_DURATION = 600
    MAX_DURATION = 43_200
    DEFAULT_DURATION = 3_600

    profile_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="profiles")
    name = models.CharField(max_length=30)
    description = models.CharField(max_length=1000, blank=True, default="")
    enabled = models.BooleanField(default=False)
    duration_seconds = models.PositiveIntegerField(default=DEFAULT_DURATION)
    roles = models.ManyToManyField("iam.Role", through="ProfileRole", related_name="+")
    create_time = models.DateTimeField(auto_now_add=True)
    update_time = models.DateTimeField(auto_now=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint("account", "name", name="uniq_profile_name_per_account"),
            models.CheckConstraint(
                condition=models.Q(duration_seconds__gte=600, duration_seconds__lte=43_200),
                name="profile_duration_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def nrn(self) -> str:
        return nrn.build(nrn.EXTERNAL_ACCESS, self.account.member_no, "Profile", self.profile_id)


class ProfileRole(models.Model):
    """A Service role mapped to a profile. A role sits in at most one profile: the unique role column makes the
    database refuse the second of two parallel requests."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="profile_roles")
    role = models.OneToOneField("iam.Role", on_delete=models.CASCADE, related_name="external_access_profile")
    create_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.profile} → {self.role}"


class Subject(models.Model):
    """The certificates with one subject DN seen by an account (subject activity): made on first use."""

    subject_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="certificate_subjects")
    x509_subject = models.CharField(max_length=1000)
    enabled = models.BooleanField(default=True)
    create_time = models.DateTimeField(auto_now_add=True)
    update_time = models.DateTimeField(auto_now=True)
    last_seen_time = models.DateTimeField(null=True, blank=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint("account", "x509_subject", name="uniq_subject_per_account")]

    def __str__(self) -> str:
        return self.x509_subject

    @property
    def nrn(self) -> str:
        return nrn.build(nrn.EXTERNAL_ACCESS, self.account.member_no, "Subject", self.subject_id)


class SubjectCertificate(models.Model):
    """A certificate a subject presented: serial, issuer, validity, first and last seen."""

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="certificates")
    serial_number = models.CharField(max_length=40)
    issuer = models.CharField(max_length=1000)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    fingerprint_sha256 = models.CharField(max_length=64)
    first_seen_time = models.DateTimeField()
    last_seen_time = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint("subject", "fingerprint_sha256", name="uniq_certificate_per_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.serial_number} ({self.issuer})"


class SessionAttempt(models.Model):
    """One certificate session request of a subject: issued or refused (with the reason), when and from where."""

    ISSUED = "ISSUED"
    REFUSED = "REFUSED"
    OUTCOME_CHOICES = [(ISSUED, "Issued"), (REFUSED, "Refused")]

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="session_attempts")
    certificate = models.ForeignKey(SubjectCertificate, on_delete=models.SET_NULL, null=True, related_name="+")
    time = models.DateTimeField(db_index=True)
    outcome = models.CharField(max_length=10, choices=OUTCOME_CHOICES)
    reason = models.CharField(max_length=300, blank=True, default="")
    source_ip = models.CharField(max_length=45, blank=True, default="")
    trust_anchor_nrn = models.CharField(max_length=300, blank=True, default="")
    profile_nrn = models.CharField(max_length=300, blank=True, default="")
    role_nrn = models.CharField(max_length=300, blank=True, default="")
    access_key = models.CharField(
        max_length=64, blank=True, default="", help_text="the issued key's id (never its secret)"
    )
    expire_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-time", "-id"]

    def __str__(self) -> str:
        return f"{self.outcome} {self.time:%Y-%m-%d %H:%M}"
