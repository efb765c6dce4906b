#!/usr/bin/python3
"""A real SMTP server for the notification tests: aiosmtpd (Debian python3-aiosmtpd) on
127.0.0.1, with STARTTLS and AUTH, recording every accepted mail as one JSON line.

  smtp_server.py --port P --out FILE [--cert C --key K] [--mode starttls|plain|smtps]
                 [--user U --password P] [--reject-rcpt ADDR]

  starttls  offers STARTTLS and requires it before MAIL and AUTH (require_starttls), offers
            AUTH PLAIN and LOGIN only under TLS (auth_require_tls);
  plain     offers no STARTTLS; AUTH allowed in plain text (for the loopback rule);
  smtps     TLS from the first byte (implicit TLS), AUTH offered.

Each line of FILE: {"mail_from", "rcpt_tos", "data" (the message as received, after
un-dot-stuffing), "tls" (bool), "auth_user" (or null)}. Prints "listening on 127.0.0.1:P"
once it accepts connections; runs until SIGTERM. Run it with /usr/bin/python3.
"""

import argparse
import json
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Recorder:
    def __init__(self, out, reject_rcpt):
        self.out = out
        self.reject_rcpt = reject_rcpt
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.reject_rcpt:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.original_content.decode("utf-8", "replace"),
            # session.ssl is set by STARTTLS; implicit TLS shows on the transport.
            "tls": (session.ssl is not None
                    or server.transport.get_extra_info("ssl_object") is not None),
            "auth_user": session.auth_data if session.authenticated else None,
        }
        with self.lock, open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return "250 2.0.0 Message accepted"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--mode", choices=("starttls", "plain", "smtps"), default="starttls")
    parser.add_argument("--user", default="alert")
    parser.add_argument("--password", default="")
    parser.add_argument("--reject-rcpt", default="nobody@example.org")
    args = parser.parse_args()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == args.user.encode()
              and auth_data.password == args.password.encode())
        # What the authenticator hands back is what session.auth_data holds afterwards;
        # handled=False makes aiosmtpd answer a failure with 535 (its default is silence).
        if ok:
            return AuthResult(success=True, auth_data=auth_data.login.decode())
        return AuthResult(success=False, handled=False)

    context = None
    if args.mode != "plain":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
    kwargs = dict(hostname="127.0.0.1", port=args.port, authenticator=authenticator,
                  server_hostname="mail.test")
    if args.mode == "starttls":
        kwargs.update(tls_context=context, require_starttls=True, auth_require_tls=True)
    elif args.mode == "plain":
        kwargs.update(auth_require_tls=False)
    else:
        kwargs.update(ssl_context=context, auth_require_tls=False)
    controller = Controller(Recorder(args.out, args.reject_rcpt), **kwargs)
    controller.start()
    print(f"listening on 127.0.0.1:{args.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
