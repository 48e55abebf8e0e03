"""What every Sub Account admin shares: saves through services, refusals as form errors, and the audit trail.

Every staff change is recorded by ``AuditedAdmin.audit`` as an ``AuditEvent`` (actor ``staff:<username>``, set for
staff requests by ``iam.gateway.middleware.RequestContextMiddleware``). The event is written in the same transaction as the
change, so a save or action the services refuse leaves neither the change nor its event behind.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.db import models, router, transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from iam import audit
from iam.admin import forms as iam_forms
from iam.errors import ServiceError
from iam.models import AccessKey, Account, ConsoleSession, GroupMembership, Policy, PolicyAttachment, SubAccount

SECRET_FIELDS = {
    AccessKey: ("secret_encrypted",),
    SubAccount: ("password", "mfa_secret_encrypted"),
    ConsoleSession: ("token_hash", "pending_mfa_secret_encrypted"),
}

# Form fields that carry a secret: never named in an event's list of changed fields (the reset has its own event).
_PASSWORD_FORM_FIELDS = {"new_password", "generate_password"}

CATALOG = "SubAccount:"


def adopt(obj: models.Model, saved: models.Model) -> None:
    """Copy a service's saved row into the admin's in-memory object, so the admin's log and redirect use it."""
    for field in obj._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


def changes(form, allowed) -> dict:
    return {f: form.cleaned_data[f] for f in form.changed_data if f in allowed}


def compact_time(field: str, description: str | None = None):
    """A list column showing a time as ``2026-01-05 09:12`` (UTC), sortable: long dates would not fit 1,400 px."""

    @admin.display(description=description or field.replace("_", " "), ordering=field, empty_value="-")
    def column(self, obj):
        value = getattr(obj, field)
        if value is None:
            return None
        return format_html(
            '<time datetime="{}">{}</time>', value.isoformat(), timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
        )

    column.__name__ = f"{field}_column"
    return column


def resource_nrn(obj) -> str:
    """The NRN of a row, or "" for rows without one (main accounts, system policies, root keys)."""
    if obj is None:
        return ""
    if isinstance(obj, Policy):
        return obj.nrn_for(obj.account.member_no) if obj.account_id else ""
    if isinstance(obj, AccessKey):
        return obj.sub_account.nrn if obj.sub_account_id else ""
    if isinstance(obj, PolicyAttachment):
        return resource_nrn(obj.target)
    if isinstance(obj, GroupMembership):
        return obj.group.nrn
    return getattr(obj, "nrn", "") or ""


def account_id_of(obj) -> int | None:
    if obj is None:
        return None
    return obj.pk if isinstance(obj, Account) else getattr(obj, "account_id", None)


class AuditedAdmin(admin.ModelAdmin):
    """A model admin whose adds, changes, deletes and actions are recorded in the audit trail.

    ``audit_names`` names the event of each verb (``create``, ``update``, ``delete``); a verb without one is recorded
    as ``Admin:<verb><Model>``. Actions record their own events with ``audit()``.
    """

    audit_names: dict[str, str] = {}

    def audit_name(self, verb: str, obj=None) -> str:
        return self.audit_names.get(verb) or f"Admin:{verb}{self.model.__name__}"

    def audit(self, request, obj, action: str, detail: dict | None = None, *, resource: str | None = None) -> None:
        """Record one staff change of ``obj`` (None: of no account), never with a secret in ``detail``."""
        audit.record(
            account_id=account_id_of(obj),
            action=action,
            resource=resource_nrn(obj) if resource is None else resource,
            detail=detail,
        )

    def audit_note(self, request, **detail) -> None:
        """Detail for the event of the add or change being saved (e.g. ``password="generated"``)."""
        notes = getattr(request, "_iam_audit_notes", None)
        if notes is None:
            notes = request._iam_audit_notes = {}
        notes.update(detail)

    def _take_notes(self, request) -> dict:
        notes = getattr(request, "_iam_audit_notes", None) or {}
        request._iam_audit_notes = {}
        return notes

    # Django's admin log hooks: each one is also an audit event ----------------------------------------------------

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        self.audit(request, obj, self.audit_name("create", obj), self._take_notes(request))
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        fields = sorted(set(getattr(request, "_iam_changed_fields", ())) - _PASSWORD_FORM_FIELDS)
        notes = self._take_notes(request)
        # Only inline rows (recorded one by one) or a password reset (its own event) changed: no update event.
        if fields or notes:
            self.audit(request, obj, self.audit_name("update", obj), {"fields": fields, **notes})
        return entry

    def log_deletions(self, request, queryset):
        # Called before the rows go (so their NRNs can still be built), in the transaction that deletes them.
        entries = super().log_deletions(request, queryset)
        for obj in queryset:
            self.audit(request, obj, self.audit_name("delete", obj), self.deletion_detail(obj))
        return entries

    def deletion_detail(self, obj) -> dict:
        return {"name": str(obj)}

    # Actions ------------------------------------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        if request.method != "POST":
            return super().changelist_view(request, extra_context)
        # Actions (and bulk deletes) are all or nothing: one refusal undoes the batch, its log entries and its events.
        try:
            with transaction.atomic(using=router.db_for_write(self.model)):
                return super().changelist_view(request, extra_context)
        except ServiceError as exc:
            self.message_user(request, f"Nothing was changed: {exc.message}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class ReadOnlyAdmin(AuditedAdmin):
    """Rows written by the system (audit trail, outbox, heartbeats): staff look, nobody edits."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceAdmin(AuditedAdmin):
    """A model admin whose saves and deletes are done by services.

    A service refusal (``ServiceError``) raised while saving rolls the whole save back (the admin's change view
    runs in one transaction) and the form is shown again with the service's errors on it. Messages that reveal a
    secret are queued and only sent once the save has gone through.
    """

    add_form = change_form = None
    add_fieldsets: tuple = ()
    change_fieldsets: tuple = ()
    add_readonly_fields: tuple = ()
    change_readonly_fields: tuple = ()

    # Services ---------------------------------------------------------------------------------------------------

    def service_create(self, request, form) -> models.Model:
        raise NotImplementedError

    def service_update(self, request, obj, form) -> models.Model:
        raise NotImplementedError

    def service_delete(self, request, obj) -> None:
        raise NotImplementedError

    # Forms --------------------------------------------------------------------------------------------------------

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.JSONField):
            kwargs["form_class"] = iam_forms.PrettyJSONField
            if db_field.has_default():
                kwargs["empty_value"] = db_field.get_default()
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.change_fieldsets

    def get_readonly_fields(self, request, obj=None):
        return self.add_readonly_fields if obj is None else self.change_readonly_fields

    def get_inlines(self, request, obj):
        # Inlines act on an existing row through services (attach, add member); there is none yet on the add page.
        return self.inlines if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = self.add_form if obj is None else self.change_form
        if form_class is not None:
            kwargs["form"] = form_class
        form = super().get_form(request, obj, change, **kwargs)
        # modelform_factory made this class for this request only, so setting the attribute touches nothing shared.
        form.service_error = getattr(request, "_iam_service_error", None)
        return form

    # Views --------------------------------------------------------------------------------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        request._iam_announcements = []
        request._iam_audit_notes = {}
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceError as exc:
            if request.method != "POST":
                raise
            # The failed save was rolled back with the view's transaction (its audit events too); render the same
            # form with the errors. The form is invalid this time (it carries the error), so nothing is saved.
            request._iam_announcements = []
            request._iam_audit_notes = {}
            request._iam_service_error = exc
            return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceError as exc:
            self.message_user(request, f"Not deleted: {exc.message}", messages.ERROR)
            return HttpResponseRedirect(
                reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                    args=[quote(object_id)],
                    current_app=self.admin_site.name,
                )
            )

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        self._send_announcements(request)
        return response

    def response_change(self, request, obj):
        response = super().response_change(request, obj)
        self._send_announcements(request)
        return response

    def announce(self, request, text: str) -> None:
        """A message to show once the save has committed (a new secret must not be shown for a rolled-back save)."""
        request._iam_announcements.append(text)

    def _send_announcements(self, request) -> None:
        for text in getattr(request, "_iam_announcements", ()):
            messages.success(request, text)
        request._iam_announcements = []

    # Saving -------------------------------------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        request._iam_changed_fields = list(form.changed_data)
        saved = self.service_update(request, obj, form) if change else self.service_create(request, form)
        adopt(obj, saved)

    def delete_model(self, request, obj):
        self.service_delete(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic(using=router.db_for_write(self.model)):
            for obj in queryset:
                self.service_delete(request, obj)

    def save_formset(self, request, form, formset, change):
        save = getattr(formset, "save_through_services", None)
        if save is None:
            super().save_formset(request, form, formset, change)
            return
        save(formset, form.instance)
        for verb, rows in (("add", formset.new_objects), ("remove", formset.deleted_objects)):
            for row in rows:
                action, detail = inline_event(verb, form.instance, row)
                self.audit(request, form.instance, action, detail)


def inline_event(verb: str, owner, row) -> tuple[str, dict]:
    """The catalog action and detail of adding or removing one inline row (an attachment or a membership)."""
    if isinstance(row, PolicyAttachment):
        kind = type(owner).__name__  # SubAccount, Group or Role
        name = f"addPolicyTo{kind}" if verb == "add" else f"removePolicyFrom{kind}"
        return f"{CATALOG}Change/{name}", {"policyId": row.policy.policy_id, "policyName": row.policy.name}
    if isinstance(row, GroupMembership):
        name = "addSubAccountToGroup" if verb == "add" else "removeSubAccountFromGroup"
        sub_account = row.sub_account
        return f"{CATALOG}Change/{name}", {
            "subAccountId": str(sub_account.sub_account_id),
            "loginId": sub_account.login_id,
        }
    return f"Admin:{verb}{type(row).__name__}", {"name": str(row)}
