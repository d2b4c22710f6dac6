from django.apps import AppConfig


class NetworkConfig(AppConfig):
    name = "lealtad.network"
    label = "network"

    def ready(self):
        from django.contrib import admin

        from lealtad.network import actorcache, signin

        actorcache.connect()  # the API's cached credentials follow every change (any path)

        # The operator's sign-in and password change go through the one sign-in throttle.
        admin.site.login_form = signin.AdminSignInForm
        admin.site.password_change_form = signin.AdminPasswordChangeForm
