"""A real SMTP server for pwreset's tests (aiosmtpd), on 127.0.0.1 and a free
port, which it prints as "LISTENING <port>". Each message it accepts is
parsed with Python's own email package and written to OUT_DIR as JSON.

usage: smtp_server.py OUT_DIR BEHAVIOUR [--auth USER:PASSWORD]
                       [--tls implicit|starttls --cert PEM --key PEM]
  ok         accept every message
  busy2      answer 451 to the first two messages, then accept
  reject     answer 550 to every message
  drop-once  drop the connection during the first message, then accept
  slow100    accept every message after 100 ms (a provider's answer time),
             recording only the envelope, connection and time: parsing a
             message costs this one Python thread a few ms, which would make
             the fake, not the client, the limit of a throughput figure
  silent     never answer a message's DATA
  one-per-connection  answer 421 (closing) to a second message on a connection
With --auth, AUTH is required (over plain text: loopback only). With --tls,
the server speaks TLS from the first byte or offers STARTTLS, with the
given certificate.
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import os
import ssl
import time
import warnings

# AUTH over plain text is what these tests mean to do (on loopback only).
warnings.filterwarnings("ignore")
logging.getLogger("mail.log").setLevel(logging.CRITICAL)

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def parsed(content):
    """What a mail client sees of the message (a few ms of CPU each)."""
    message = email.message_from_bytes(content, policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return {
        "from": str(message["From"]),
        "to": str(message["To"]),
        "subject": str(message["Subject"]),
        "message_id": str(message["Message-ID"]),
        "date": str(message["Date"]),
        "content_type": message.get_content_type(),
        "text": text.get_content() if text else None,
        "html": html.get_content() if html else None,
    }


class Handler:
    def __init__(self, out_dir, behaviour):
        self.out_dir = out_dir
        self.behaviour = behaviour
        self.attempts = 0
        self.accepted = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.behaviour == "one-per-connection" and getattr(session, "carried", 0):
            return "421 4.7.0 One message per connection, closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if self.behaviour == "silent":
            await asyncio.Event().wait()
        if self.behaviour == "busy2" and self.attempts <= 2:
            return "451 4.3.0 Try again later"
        if self.behaviour == "reject":
            return "550 5.1.1 Mailbox unavailable"
        if self.behaviour == "slow100":
            await asyncio.sleep(0.1)
        if self.behaviour == "drop-once" and self.attempts == 1:
            server.transport.abort()
            return "421 4.4.2 Connection dropped"
        self.accepted += 1
        session.carried = getattr(session, "carried", 0) + 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "connection": "%s:%s" % session.peer[:2],
            "received_at": time.time(),
            "authenticated": bool(session.authenticated),
        }
        if self.behaviour != "slow100":
            record.update(parsed(envelope.content))
        path = os.path.join(self.out_dir, "%04d.json" % self.accepted)
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 OK queued as test-%d" % self.accepted


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument(
        "behaviour",
        choices=["ok", "busy2", "reject", "drop-once", "slow100", "silent", "one-per-connection"],
    )
    parser.add_argument("--auth")
    parser.add_argument("--tls", choices=["implicit", "starttls"])
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    credentials = args.auth.encode().split(b":", 1) if args.auth else None
    handler = Handler(args.out_dir, args.behaviour)
    context = None
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and [
            auth_data.login,
            auth_data.password,
        ] == credentials
        return AuthResult(success=ok, handled=False)

    def factory():
        return SMTP(
            handler,
            hostname="pwreset-test-smtp",
            authenticator=authenticator if credentials else None,
            auth_required=bool(credentials),
            auth_require_tls=False,
            tls_context=context if args.tls == "starttls" else None,
        )

    loop = asyncio.new_event_loop()
    implicit = context if args.tls == "implicit" else None
    server = loop.run_until_complete(
        loop.create_server(factory, "127.0.0.1", 0, ssl=implicit)
    )
    print("LISTENING %d" % server.sockets[0].getsockname()[1], flush=True)
    loop.run_forever()


if __name__ == "__main__":
    main()
