"""A tiny webhook receiver that verifies Standard Webhooks signatures and prints the events.

aidiploma signs every delivery (webhook-id, webhook-timestamp, webhook-signature
"v1,<base64 HMAC-SHA256>"). This receiver checks the signature and the timestamp (5 minute
tolerance) with the `standardwebhooks` package, answers 204, and prints each event once as
a JSON line; a retry of a webhook-id already seen is acknowledged but not printed again. A
bad signature gets 401 and is not printed. During a secret rotation aidiploma sends two
signatures; either one verifies.

Run it (the secret is the whsec_... returned by POST /webhooks/subscriptions):

    pip install standardwebhooks
    WEBHOOK_SECRET=whsec_... python examples/webhook_receiver.py --port 8080

Then subscribe it: POST /webhooks/subscriptions {"url": "https://<host>:8080/", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

MAX_BODY = 1_000_000


def make_handler(webhook: Webhook) -> type[BaseHTTPRequestHandler]:
    seen: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._answer(413)
                return
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                event: Any = webhook.verify(body, headers)
            except WebhookVerificationError as exc:
                print(f"rejected: {exc}", file=sys.stderr, flush=True)
                self._answer(401)
                return
            webhook_id = headers["webhook-id"]
            if webhook_id not in seen:  # retries keep their webhook-id: print once
                seen.add(webhook_id)
                print(json.dumps({"webhook_id": webhook_id, **event}), flush=True)
            self._answer(204)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--secret", default=os.environ.get("WEBHOOK_SECRET"))
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("set --secret or WEBHOOK_SECRET to the subscription's whsec_... secret")
    server = ThreadingHTTPServer((args.host, args.port), make_handler(Webhook(args.secret)))
    print(
        f"listening on http://{args.host}:{server.server_address[1]}/", file=sys.stderr, flush=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
