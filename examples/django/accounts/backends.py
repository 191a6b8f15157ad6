"""Sign-in against pwreset: django.contrib.auth's login form keeps working,
and the password it checks is the one pwreset holds (imported from Django,
or set through a reset)."""

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.core.exceptions import PermissionDenied

from . import pwreset

log = logging.getLogger(__name__)


class PwresetBackend(BaseBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            # Ask anyway with an id no account has: the same work and the
            # same answer time as for a wrong password.
            user = None
        client_ip = request.META.get("REMOTE_ADDR") if request else None
        try:
            verdict = pwreset.check_password(
                user.pk if user else "no-such-user", password, client_ip
            )
        except pwreset.PwresetUnavailable as e:
            log.error("pwreset unavailable, nobody can sign in: %s", e)
            return None
        if verdict == "throttled":
            # Stops the other backends too; the form says the usual.
            raise PermissionDenied("too many wrong passwords; try again later")
        if verdict is True and user is not None and self.user_can_authenticate(user):
            return user
        return None

    def user_can_authenticate(self, user):
        return getattr(user, "is_active", True)

    def get_user(self, user_id):
        User = get_user_model()
        try:
            user = User.objects.get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
