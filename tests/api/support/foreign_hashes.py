"""Prints, as one JSON object, hashes of the password given as the first
argument, made by the libraries people move from: Django's own hashers
(with their default costs), argon2-cffi, passlib and pyca/bcrypt. The tests
import them into pwreset and sign in with the password."""

import json
import sys
import warnings

warnings.simplefilter("ignore")

import argon2
import bcrypt
import django
from django.conf import settings

settings.configure(
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
        "django.contrib.auth.hashers.BCryptPasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ]
)
django.setup()

from django.contrib.auth.hashers import check_password, make_password  # noqa: E402
from passlib.hash import bcrypt as passlib_bcrypt  # noqa: E402
from passlib.hash import pbkdf2_sha256 as passlib_pbkdf2_sha256  # noqa: E402

password = sys.argv[1]
hashes = {
    f"django_{name}": make_password(password, hasher=name)
    for name in ["pbkdf2_sha256", "pbkdf2_sha1", "argon2", "bcrypt_sha256", "bcrypt", "scrypt"]
}
hashes["django_argon2i"] = "argon2$" + argon2.PasswordHasher(type=argon2.Type.I).hash(password)[1:]
hashes["argon2id"] = argon2.PasswordHasher().hash(password)
hashes["argon2i"] = argon2.PasswordHasher(type=argon2.Type.I, time_cost=4, memory_cost=32768).hash(password)
hashes["passlib_pbkdf2_sha256"] = passlib_pbkdf2_sha256.hash(password)
hashes["bcrypt_2b"] = bcrypt.hashpw(password.encode(), bcrypt.gensalt(10)).decode()
hashes["bcrypt_2a"] = bcrypt.hashpw(password.encode(), bcrypt.gensalt(10, prefix=b"2a")).decode()
# pyca/bcrypt writes only $2a$ and $2b$; $2y$ (PHP's) comes from the C
# library's crypt(3), libxcrypt, through passlib.
passlib_bcrypt.set_backend("os_crypt")
hashes["bcrypt_2y"] = passlib_bcrypt.using(ident="2y", rounds=10).hash(password)

# Each is what its own library accepts for this password.
for name, value in hashes.items():
    if name.startswith("django_") and name != "django_argon2i":
        assert check_password(password, value), name
assert argon2.PasswordHasher().verify(hashes["argon2id"], password)
assert passlib_pbkdf2_sha256.verify(password, hashes["passlib_pbkdf2_sha256"])
assert hashes["bcrypt_2y"].startswith("$2y$10$"), hashes["bcrypt_2y"]
print(json.dumps(hashes))
