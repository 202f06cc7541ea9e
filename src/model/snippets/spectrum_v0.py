"""Signpost webhook receiver, scheme spectrum-v0. Python 3.11, standard library only.

Run: SIGNPOST_WEBHOOK_SECRET=<your secret> python3 webhook.py
"""
import hashlib
import hmac
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The secret string's UTF-8 bytes (not hex-decoded).
SECRET = os.environ["SIGNPOST_WEBHOOK_SECRET"].encode()
TOLERANCE_SECONDS = 300  # reject deliveries signed more than 5 minutes away from now
PORT = int(os.environ.get("PORT", "8000"))


def verify(headers, raw_body: bytes) -> bool:
    timestamp = headers.get("X-Spectrum-Timestamp", "")
    signature = headers.get("X-Spectrum-Signature", "")
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    # v0= + hex HMAC-SHA256 of "v0:{timestamp}:{raw body}"
    mac = hmac.new(SECRET, b"v0:" + timestamp.encode() + b":" + raw_body, hashlib.sha256)
    expected = "v0=" + mac.hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode())  # constant time


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
        print("event", self.headers.get("X-Spectrum-Event"),
              "delivery", self.headers.get("X-Signpost-Delivery-Id"), flush=True)
        # ... handle `event` here (quickly; do slow work in the background) ...
        self.reply(204)

    def reply(self, status: int):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
