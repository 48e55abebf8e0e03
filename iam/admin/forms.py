"""Admin forms of the Sub Account part. The services do the saving; a service's refusal comes back as form errors.

Secrets are write-only here: password inputs never render their value, and no form has a field for a password hash,
an MFA secret or an access key's secret.
"""

import json
import re

from django import forms

from iam.errors import InvalidInput, ServiceError
from iam.models import Account, Group, GroupMembership, Policy, PolicyAttachment, Role, Server, SubAccount
from iam.policy import catalog, nrn
from iam.services import validation

_WIRE_SPLIT = re.compile(r"[.\[]")
_CAMEL_HUMP = re.compile(r"(?<!^)(?=[A-Z])")


def apply_service_error(form: forms.Form, error: ServiceError, names: dict[str, str]) -> None:
    """Put a service error on the form: each wire field error on the form field it is about, the rest on the form."""
    if not error.field_errors:
        form.add_error(None, error.message)
        return
    for wire, message in error.field_errors:
        base = _WIRE_SPLIT.split(wire, maxsplit=1)[0]
        candidates = (names.get(wire), names.get(base), base, _CAMEL_HUMP.sub("_", base).lower())
        field = next((c for c in candidates if c and c in form.fields), None)
        # Keep the place inside a document ("permissions[0].effect") so the error can be found in the JSON.
        text = message if field is not None and wire == base else (f"{wire}: {message}" if wire else message)
        form.add_error(field, text)


class PrettyJSONField(forms.JSONField):
    """A JSON textarea that shows the stored value indented, so that documents can be read and edited."""

    def __init__(self, *, empty_value=None, **kwargs):
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 12, "cols": 100, "class": "vLargeTextField"}))
        # What an emptied textarea means: the model field's default ({} or []), since the columns are not nullable.
        self.empty_value = empty_value
        super().__init__(**kwargs)

    def to_python(self, value):
        if not self.disabled and value in self.empty_values:
            return json.loads(json.dumps(self.empty_value))
        return super().to_python(value)

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, cls=self.encoder)


# Structured text fields: lists and tags edited one item a line, checked item by item ---------------------------------

_PLACE = re.compile(r"\[(\d+)\]")
_LINES_WIDGET = {"rows": 5, "cols": 60, "class": "vLargeTextField iam-lines"}


class LinesField(forms.CharField):
    """A value edited as lines of text (a JSON document is accepted too), checked with a service validator.

    Subclasses say how a line becomes an item (``parse_line``), how an item is shown (``format_item``) and which
    validator of ``iam.services.validation`` checks the whole value. An error names the line it is about.
    """

    validator = None  # a function of iam.services.validation
    json_start = "["
    example = ""

    def __init__(self, *, help_text: str = "", **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs=_LINES_WIDGET))
        kwargs.setdefault("strip", True)
        if self.example:
            help_text = f"{help_text} Example:<br><code>{'<br>'.join(self.example.splitlines())}</code>"
        super().__init__(help_text=help_text, **kwargs)

    def empty(self):
        return []

    def parse_line(self, line: str, number: int):
        return line

    def format_item(self, item) -> str:
        return str(item)

    def combine(self, items: list):
        return items

    def to_python(self, value):
        if isinstance(value, (list, dict)):
            return value
        text = super().to_python(value)
        if not text:
            return self.empty()
        if text.startswith(self.json_start):
            try:
                return json.loads(text)
            except ValueError as exc:
                raise forms.ValidationError(f"Enter valid JSON: {exc.msg} (line {exc.lineno}).") from None
        items = []
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if line and not line.startswith("#"):
                items.append(self.parse_line(line, number))
        return self.combine(items)

    def clean(self, value):
        value = super().clean(value)
        try:
            return type(self).validator(value)
        except InvalidInput as exc:
            place, message = exc.field_errors[0] if exc.field_errors else ("", exc.message)
            raise forms.ValidationError(self.describe(place, message)) from None

    def describe(self, place: str, message: str) -> str:
        match = _PLACE.search(place)
        return f"Line {int(match.group(1)) + 1}: {message}." if match else f"{message[:1].upper()}{message[1:]}."

    def prepare_value(self, value):
        if isinstance(value, str):
            return value
        if not value:
            return ""
        return "\n".join(self.format_item(item) for item in value)


class IpListField(LinesField):
    """Console permit IPs: one IPv4/IPv6 address or CIDR block a line."""

    validator = staticmethod(validation.console_permit_ips)
    example = "203.0.113.7\n10.0.0.0/24"

    def __init__(self, **kwargs):
        super().__init__(
            help_text="One IP address or CIDR block a line (at most 100); used when “Console IP allowlist” is on.",
            **kwargs,
        )


class ApiAllowSourcesField(LinesField):
    """API allow sources: one "TYPE source" a line, TYPE being IP, VPC or VPC_SERVER."""

    validator = staticmethod(validation.api_allow_sources)
    example = "IP 203.0.113.0/24\nVPC 12345\nVPC_SERVER 678901"

    def __init__(self, **kwargs):
        super().__init__(
            help_text="One source a line: IP and an address or CIDR block, VPC and a VPC number, or VPC_SERVER "
            "and a server instance number (at most 100); used when “API source allowlist” is on.",
            **kwargs,
        )

    def parse_line(self, line: str, number: int):
        kind, _, source = line.partition(" ")
        if not source.strip():
            raise forms.ValidationError(f"Line {number}: write a type and a source, e.g. “IP 203.0.113.0/24”.")
        return {"type": kind.strip().upper(), "source": source.strip()}

    def format_item(self, item) -> str:
        return f"{item.get('type', '')} {item.get('source', '')}" if isinstance(item, dict) else str(item)


class TagsField(LinesField):
    """Tags: one "key = value" a line."""

    validator = staticmethod(validation.tags)
    json_start = "{"
    example = "team = platform\ncost-center = 1234"

    def __init__(self, **kwargs):
        super().__init__(
            help_text="One tag a line as key = value (at most 20; keys 1-128 characters, values at most 128).",
            **kwargs,
        )

    def empty(self):
        return {}

    def parse_line(self, line: str, number: int):
        key, equals, value = line.partition("=")
        if not equals or not key.strip():
            raise forms.ValidationError(f"Line {number}: write a tag as key = value, e.g. “team = platform”.")
        return key.strip(), value.strip()

    def combine(self, items: list):
        tags = {}
        for key, value in items:
            if key in tags:
                raise forms.ValidationError(f"Tag “{key}” is given twice.")
            tags[key] = value
        return tags

    def describe(self, place: str, message: str) -> str:
        key = place.partition(".")[2]
        return f"Tag “{key}”: {message}." if key else super().describe(place, message)

    def prepare_value(self, value):
        if isinstance(value, str):
            return value
        return "\n".join(f"{k} = {v}" for k, v in (value or {}).items())


POLICY_EXAMPLE = json.dumps(
    [
        {
            "effect": "Allow",
            "targets": [{"product": "SubAccount", "actions": ["View/getGroupList"], "resourceNrns": ["*"]}],
        }
    ]
)


def _permissions_field() -> "PrettyJSONField":
    return PrettyJSONField(
        label="Permissions",
        help_text="A JSON list of statements: effect (Allow or Deny), targets (product, actions, resourceNrns) and "
        "optional conditions. Each mistake is reported with its place, e.g. permissions[0].effect. Example:"
        f"<br><code>{POLICY_EXAMPLE}</code>",
    )


class ServiceModelForm(forms.ModelForm):
    """A model form saved by a service. ``service_error`` is the refusal of the previous attempt, shown as errors."""

    service_error: ServiceError | None = None
    # Wire field names (as the services report them) -> form fields, where the camelCase rule is not enough.
    service_field_names: dict[str, str] = {}

    def full_clean(self):
        super().full_clean()
        # After the model checks, so that removing a refused value from cleaned_data causes no second error.
        if self.service_error is not None and self.is_bound:
            apply_service_error(self, self.service_error, self.service_field_names)


# Accounts -----------------------------------------------------------------------------------------------------


class AccountCreateForm(ServiceModelForm):
    """A new main account; its root access key and secret are shown once after saving."""

    service_field_names = {"memberNo": "member_no"}

    class Meta:
        model = Account
        fields = ("name", "email", "member_no")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member_no"].required = False
        self.fields["member_no"].help_text = "Leave empty to pick a free member number."


class AccountChangeForm(ServiceModelForm):
    service_field_names = {
        "loginPageAlias": "login_page_alias",
        "minLength": "password_min_length",
        "expirationDays": "password_expiration_days",
        "reusePreventionCount": "password_reuse_prevention",
        "days": "long_term_unused_days",
    }

    class Meta:
        model = Account
        fields = (
            "name",
            "email",
            "active",
            "password_min_length",
            "password_expiration_days",
            "password_reuse_prevention",
            "login_page_alias",
            "session_expiration_minutes",
            "use_long_term_unused_deactivation",
            "long_term_unused_days",
        )


# Sub accounts -------------------------------------------------------------------------------------------------

_SUB_ACCOUNT_FLAGS = (
    "active",
    "can_console_access",
    "can_api_gateway_access",
    "use_console_permit_ip",
    "console_permit_ips",
    "use_api_allow_source",
    "api_allow_sources",
    "need_password_reset",
    "is_mfa_mandatory",
    "tags",
)


def _password_field(label: str, help_text: str) -> forms.CharField:
    # render_value=False: a password typed into a form that comes back with errors is not sent back in the page.
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=help_text,
    )


_SUB_ACCOUNT_LABELS = {
    "can_console_access": "Console access",
    "can_api_gateway_access": "API Gateway access",
    "use_console_permit_ip": "Console IP allowlist",
    "use_api_allow_source": "API source allowlist",
    "need_password_reset": "New password at sign-in",
    "is_mfa_mandatory": "MFA required",
}


class SubAccountFieldsMixin(forms.Form):
    """The structured fields of a sub account's access settings and tags."""

    console_permit_ips = IpListField(label="Console permit IPs")
    api_allow_sources = ApiAllowSourcesField(label="API allow sources")
    tags = TagsField(label="Tags")


class SubAccountCreateForm(SubAccountFieldsMixin, ServiceModelForm):
    """A new sub account with a given or a generated password (a generated one is shown once after saving)."""

    service_field_names = {
        "loginId": "login_id",
        "password": "new_password",
        "consolePermitIps": "console_permit_ips",
        "apiAllowSources": "api_allow_sources",
    }

    new_password = _password_field(
        "Password", "8-16 characters with upper- and lower-case letters, a digit and a special character."
    )
    generate_password = forms.BooleanField(
        label="Generate a password", required=False, help_text="Shown once after saving; must be changed at sign-in."
    )

    class Meta:
        model = SubAccount
        fields = ("account", "login_id", "name", "email", "memo", *_SUB_ACCOUNT_FLAGS)
        labels = _SUB_ACCOUNT_LABELS

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("generate_password") and cleaned.get("new_password"):
            self.add_error("new_password", "Enter a password or ask for a generated one, not both.")
        elif (
            cleaned.get("can_console_access")
            and not cleaned.get("generate_password")
            and not cleaned.get("new_password")
            and "new_password" not in self.errors
        ):
            self.add_error("new_password", "Console access needs a password (or ask for a generated one).")
        return cleaned


class SubAccountChangeForm(SubAccountFieldsMixin, ServiceModelForm):
    """Changes a sub account; the password fields, when filled, reset its password."""

    service_field_names = {
        "newPassword": "new_password",
        "consolePermitIps": "console_permit_ips",
        "apiAllowSources": "api_allow_sources",
    }

    new_password = _password_field("New password", "Leave empty to keep the current password.")
    generate_password = forms.BooleanField(
        label="Generate a new password", required=False, help_text="Shown once after saving."
    )

    class Meta:
        model = SubAccount
        fields = ("name", "email", "memo", *_SUB_ACCOUNT_FLAGS)
        labels = _SUB_ACCOUNT_LABELS

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("generate_password") and cleaned.get("new_password"):
            self.add_error("new_password", "Enter a password or ask for a generated one, not both.")
        return cleaned


# Groups, policies, roles ----------------------------------------------------------------------------------------


class GroupCreateForm(ServiceModelForm):
    tags = TagsField(label="Tags")
    service_field_names = {"groupName": "name"}

    class Meta:
        model = Group
        fields = ("account", "name", "description", "tags")


class GroupChangeForm(ServiceModelForm):
    tags = TagsField(label="Tags")
    service_field_names = {"groupName": "name"}

    class Meta:
        model = Group
        fields = ("name", "description", "tags")


class PolicyCreateForm(ServiceModelForm):
    """A user-defined policy; the service checks the permissions document and the 500-policy limit."""

    service_field_names = {"policyName": "name"}
    permissions = _permissions_field()
    tags = TagsField(label="Tags")

    class Meta:
        model = Policy
        fields = ("account", "name", "description", "permissions", "tags")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # System policies have no account; every policy made here belongs to one.
        self.fields["account"].required = True


class PolicyChangeForm(ServiceModelForm):
    service_field_names = {"policyName": "name"}
    permissions = _permissions_field()
    tags = TagsField(label="Tags")

    class Meta:
        model = Policy
        fields = ("name", "description", "permissions", "tags")


_SESSION_CHOICES = [("", "— (only Account roles have one)")] + [
    (str(s), f"{s} seconds") for s in Role.SESSION_EXPIRATION_CHOICES
]
_ROLE_NAMES = {
    "roleName": "name",
    "descCont": "description",
    "roleType": "role_type",
    "sessionExpirationSec": "session_expiration_sec",
}


def _session_field() -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label="Session expiration", choices=_SESSION_CHOICES, coerce=int, empty_value=None, required=False
    )


class RoleCreateForm(ServiceModelForm):
    tags = TagsField(label="Tags")
    service_field_names = _ROLE_NAMES
    session_expiration_sec = _session_field()

    class Meta:
        model = Role
        fields = ("account", "name", "role_type", "session_expiration_sec", "description", "tags")

    # Single Sign-On roles are offered too: Ncloud Single Sign-On is not part of this service, so staff stand in for
    # it here (the API refuses to create, change or delete them).


class RoleChangeForm(ServiceModelForm):
    tags = TagsField(label="Tags")
    service_field_names = _ROLE_NAMES
    session_expiration_sec = _session_field()

    class Meta:
        model = Role
        fields = ("name", "active", "session_expiration_sec", "description", "tags")


_SERVER_NAMES = {
    "serverName": "name",
    "serverInstanceNo": "server_instance_no",
    "privateIp": "private_ip",
    "publicIp": "public_ip",
    "roleNo": "role",
    "serverInstanceNoList": "role",
}


class ServerCreateForm(ServiceModelForm):
    """A server registered by staff; its metadata token is shown once after saving."""

    tags = TagsField(label="Tags")
    service_field_names = _SERVER_NAMES

    class Meta:
        model = Server
        fields = ("account", "server_instance_no", "name", "private_ip", "public_ip", "tags")


class ServerChangeForm(ServiceModelForm):
    """A server's name, addresses, tags and role (a Server role of its own account, or none)."""

    tags = TagsField(label="Tags")
    service_field_names = _SERVER_NAMES

    class Meta:
        model = Server
        fields = ("name", "private_ip", "public_ip", "role", "tags")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "role" in self.fields and self.instance.pk:
            self.fields["role"].queryset = Role.objects.filter(
                account_id=self.instance.account_id, role_type=Role.SERVER
            ).order_by("name")


# Inline rows ------------------------------------------------------------------------------------------------------


class PolicyAttachmentInlineForm(forms.ModelForm):
    """One attached policy; an existing row can only be removed (detach), not pointed at another policy."""

    class Meta:
        model = PolicyAttachment
        fields = ("policy",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["policy"].disabled = True


class GroupMembershipInlineForm(forms.ModelForm):
    """One member of a group; an existing row can only be removed, not pointed at another sub account."""

    class Meta:
        model = GroupMembership
        fields = ("sub_account",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["sub_account"].disabled = True


# The effective permissions page ---------------------------------------------------------------------------------


def _action_choices() -> list:
    return [
        (product, [(f"{a.product}:{a.name}", a.name) for a in catalog.actions_for(product)])
        for product in catalog.PRODUCTS
    ]


def _flat_json_value(value) -> bool:
    scalar = (str, int, float, bool)
    return isinstance(value, scalar) or (isinstance(value, list) and all(isinstance(v, scalar) for v in value))


class PolicySimulatorForm(forms.Form):
    """One request to simulate for a principal: a catalog action, a resource ('*' or an NRN) and context keys."""

    action = forms.ChoiceField(choices=_action_choices)
    resource = forms.CharField(
        label="Resource NRN", max_length=400, initial="*", help_text="'*' or an NRN such as nrn:PUB:IAM::2942:Group/…"
    )
    context = forms.CharField(
        label="Context (JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80, "class": "vLargeTextField"}),
        help_text='Condition keys of the request, e.g. {"ncp:SourceIp": "10.0.0.1", "ncp:MultiFactorAuthPresent": true}',
    )

    def clean_action(self) -> tuple[str, str]:
        product, action = self.cleaned_data["action"].split(":", 1)
        return product, action

    def clean_resource(self) -> str:
        value = self.cleaned_data["resource"].strip()
        if value != "*" and not nrn.is_valid(value):
            raise forms.ValidationError("Enter '*' or an NRN (nrn:PUB:{product}::{memberNo}:{Type}/{id}).")
        return value

    def clean_context(self) -> dict:
        text = self.cleaned_data["context"].strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Enter a valid JSON object: {exc.msg} (line {exc.lineno}).") from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Enter a JSON object of condition keys, e.g. {"ncp:SourceIp": "10.0.0.1"}.')
        bad = [key for key, item in value.items() if not _flat_json_value(item)]
        if bad:
            raise forms.ValidationError(
                f"Values must be strings, numbers, booleans or lists of them: {', '.join(bad)}."
            )
        return value
