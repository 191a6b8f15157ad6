import base64
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.sessions.models import Session
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@login_required
def home(request):
    return HttpResponse(f"Signed in as {request.user.get_username()}.")


def forgot_password(request):
    """The login page's "Forgot your password?": pwreset's hosted page, with
    the way back to this app's login (allowed by RETURN_TO_ALLOWED)."""
    back = settings.APP_URL + reverse("login")
    return redirect(
        f"{settings.PWRESET_URL}/forgot-password?{urlencode({'return_to': back})}"
    )


def _verified(request):
    """The event when its Standard Webhooks signature is pwreset's and fresh."""
    try:
        key = base64.b64decode(settings.PWRESET_WEBHOOK_SECRET.removeprefix("whsec_"))
        msg_id = request.headers["webhook-id"]
        timestamp = request.headers["webhook-timestamp"]
        signatures = request.headers["webhook-signature"].split()
        if abs(time.time() - int(timestamp)) > 300:
            return None
    except (KeyError, ValueError):
        return None
    signed = f"{msg_id}.{timestamp}.".encode() + request.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    if not any(
        hmac.compare_digest(expected, s.split(",", 1)[1])
        for s in signatures
        if s.startswith("v1,")
    ):
        return None
    return json.loads(request.body)


def end_sessions_of(user_id):
    """Signs the user out everywhere: every live session naming them."""
    ended = 0
    for session in Session.objects.filter(expire_date__gte=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user_id):
            session.delete()
            ended += 1
    return ended


@csrf_exempt
@require_POST
def pwreset_webhook(request):
    """pwreset's events. On password.reset.completed the old password is
    gone, so every session opened with it ends (a reset after a stolen
    password must throw the thief out too)."""
    event = _verified(request)
    if event is None:
        return HttpResponseBadRequest("bad signature")
    if event.get("type") == "password.reset.completed":
        end_sessions_of(event["data"]["user_id"])
    # Other events, and a repeat of this one, need nothing more.
    return HttpResponse(status=204)
