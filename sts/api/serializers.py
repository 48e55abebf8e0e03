"""Wire shapes of the STS API (``/api/v1/credentials``)."""

from rest_framework import serializers

from sts import services


class CredentialRequestSerializer(serializers.Serializer):
    durationSec = serializers.IntegerField(
        required=False,
        min_value=services.MIN_DURATION_SEC,
        max_value=services.MAX_DURATION_SEC,
        help_text="how long the key lives (default 3600)",
    )
    serialNumber = serializers.CharField(
        required=False, allow_blank=True, max_length=256, help_text="the MFA device's NRN (GET /credentials shows it)"
    )
    tokenCode = serializers.CharField(
        required=False, allow_blank=True, max_length=16, help_text="the 6-digit code (a string, or an integer)"
    )
    roleNrn = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="extension: switch to this Account role (needs Change/switchRole on it) and get the role session's key",
    )


class CredentialSerializer(serializers.Serializer):
    """A temporary key as issued: the secret is shown only here."""

    accessKey = serializers.CharField()
    keySecret = serializers.CharField()
    createTime = serializers.DateTimeField()
    expireTime = serializers.DateTimeField()
    useMfa = serializers.BooleanField()
    roleNrn = serializers.CharField(required=False, help_text="role sessions only")


class CallingKeySerializer(serializers.Serializer):
    """The key that signed the request (never its secret)."""

    accessKey = serializers.CharField()
    keyType = serializers.ChoiceField(choices=["ROOT", "SUB_ACCOUNT", "TEMPORARY"])
    createTime = serializers.DateTimeField()
    expireTime = serializers.DateTimeField(allow_null=True)
    useMfa = serializers.BooleanField()
    principalType = serializers.CharField()
    principalNrn = serializers.CharField()
    roleNrn = serializers.CharField(required=False)
    mfaSerialNumber = serializers.CharField(required=False, help_text="the serialNumber of the caller's MFA device")
    sourceIdentityType = serializers.CharField(required=False)
    sourceIdentityId = serializers.CharField(required=False)
