"""What a principal can do: every catalog action's decision for a sub account or a role, with the statements
that made it, and a one-request simulator, on an admin page next to the object's change page."""

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from iam.admin.forms import PolicySimulatorForm
from iam.models import Policy
from iam.policy import catalog
from iam.services import simulation


def _outcome(result: dict, names: dict[str, str]) -> dict:
    return {
        "decision": result["decision"],
        "statements": [
            {"name": names.get(m["policyId"], m["policyId"]), "index": m["permissionIndex"], "effect": m["effect"]}
            for m in result["matchedStatements"]
        ],
        "missing": result["missingContextKeys"],
    }


def policy_names(subject: simulation.SimulationSubject) -> dict[str, str]:
    ids = [policy_id for policy_id, _ in subject.policies]
    return dict(Policy.objects.filter(policy_id__in=ids).values_list("policy_id", "name"))


def effective_permissions(
    *, subject: simulation.SimulationSubject, own_nrn: str, own_type: str, names: dict[str, str]
) -> list[dict]:
    """One row per catalog action (both products): the decision on '*' and, for actions on ``own_type`` resources,
    on ``own_nrn``."""
    actions = [(a.product, a.name) for a in catalog.ACTIONS]
    on_star = simulation.simulate(subject=subject, actions=actions, resources=["*"], context={})
    own_actions = [(a.product, a.name) for a in catalog.ACTIONS if own_type in a.resource_types]
    on_own = {}
    if own_actions:
        results = simulation.simulate(subject=subject, actions=own_actions, resources=[own_nrn], context={})
        on_own = {(r["product"], r["action"]): r for r in results}
    rows = []
    for action, star in zip(catalog.ACTIONS, on_star, strict=True):
        own = on_own.get(action.key)
        rows.append(
            {
                "product": action.product,
                "action": action.name,
                "description": action.description,
                "star": _outcome(star, names),
                "own": _outcome(own, names) if own is not None else None,
            }
        )
    return rows


class EffectivePermissionsMixin:
    """Adds ``<id>/permissions/`` (and a link to it on the change page) to the admin of a principal."""

    change_form_template = "admin/iam/change_form_with_permissions.html"
    permissions_template = "admin/iam/effective_permissions.html"

    def permissions_subject(self, obj) -> simulation.SimulationSubject:
        raise NotImplementedError

    def get_urls(self):
        view = self.admin_site.admin_view(self.permissions_view)
        name = f"{self.opts.app_label}_{self.opts.model_name}_permissions"
        # Before the model's own patterns, whose "<path:object_id>/" would take this address too.
        return [path("<path:object_id>/permissions/", view, name=name), *super().get_urls()]

    def permissions_view(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        subject = self.permissions_subject(obj)
        names = policy_names(subject)
        own_type = type(obj).__name__
        rows = effective_permissions(subject=subject, own_nrn=obj.nrn, own_type=own_type, names=names)

        form = PolicySimulatorForm(request.GET if "action" in request.GET else None, initial={"resource": "*"})
        result = None
        if form.is_bound and form.is_valid():
            cd = form.cleaned_data
            (outcome,) = simulation.simulate(
                subject=subject, actions=[cd["action"]], resources=[cd["resource"]], context=cd["context"]
            )
            result = {"product": outcome["product"], "action": outcome["action"], "resource": cd["resource"]}
            result.update(_outcome(outcome, names))

        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "title": f"Effective permissions of {obj}",
            "subtitle": None,
            "own_nrn": obj.nrn,
            "own_type": own_type,
            "rows": rows,
            "allowed_count": sum(1 for row in rows if row["star"]["decision"] == "allowed"),
            "policies": sorted(names.values()),
            "form": form,
            "result": result,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.permissions_template, context)
