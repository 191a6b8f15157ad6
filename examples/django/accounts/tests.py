"""The whole move, against the real pwreset binary (PWRESET_BIN): an existing
user base dumped and imported, a sign-in with the old password, a reset
through pwreset's hosted pages, a sign-in with the new password, and the
session opened with the old one gone (the signed webhook ended it).

    PWRESET_BIN=/path/to/pwreset python manage.py test accounts
"""

import base64
import html
import io
import json
import os
import pathlib
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client, LiveServerTestCase, override_settings

OLD_PASSWORD = "old correct horse 1987"
NEW_PASSWORD = "new battery staple 2026"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, what, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class MovingToPwreset(LiveServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        binary = os.environ.get("PWRESET_BIN")
        if not binary or not os.access(binary, os.X_OK):
            raise RuntimeError("PWRESET_BIN must name the pwreset binary to test against")
        cls.binary = binary
        cls.dir = pathlib.Path(tempfile.mkdtemp())
        cls.mail = cls.dir / "mail"
        cls.port = free_port()
        cls.pwreset_url = f"http://127.0.0.1:{cls.port}"
        cls.key = secrets.token_urlsafe(32)
        cls.webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        cls.env = {
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": f"sqlite://{cls.dir / 'pwreset.db'}",
            "BIND_ADDR": f"127.0.0.1:{cls.port}",
            "FRONTEND_URL": cls.pwreset_url,
            "MAIL_PROVIDER": "file",
            "MAIL_FILE_DIR": str(cls.mail),
            "SERVICE_API_KEYS": f"django:{cls.key}",
            "WEBHOOK_URLS": cls.live_server_url + "/accounts/pwreset-webhook/",
            "WEBHOOK_SECRET": cls.webhook_secret,
            "RETURN_TO_ALLOWED": cls.live_server_url + "/accounts/",
            "BCRYPT_COST": "10",
            "RUST_LOG": "warn",
        }
        cls.overrides = override_settings(
            PWRESET_URL=cls.pwreset_url,
            PWRESET_SERVICE_KEY=cls.key,
            PWRESET_WEBHOOK_SECRET=cls.webhook_secret,
            APP_URL=cls.live_server_url,
        )
        cls.overrides.enable()
        cls.server = None

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            cls.server.terminate()
            cls.server.wait(timeout=30)
        cls.overrides.disable()
        shutil.rmtree(cls.dir, ignore_errors=True)
        super().tearDownClass()

    def pwreset(self, *args):
        return subprocess.run(
            [self.binary, *args], env=self.env, capture_output=True, text=True, timeout=120
        )

    def serve(self):
        log = open(self.dir / "pwreset.log", "w")
        type(self).server = subprocess.Popen(
            [self.binary, "serve"], env=self.env, stdout=log, stderr=log
        )

        def up():
            try:
                return urllib.request.urlopen(self.pwreset_url + "/readyz", timeout=1).status == 200
            except OSError:
                return False

        wait_until(up, "pwreset to be ready")

    def reset_link(self, to):
        def find():
            for path in self.mail.glob("*.json") if self.mail.exists() else []:
                message = json.loads(path.read_text())
                if message["to"] == to:
                    return re.search(r"https?://\S+/reset-password\?token=\S+", message["text"]).group(0)
            return None

        return wait_until(find, "the reset email")

    def sessions_of(self, user):
        return [
            s
            for s in Session.objects.all()
            if str(s.get_decoded().get("_auth_user_id")) == str(user.pk)
        ]

    def test_import_sign_in_reset_sign_in_again_and_the_old_session_is_gone(self):
        # The existing user base, with Django's own password hashes.
        alice = User.objects.create_user("alice", "alice@example.com", OLD_PASSWORD)
        User.objects.create_user("bob", "bob@example.com", "bobs own password 55")

        # 1. Move it in: dumpdata, then pwreset user import --format django.
        dump = self.dir / "users.json"
        out = io.StringIO()
        call_command("dumpdata", "auth.user", stdout=out)
        dump.write_text(out.getvalue())
        imported = self.pwreset("user", "import", str(dump), "--format", "django")
        self.assertEqual(imported.returncode, 0, imported.stderr)
        self.assertIn("created 2, updated 0, unchanged 0, refused 0", imported.stdout)
        self.serve()

        # 2. The login form signs alice in with her old password, now checked
        # by pwreset (ModelBackend is not configured).
        laptop = Client()
        self.assertFalse(laptop.login(username="alice", password="not her password 1"))
        signed_in = laptop.post(
            "/accounts/login/", {"username": "alice", "password": OLD_PASSWORD}
        )
        self.assertEqual(signed_in.status_code, 302, signed_in.content)
        self.assertEqual(laptop.get("/").status_code, 200)
        self.assertEqual(len(self.sessions_of(alice)), 1)

        # 3. "Forgot your password?" leads to pwreset's hosted page, with the
        # way back to this app's login.
        phone = Client()
        forgot = phone.get("/accounts/forgot/")
        self.assertEqual(forgot.status_code, 302)
        hosted = forgot["Location"]
        self.assertTrue(hosted.startswith(self.pwreset_url + "/forgot-password?"), hosted)
        return_to = urllib.parse.parse_qs(urllib.parse.urlsplit(hosted).query)["return_to"][0]
        self.assertEqual(return_to, self.live_server_url + "/accounts/login/")
        page = urllib.request.urlopen(hosted, timeout=10)
        self.assertEqual(page.status, 200)
        self.assertIn('name="return_to"', page.read().decode())
        sent = self.post_form(
            "/forgot-password", {"email": "alice@example.com", "return_to": return_to}
        )
        self.assertEqual(sent.status, 200)

        # 4. The link from the email, the hosted reset form, and the done
        # page's way back to this app.
        link = self.reset_link("alice@example.com")
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["token"][0]
        self.assertEqual(urllib.request.urlopen(link, timeout=10).status, 200)
        done = self.post_form(
            "/reset-password",
            {"token": token, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
        )
        self.assertEqual(done.status, 200)
        self.assertIn(f'href="{return_to}"', html.unescape(done.read().decode()))

        # 5. The signed password.reset.completed webhook ended the session
        # opened with the old password.
        wait_until(lambda: not self.sessions_of(alice), "the webhook to end alice's sessions")
        self.assertEqual(laptop.get("/").status_code, 302, "the laptop is signed out")

        # 6. The old password no longer signs in; the new one does.
        self.assertFalse(Client().login(username="alice", password=OLD_PASSWORD))
        again = Client()
        self.assertTrue(again.login(username="alice", password=NEW_PASSWORD))
        self.assertEqual(again.get("/").status_code, 200)
        # bob was not touched.
        self.assertTrue(Client().login(username="bob", password="bobs own password 55"))

    def test_a_webhook_without_pwresets_signature_changes_nothing(self):
        alice = User.objects.create_user("alice", "alice@example.com", OLD_PASSWORD)
        session = Client()
        session.force_login(alice, backend="accounts.backends.PwresetBackend")
        body = json.dumps(
            {"type": "password.reset.completed", "data": {"user_id": str(alice.pk)}}
        )
        forged = Client().post(
            "/accounts/pwreset-webhook/",
            body,
            content_type="application/json",
            HTTP_WEBHOOK_ID="msg_1",
            HTTP_WEBHOOK_TIMESTAMP=str(int(time.time())),
            HTTP_WEBHOOK_SIGNATURE="v1," + base64.b64encode(b"x" * 32).decode(),
        )
        self.assertEqual(forged.status_code, 400)
        self.assertEqual(len(self.sessions_of(alice)), 1)

    def post_form(self, path, fields):
        request = urllib.request.Request(
            self.pwreset_url + path,
            data=urllib.parse.urlencode(fields).encode(),
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": self.pwreset_url,
            },
        )
        return urllib.request.urlopen(request, timeout=30)
