"""Writes to standard output what `manage.py dumpdata auth.user` writes for
a small Django project: a user with a password (Django's default hasher),
one without a usable password, and an inactive one. The password is the
first argument. Run with a throwaway SQLite database in a temporary
directory; nothing outside it is touched."""

import io
import os
import sys
import tempfile

import django
from django.conf import settings

database = os.path.join(tempfile.mkdtemp(), "django.sqlite3")
settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}},
    USE_TZ=True,
)
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0)
password = sys.argv[1]
User.objects.create_user("alice", "Alice@Example.com", password)
bob = User.objects.create_user("bob", "bob@example.com")
bob.set_unusable_password()
bob.save()
carol = User.objects.create_user("carol", "carol@example.com", password)
carol.is_active = False
carol.save()
out = io.StringIO()
call_command("dumpdata", "auth.user", indent=2, stdout=out)
sys.stdout.write(out.getvalue())
