"""The whole flow through a client that openapi-python-client generated from
the served /openapi.json (tests/api/generated_client.rs): provision a user,
forgot-password, validate the link, a refused weak password (its problem
body parsed as the document describes it), reset, then a password check.

usage: generated_client_flow.py CLIENT_PARENT_DIR BASE_URL SERVICE_KEY MAIL_DIR
Prints "flow ok" when every step answered as documented; fails otherwise.
"""

import json
import pathlib
import re
import sys
import time

parent, base_url, service_key, mail_dir = sys.argv[1:5]
sys.path.insert(0, parent)

from pwreset_client import AuthenticatedClient, Client  # noqa: E402
from pwreset_client.api.internal import (  # noqa: E402
    check_password_for_sign_in,
    put_user,
)
from pwreset_client.api.reset import (  # noqa: E402
    forgot_password,
    reset_password,
    validate_token,
)
from pwreset_client.models import (  # noqa: E402
    Detail,
    ForgotPasswordBody,
    LinkStatus,
    PasswordCheckBody,
    PasswordMatched,
    Problem,
    ProblemCode,
    PutUserBody,
    ResetPasswordBody,
    UserView,
    ValidateTokenBody,
)

EMAIL = "generated-client@example.com"
NEW_PASSWORD = "correct horse battery staple 42"

public = Client(base_url=base_url, raise_on_unexpected_status=True)
internal = AuthenticatedClient(
    base_url=base_url, token=service_key, raise_on_unexpected_status=True
)


def expect(response, status, model):
    assert response.status_code == status, (response.status_code, response.content)
    assert isinstance(response.parsed, model), (model, response.parsed)
    return response.parsed


user = expect(
    put_user.sync_detailed("gen-1", client=internal, body=PutUserBody(email=EMAIL)),
    201,
    UserView,
)
assert user.id == "gen-1", user

expect(
    forgot_password.sync_detailed(client=public, body=ForgotPasswordBody(email=EMAIL)),
    202,
    Detail,
)

# The worker runs in the service: wait for the email to land in the folder.
token = None
for _ in range(400):
    for path in pathlib.Path(mail_dir).glob("*.json"):
        message = json.loads(path.read_text())
        if message["to"] == EMAIL:
            token = re.search(r"token=([A-Za-z0-9_.-]+)", message["text"]).group(1)
    if token:
        break
    time.sleep(0.05)
assert token, "no reset email arrived"

status = expect(
    validate_token.sync_detailed(client=public, body=ValidateTokenBody(token=token)),
    200,
    LinkStatus,
)
assert status.valid is True

weak = expect(
    reset_password.sync_detailed(
        client=public,
        body=ResetPasswordBody(
            token=token, new_password="password1234", confirm_password="password1234"
        ),
    ),
    400,
    Problem,
)
assert weak.code == ProblemCode.VALIDATION_FAILED, weak
assert weak.status == 400 and weak.type_ == "urn:pwreset:problem:validation_failed", weak
assert weak.errors.additional_properties["new_password"], weak.errors

expect(
    reset_password.sync_detailed(
        client=public,
        body=ResetPasswordBody(
            token=token, new_password=NEW_PASSWORD, confirm_password=NEW_PASSWORD
        ),
    ),
    200,
    Detail,
)

matched = expect(
    check_password_for_sign_in.sync_detailed(
        client=internal, body=PasswordCheckBody(email=EMAIL, password=NEW_PASSWORD)
    ),
    200,
    PasswordMatched,
)
assert matched.user_id == "gen-1", matched
wrong = expect(
    check_password_for_sign_in.sync_detailed(
        client=internal, body=PasswordCheckBody(email=EMAIL, password="not it at all 99")
    ),
    401,
    Problem,
)
assert wrong.code == ProblemCode.INVALID_CREDENTIALS, wrong
print("flow ok")
