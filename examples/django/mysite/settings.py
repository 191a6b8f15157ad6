"""A small Django project, like the one the seed documents, that hands
forgot/reset to pwreset and keeps its passwords there. Everything pwreset
needs is read from the environment (see ../README.md, "Moving a Django app
to pwreset")."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "accounts",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "mysite.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DATABASE", str(BASE_DIR / "db.sqlite3")),
    }
}
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Passwords live in pwreset: the login form asks it (accounts.backends).
# ModelBackend is left out on purpose: once the users are imported, the
# hashes Django still holds are stale and must not sign anyone in.
AUTHENTICATION_BACKENDS = ["accounts.backends.PwresetBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"

# pwreset: where it answers, the service key (SERVICE_API_KEYS=django:<key>),
# the webhook secret (WEBHOOK_SECRET) and this app's own public URL (for the
# return_to, which must be under pwreset's RETURN_TO_ALLOWED).
PWRESET_URL = os.environ.get("PWRESET_URL", "http://127.0.0.1:8080").rstrip("/")
PWRESET_SERVICE_KEY = os.environ.get("PWRESET_SERVICE_KEY", "")
PWRESET_WEBHOOK_SECRET = os.environ.get("PWRESET_WEBHOOK_SECRET", "")
APP_URL = os.environ.get("APP_URL", "http://127.0.0.1:8000").rstrip("/")
