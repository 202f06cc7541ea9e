"""Seeds a fresh Signpost project for scripts/schemathesis, through the HTTP
API, and writes the schemathesis configuration that points the run at what
it made: without real ids, nearly every call would only meet a 404.

Made: webhooks whose deliveries succeed (ok), fail after retries (fail),
disable the webhook at the first answer (gone, 410) and stay pending (hang);
spare webhooks for DELETE to remove; events, a batch, a test send, a
redelivery, a replay and a rotation, so that the answers carry every field.

Environment: SIGNPOST_URL, SIGNPOST_PROJECT_ID, SIGNPOST_PROJECT_SECRET,
RECEIVER_URL. Argument: the path of the configuration file to write.
Nothing random: the run's seed is schemathesis's.
"""

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request

BASE = os.environ["SIGNPOST_URL"].rstrip("/")
PID = os.environ["SIGNPOST_PROJECT_ID"]
SECRET = os.environ["SIGNPOST_PROJECT_SECRET"]
RECEIVER = os.environ["RECEIVER_URL"].rstrip("/")
AUTH = "Basic " + base64.b64encode(f"{PID}:{SECRET}".encode()).decode()

# Distinct URLs for the generated `POST …/webhooks/` calls: an active
# webhook's URL cannot be registered twice (409).
NEW_WEBHOOK_URLS = 300
SPARE_WEBHOOKS = 8


def call(method, path, body=None, headers=None, expect=(200, 202)):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{BASE}/projects/{PID}{path}", data=data, method=method)
    req.add_header("authorization", AUTH)
    if data is not None:
        req.add_header("content-type", "application/json")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            status, raw = res.status, res.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    if status not in expect:
        sys.exit(f"seed: {method} {path} answered {status}: {raw[:500]!r}")
    return json.loads(raw)["data"]


def webhook(kind, name, **fields):
    body = {"webhookUrl": f"{RECEIVER}/{kind}/{name}", "description": f"seed: {kind} {name}", **fields}
    return call("POST", "/webhooks/", body)["id"]


def deliveries(webhook_id, status=None):
    query = f"?limit=200&status={status}" if status else "?limit=200"
    return call("GET", f"/webhooks/{webhook_id}/deliveries{query}")["deliveries"]


def main(out):
    ok = webhook("ok", "main", events=["*"])
    fail = webhook("fail", "main", events=["messages"], ordering="unordered", scheme="standard-webhooks")
    gone = webhook("gone", "main", events=["messages"])
    hang = webhook("hang", "main", events=["messages"])
    spares = [webhook("ok", f"spare-{i}", events=["never"]) for i in range(SPARE_WEBHOOKS)]

    for i in range(3):
        call("POST", "/events", {"event": "messages", "text": f"hello {i}"})
    call("POST", "/events", {"event": "orders.created", "orderId": 7}, headers={"idempotency-key": "seed-1"})
    call("POST", "/events/batch", [{"event": "messages", "n": 1}, {"event": "orders.created", "n": 2}])
    call("POST", f"/webhooks/{ok}/test")

    # Wait until the ok and fail deliveries are done and gone is disabled.
    deadline = time.monotonic() + 30
    while True:
        pending = deliveries(ok, "pending") + deliveries(fail, "pending")
        disabled = not call("GET", f"/webhooks/{gone}")["enabled"]
        if not pending and disabled:
            break
        if time.monotonic() > deadline:
            sys.exit(f"seed: deliveries still pending after 30 s: {[d['id'] for d in pending]}")
        time.sleep(0.2)

    call("POST", f"/deliveries/{deliveries(ok)[0]['id']}/redeliver")
    call("POST", f"/webhooks/{fail}/replay", {"since": 0})
    call("POST", f"/webhooks/{ok}/rotate", {"graceSeconds": 3600})

    webhook_ids = [ok, fail, gone, hang]
    delivery_ids = [d["id"] for w in webhook_ids for d in deliveries(w)]
    urls = [f"{RECEIVER}/ok/generated-{i}" for i in range(NEW_WEBHOOK_URLS)]
    urls += [f"{RECEIVER}/fail/generated", f"{RECEIVER}/gone/generated"]

    def values(items):
        return "[" + ", ".join(json.dumps(v) for v in items) + "]"

    config = f"""# Written by end2end/schemathesis/seed.py for one run of scripts/schemathesis.
[auth.basic]
username = {json.dumps(PID)}
password = {json.dumps(SECRET)}

[parameters]
"path.projectId" = {json.dumps(PID)}

# Repeated query parameters too (`?limit=1&limit=2`).
[phases.coverage]
generate-duplicate-query-parameters = true

[dictionaries.webhook_ids]
values = {values(webhook_ids)}

[dictionaries.spare_webhook_ids]
values = {values(spares)}

[dictionaries.delivery_ids]
values = {values(delivery_ids)}

[dictionaries.webhook_urls]
values = {values(urls)}

[dictionaries.since]
values = {values(["1970-01-01T00:00:00Z", "2026-01-01T00:00:00+01:00"])}

# Mostly the ids made above, sometimes whatever schemathesis makes up.
[[operations]]
include-path-regex = "/webhooks/\\\\{{id\\\\}}"
exclude-method = "DELETE"
parameters = {{ "path.id" = {{ dictionary = "webhook_ids", probability = 0.8 }} }}

[[operations]]
include-path-regex = "/webhooks/\\\\{{id\\\\}}"
include-method = "DELETE"
parameters = {{ "path.id" = {{ dictionary = "spare_webhook_ids", probability = 0.8 }} }}

[[operations]]
include-path-regex = "/deliveries/\\\\{{id\\\\}}"
parameters = {{ "path.id" = {{ dictionary = "delivery_ids", probability = 0.8 }} }}

[[operations]]
include-operation-id = "create_webhook"
parameters = {{ "body.webhookUrl" = {{ dictionary = "webhook_urls", probability = 0.8 }} }}

[[operations]]
include-operation-id = "replay"
parameters = {{ "body.since" = {{ dictionary = "since", probability = 0.7 }} }}
"""
    with open(out, "w") as f:
        f.write(config)
    print(
        f"seed: {len(webhook_ids)} webhooks, {len(spares)} spare ones, {len(delivery_ids)} deliveries",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main(sys.argv[1])
