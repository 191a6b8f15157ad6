"""The two calls this app makes to pwreset's internal API, with the standard
library only (no client package to install)."""

import json
import urllib.error
import urllib.request

from django.conf import settings


class PwresetUnavailable(Exception):
    """pwreset did not answer, or answered with something unexpected."""


def _post(path, body, timeout=5):
    request = urllib.request.Request(
        settings.PWRESET_URL + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": "Bearer " + settings.PWRESET_SERVICE_KEY,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"null")
    except (urllib.error.URLError, TimeoutError, ValueError) as e:
        raise PwresetUnavailable(str(e)) from e


def check_password(user_id, password, client_ip=None):
    """Whether `password` is the live account's (POST
    /internal/v1/password-checks). True on a match; False on a wrong
    password, an unknown, disabled or password-less account; "throttled"
    once pwreset's guessing limits are reached."""
    body = {"user_id": str(user_id), "password": password}
    if client_ip:
        body["client_ip"] = client_ip
    status, answer = _post("/internal/v1/password-checks", body)
    if status == 200:
        return answer.get("user_id") == str(user_id)
    if status == 401:
        return False
    if status == 429:
        return "throttled"
    raise PwresetUnavailable(f"password-checks answered {status}: {answer}")


def put_user(user):
    """Creates or updates the user in pwreset (PUT /internal/v1/users/{id}),
    for accounts created after the import."""
    request = urllib.request.Request(
        f"{settings.PWRESET_URL}/internal/v1/users/{user.pk}",
        data=json.dumps({"email": user.email, "disabled": not user.is_active}).encode(),
        method="PUT",
        headers={
            "Content-Type": "application/json",
            "Authorization": "Bearer " + settings.PWRESET_SERVICE_KEY,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code
    except (urllib.error.URLError, TimeoutError) as e:
        raise PwresetUnavailable(str(e)) from e
