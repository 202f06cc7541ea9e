// Signpost webhook receiver, scheme spectrum-v0. Node 20, no dependencies.
// Run: SIGNPOST_WEBHOOK_SECRET=<your secret> node webhook.js
const http = require("node:http");
const crypto = require("node:crypto");

const SECRET = process.env.SIGNPOST_WEBHOOK_SECRET; // used as is (UTF-8), not hex-decoded
const TOLERANCE_SECONDS = 300; // reject deliveries signed more than 5 minutes away from now
const PORT = Number(process.env.PORT) || 3000;
if (!SECRET) throw new Error("SIGNPOST_WEBHOOK_SECRET is not set");

function verify(headers, rawBody) {
  const timestamp = headers["x-spectrum-timestamp"];
  const signature = headers["x-spectrum-signature"];
  if (!/^\d+$/.test(timestamp ?? "") || typeof signature !== "string") return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) return false;

  // v0= + hex HMAC-SHA256 of "v0:{timestamp}:{raw body}"
  const expected = "v0=" + crypto.createHmac("sha256", SECRET)
    .update(`v0:${timestamp}:`).update(rawBody).digest("hex");
  const a = Buffer.from(expected);
  const b = Buffer.from(signature);
  return a.length === b.length && crypto.timingSafeEqual(a, b); // constant time
}

http.createServer((req, res) => {
  if (req.method !== "POST" || req.url.split("?")[0] !== "/webhook") {
    return res.writeHead(404).end();
  }
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const rawBody = Buffer.concat(chunks); // the raw bytes: verify BEFORE parsing
    if (!verify(req.headers, rawBody)) return res.writeHead(401).end();

    let event;
    try { event = JSON.parse(rawBody.toString("utf8")); } catch { return res.writeHead(400).end(); }
    console.log("event", req.headers["x-spectrum-event"],
      "delivery", req.headers["x-signpost-delivery-id"]);
    // ... handle `event` here (quickly; do slow work in the background) ...
    res.writeHead(204).end();
  });
}).listen(PORT, "127.0.0.1");
