"""Shapes of the External Access wire format (camelCase). Bodies are checked by the services, which name the field."""

import base64

from rest_framework import serializers

from external_access.models import (
    CertificateAuthority,
    Crl,
    IssuedCertificate,
    Profile,
    SessionAttempt,
    Subject,
    SubjectCertificate,
    TrustAnchor,
)


class CaSerializer(serializers.ModelSerializer):
    caId = serializers.IntegerField(source="pk")
    nrn = serializers.CharField()
    caType = serializers.CharField(source="ca_type")
    parentCaId = serializers.IntegerField(source="parent_id", allow_null=True)
    keyAlgorithm = serializers.CharField(source="key_algorithm")
    serialNumber = serializers.CharField(source="serial_number")
    certificate = serializers.CharField(source="certificate_pem")
    notBeforeDate = serializers.DateTimeField(source="not_before")
    notAfterDate = serializers.DateTimeField(source="not_after")
    createTime = serializers.DateTimeField(source="create_time")
    updateTime = serializers.DateTimeField(source="update_time")

    class Meta:
        model = CertificateAuthority
        fields = [
            "caId", "nrn", "name", "caType", "parentCaId", "keyAlgorithm", "subject", "serialNumber", "status",
            "certificate", "notBeforeDate", "notAfterDate", "createTime", "updateTime",
        ]  # fmt: skip


class SubjectSerializer(serializers.Serializer):
    commonName = serializers.CharField()
    organization = serializers.CharField(required=False)
    organizationalUnit = serializers.CharField(required=False)
    country = serializers.CharField(required=False)
    state = serializers.CharField(required=False)
    locality = serializers.CharField(required=False)


class CaCreateSerializer(serializers.Serializer):
    name = serializers.CharField()
    keyAlgorithm = serializers.ChoiceField(choices=CertificateAuthority.KEY_ALGORITHMS, required=False)
    subject = SubjectSerializer()
    validityDays = serializers.IntegerField(required=False)
    parentCaId = serializers.IntegerField(required=False)


class CertificateSerializer(serializers.ModelSerializer):
    certificateId = serializers.UUIDField(source="certificate_id")
    caId = serializers.IntegerField(source="ca_id")
    serialNumber = serializers.CharField(source="serial_number")
    certificate = serializers.CharField(source="certificate_pem")
    notBeforeDate = serializers.DateTimeField(source="not_before")
    notAfterDate = serializers.DateTimeField(source="not_after")
    revokeTime = serializers.DateTimeField(source="revoke_time", allow_null=True)
    revocationReason = serializers.CharField(source="revocation_reason")
    createTime = serializers.DateTimeField(source="create_time")

    class Meta:
        model = IssuedCertificate
        fields = [
            "certificateId", "caId", "serialNumber", "subject", "certificate", "notBeforeDate", "notAfterDate",
            "revokeTime", "revocationReason", "createTime",
        ]  # fmt: skip


class CertificateIssuedSerializer(CertificateSerializer):
    privateKey = serializers.CharField(required=False, help_text="only when the key was generated here: shown once")
    certificateChain = serializers.CharField(help_text="the issuing CA's certificate and its parents' (PEM)")

    class Meta(CertificateSerializer.Meta):
        fields = CertificateSerializer.Meta.fields + ["privateKey", "certificateChain"]


class CertificateIssueSerializer(serializers.Serializer):
    csr = serializers.CharField(required=False, help_text="PEM certificate signing request")
    subject = SubjectSerializer(required=False, help_text="instead of a csr: a key is generated and shown once")
    keyAlgorithm = serializers.ChoiceField(choices=CertificateAuthority.KEY_ALGORITHMS, required=False)
    validityDays = serializers.IntegerField(required=False)


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False)


class PublishedCrlSerializer(serializers.Serializer):
    caId = serializers.IntegerField()
    crlNumber = serializers.IntegerField()
    crlData = serializers.CharField(help_text="base64 of the DER CRL")
    thisUpdate = serializers.DateTimeField()
    nextUpdate = serializers.DateTimeField()
    revokedCount = serializers.IntegerField()


class TrustAnchorSourceDataSerializer(serializers.Serializer):
    caId = serializers.IntegerField(required=False)
    nrn = serializers.CharField(required=False)
    notAfterDate = serializers.DateTimeField(required=False)
    x509CertificateData = serializers.CharField(required=False)


class TrustAnchorSourceSerializer(serializers.Serializer):
    sourceType = serializers.ChoiceField(choices=[TrustAnchor.NCP_PCA, TrustAnchor.CERTIFICATE_BUNDLE])
    sourceData = TrustAnchorSourceDataSerializer()


class TrustAnchorSerializer(serializers.ModelSerializer):
    trustAnchorId = serializers.UUIDField(source="trust_anchor_id")
    trustAnchorNrn = serializers.CharField(source="nrn")
    source = serializers.SerializerMethodField()
    createTime = serializers.DateTimeField(source="create_time")
    updateTime = serializers.DateTimeField(source="update_time")

    class Meta:
        model = TrustAnchor
        fields = [
            "trustAnchorId",
            "trustAnchorNrn",
            "name",
            "description",
            "enabled",
            "createTime",
            "updateTime",
            "source",
        ]

    def get_source(self, anchor) -> TrustAnchorSourceSerializer:
        if anchor.source_type == TrustAnchor.NCP_PCA:
            data = {
                "caId": anchor.ca_id,
                "nrn": anchor.ca.nrn,
                "notAfterDate": serializers.DateTimeField().to_representation(anchor.ca.not_after),
            }
        else:
            data = {"x509CertificateData": anchor.certificate_bundle_pem}
        return {"sourceType": anchor.source_type, "sourceData": data}


class TrustAnchorWriteSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)
    source = TrustAnchorSourceSerializer()


class TrustAnchorUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    source = TrustAnchorSourceSerializer(required=False)


class CrlSerializer(serializers.ModelSerializer):
    crlId = serializers.UUIDField(source="crl_id")
    crlNrn = serializers.CharField(source="nrn")
    trustAnchorId = serializers.UUIDField(source="trust_anchor.trust_anchor_id")
    thisUpdate = serializers.DateTimeField(source="this_update")
    nextUpdate = serializers.DateTimeField(source="next_update", allow_null=True)
    importStatus = serializers.CharField(source="import_status")
    importError = serializers.CharField(source="import_error")
    totalSerials = serializers.IntegerField(source="total_serials")
    storedSerials = serializers.IntegerField(source="stored_serials")
    inForce = serializers.SerializerMethodField(help_text="whether a fully imported list of this CRL is in force")
    createTime = serializers.DateTimeField(source="create_time")
    updateTime = serializers.DateTimeField(source="update_time")

    class Meta:
        model = Crl
        fields = [
            "crlId", "crlNrn", "trustAnchorId", "name", "enabled", "issuer", "thisUpdate", "nextUpdate",
            "importStatus", "importError", "totalSerials", "storedSerials", "inForce", "createTime", "updateTime",
        ]  # fmt: skip

    def get_inForce(self, crl) -> bool:
        return crl.enabled and crl.active_generation is not None


class CrlDetailSerializer(CrlSerializer):
    crlData = serializers.SerializerMethodField(help_text="base64 of the DER CRL")

    class Meta(CrlSerializer.Meta):
        fields = CrlSerializer.Meta.fields + ["crlData"]

    def get_crlData(self, crl) -> str:
        return base64.b64encode(bytes(crl.crl_der)).decode("ascii")


class CrlWriteSerializer(serializers.Serializer):
    name = serializers.CharField()
    crlData = serializers.CharField(help_text="base64 of the DER CRL, or PEM")
    enabled = serializers.BooleanField(required=False)


class CrlUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False)
    crlData = serializers.CharField(required=False)
    enabled = serializers.BooleanField(required=False)


class ProfileSerializer(serializers.ModelSerializer):
    profileId = serializers.UUIDField(source="profile_id")
    profileNrn = serializers.CharField(source="nrn")
    durationSeconds = serializers.IntegerField(source="duration_seconds")
    roleNrnList = serializers.SerializerMethodField()
    createTime = serializers.DateTimeField(source="create_time")
    updateTime = serializers.DateTimeField(source="update_time")

    class Meta:
        model = Profile
        fields = [
            "profileId", "profileNrn", "name", "description", "enabled", "durationSeconds", "roleNrnList",
            "createTime", "updateTime",
        ]  # fmt: skip

    def get_roleNrnList(self, profile) -> list[str]:
        return [pr.role.nrn for pr in profile.profile_roles.select_related("role__account").order_by("id")]


class ProfileWriteSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    durationSeconds = serializers.IntegerField(required=False, help_text="600-43,200, default 3,600")
    enabled = serializers.BooleanField(required=False)
    roleIdList = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="roleNo of Service roles"
    )


class ProfileUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    durationSeconds = serializers.IntegerField(required=False)
    roleIdList = serializers.ListField(child=serializers.CharField(), required=False)


class SubjectSerializer(serializers.ModelSerializer):
    subjectId = serializers.UUIDField(source="subject_id")
    subjectNrn = serializers.CharField(source="nrn")
    x509Subject = serializers.CharField(source="x509_subject")
    createTime = serializers.DateTimeField(source="create_time")
    updateTime = serializers.DateTimeField(source="update_time")
    lastSeenTime = serializers.DateTimeField(source="last_seen_time", allow_null=True)

    class Meta:
        model = Subject
        fields = ["subjectId", "subjectNrn", "x509Subject", "enabled", "createTime", "updateTime", "lastSeenTime"]


class SubjectCertificateSerializer(serializers.ModelSerializer):
    serialNumber = serializers.CharField(source="serial_number")
    notBeforeDate = serializers.DateTimeField(source="not_before")
    notAfterDate = serializers.DateTimeField(source="not_after")
    fingerprintSha256 = serializers.CharField(source="fingerprint_sha256")
    firstSeenTime = serializers.DateTimeField(source="first_seen_time")
    lastSeenTime = serializers.DateTimeField(source="last_seen_time")

    class Meta:
        model = SubjectCertificate
        fields = [
            "serialNumber",
            "issuer",
            "notBeforeDate",
            "notAfterDate",
            "fingerprintSha256",
            "firstSeenTime",
            "lastSeenTime",
        ]


class SessionAttemptSerializer(serializers.ModelSerializer):
    serialNumber = serializers.CharField(source="certificate.serial_number", allow_null=True, default=None)
    sourceIp = serializers.CharField(source="source_ip")
    trustAnchorNrn = serializers.CharField(source="trust_anchor_nrn")
    profileNrn = serializers.CharField(source="profile_nrn")
    roleNrn = serializers.CharField(source="role_nrn")
    accessKey = serializers.CharField(source="access_key")
    expireTime = serializers.DateTimeField(source="expire_time", allow_null=True)

    class Meta:
        model = SessionAttempt
        fields = [
            "time", "outcome", "reason", "serialNumber", "sourceIp", "trustAnchorNrn", "profileNrn", "roleNrn",
            "accessKey", "expireTime",
        ]  # fmt: skip


class SubjectDetailSerializer(SubjectSerializer):
    certificates = SubjectCertificateSerializer(many=True)
    sessions = serializers.SerializerMethodField(help_text="the 100 latest session requests, newest first")

    class Meta(SubjectSerializer.Meta):
        fields = SubjectSerializer.Meta.fields + ["certificates", "sessions"]

    def get_sessions(self, subject) -> SessionAttemptSerializer(many=True):
        attempts = subject.session_attempts.select_related("certificate")[:100]
        return SessionAttemptSerializer(attempts, many=True).data


class SessionRequestSerializer(serializers.Serializer):
    durationSeconds = serializers.IntegerField(required=False)
    trustAnchorNrn = serializers.CharField()
    profileNrn = serializers.CharField()
    roleNrn = serializers.CharField()


class SessionCredentialSerializer(serializers.Serializer):
    accessKey = serializers.CharField()
    keySecret = serializers.CharField()
    createTime = serializers.DateTimeField()
    expireTime = serializers.DateTimeField()


class SessionSerializer(serializers.Serializer):
    roleNrn = serializers.CharField()
    credential = SessionCredentialSerializer()
