"""Signpost webhook receiver, scheme standard-webhooks. Python 3.11, standard library only.

Run: SIGNPOST_WEBHOOK_SECRET=whsec_... python3 webhook.py
"""
import base64
import hashlib
import hmac
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The HMAC key is the base64-decoded part after "whsec_".
KEY = base64.b64decode(os.environ["SIGNPOST_WEBHOOK_SECRET"].removeprefix("whsec_"))
TOLERANCE_SECONDS = 300  # reject deliveries signed more than 5 minutes away from now
PORT = int(os.environ.get("PORT", "8000"))


def sign(msg_id: str, timestamp: str, raw_body: bytes) -> str:
    mac = hmac.new(KEY, f"{msg_id}.{timestamp}.".encode() + raw_body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def verify(headers, raw_body: bytes) -> bool:
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not msg_id or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = sign(msg_id, timestamp, raw_body).encode()
    # "v1,<sig> v1,<sig>": two signatures while a secret is being rotated; any may match.
    return any(hmac.compare_digest(expected, sig.encode()) for sig in signatures.split(" "))


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path.split("?")[0] != "/webhook":
            return self.reply(404)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length)  # the raw bytes: verify BEFORE parsing
        if not verify(self.headers, raw_body):
            return self.reply(401)
        try:
            event = json.loads(raw_body)
        except ValueError:
            return self.reply(400)
        print("delivery", self.headers.get("webhook-id"), flush=True)
        # ... handle `event` here (quickly; do slow work in the background) ...
        self.reply(204)

    def reply(self, status: int):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
