"""Routes of the sign-in pages and the console (server-rendered; outside the signed API and its schema)."""

from django.urls import path

from iam.console import signin_views, views

urlpatterns = [
    path("signin/", signin_views.choose_account, name="console-choose-account"),
    path("signin/<slug:alias>/", signin_views.password_step, name="console-signin"),
    path("signin/<slug:alias>/mfa", signin_views.mfa_step, name="console-signin-mfa"),
    path("signin/<slug:alias>/mfa/enrol", signin_views.mfa_enrol_step, name="console-signin-mfa-enrol"),
    path("signin/<slug:alias>/password", signin_views.password_change_step, name="console-signin-password"),
    path("console/", views.home, name="console-home"),
    path("console/permissions", views.permissions, name="console-permissions"),
    path("console/password", views.password, name="console-password"),
    path("console/mfa", views.mfa, name="console-mfa"),
    path("console/access-keys", views.access_keys, name="console-access-keys"),
    path("console/roles", views.roles, name="console-roles"),
    path("console/sign-out", views.sign_out, name="console-sign-out"),
]
