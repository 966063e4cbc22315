"""Account routes under /accounts/: a throttled login, logout and password change.

Self-service password reset is not offered: staff logins are issued by an administrator
(`add_staff`), an intranet deployment has no mail server, and an anonymous form that mails
people is one more page outside the login wall.
"""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.urls import path

from geo_disputes.services.ops import login_throttle


class ThrottledLoginMixin:
    """Refuse a throttled attempt before checking the password; count failures; note successes.

    The rules (per address, per account at an address, per account) are in login_throttle.
    """

    def clean(self):
        username = self.cleaned_data.get("username")
        ip = login_throttle.client_ip(self.request)
        if refusal := login_throttle.refusal(username, ip):
            raise ValidationError(refusal.message(), code="locked")
        try:
            cleaned = super().clean()
        except ValidationError:
            login_throttle.record_failure(username, ip)
            raise
        if self.user_cache is not None:
            login_throttle.record_success(username, ip)
        return cleaned


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


urlpatterns = [
    path("login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]
