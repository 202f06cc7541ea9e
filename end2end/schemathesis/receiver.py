"""A webhook receiver for scripts/schemathesis, on 127.0.0.1 only.

POST /ok/…   answers 200        (deliveries succeed)
POST /fail/… answers 500        (deliveries are retried, then fail)
POST /gone/… answers 410        (Signpost disables the webhook at once)
POST /hang/… answers after 600 s (the delivery stays pending)

Writes the port it listens on to the file named by its first argument.
"""

import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        kind = self.path.strip("/").split("/")[0]
        if kind == "hang":
            time.sleep(600)
        status = {"ok": 200, "fail": 500, "gone": 410, "hang": 200}.get(kind, 404)
        body = b'{"received": true}'
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    # Renamed into place, so that a reader never sees a half-written port.
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
