"""What the system wrote: the audit trail, the outbox and the worker heartbeats. Read-only, except that staff may
send the pending outbox messages now instead of waiting for the relay."""

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from iam import outbox
from iam.admin.base import ReadOnlyAdmin, compact_time
from iam.models import AuditEvent, OutboxMessage, WorkerHeartbeat


def _short_nrn(value: str, limit: int = 48):
    """An NRN's last part (Type/id) for a list column, the whole value on hover; other values as they are."""
    if not value:
        return "-"
    tail = value.rsplit(":", 1)[-1] if value.startswith("nrn:") else value
    short = tail if len(tail) <= limit else f"{tail[: limit - 1]}…"
    return format_html('<span title="{}">{}</span>', value, short)


def _pretty(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True))


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    # The request id and the full NRN are on the event's page (and searchable): the list fits 1,400 px.
    list_display = ("when", "actor_name", "action", "resource_name", "result", "source_ip", "account")
    list_select_related = ("account",)
    list_filter = ("result", "actor_type", "account")
    search_fields = ("actor", "action", "resource", "=request_id")
    date_hierarchy = "time"
    # The trail grows without bound: no second COUNT(*) over the whole table on every page.
    show_full_result_count = False
    fields = (
        "time",
        "account",
        "actor",
        "actor_type",
        "action",
        "resource",
        "result",
        "source_ip",
        "request_id",
        "detail_document",
    )
    readonly_fields = fields

    when = compact_time("time", "time")

    @admin.display(description="actor", ordering="actor")
    def actor_name(self, obj):
        return _short_nrn(obj.actor)

    @admin.display(description="resource", ordering="resource")
    def resource_name(self, obj):
        return _short_nrn(obj.resource)

    @admin.display(description="detail")
    def detail_document(self, obj):
        return _pretty(obj.detail)


class DispatchFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("pending", "Pending"), ("sent", "Sent"))

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(dispatch_time__isnull=True)
        if self.value() == "sent":
            return queryset.filter(dispatch_time__isnull=False)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "task", "args", "create_time", "dispatch_time", "attempts", "last_error")
    list_filter = (DispatchFilter,)
    search_fields = ("task",)
    fields = ("task", "args_document", "kwargs_document", "create_time", "dispatch_time", "attempts", "last_error")
    readonly_fields = fields
    actions = ["send_pending"]

    @admin.display(description="args")
    def args_document(self, obj):
        return _pretty(obj.args)

    @admin.display(description="kwargs")
    def kwargs_document(self, obj):
        return _pretty(obj.kwargs)

    def has_relay_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    @admin.action(description="Send pending now (all pending messages, oldest first)", permissions=["relay"])
    def send_pending(self, request, queryset):
        # The relay sends every pending message, not only the selected ones: order matters more than the selection.
        sent, pending = outbox.relay()
        self.audit(request, None, "Admin:relayOutbox", {"sent": sent, "pending": pending})
        level = messages.SUCCESS if pending == 0 else messages.WARNING
        self.message_user(request, f"Sent {sent} pending message(s); {pending} still pending.", level)


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("name", "beat_time")
    fields = ("name", "beat_time")
    readonly_fields = fields
    ordering = ("-beat_time",)
