// Signpost webhook receiver, scheme standard-webhooks. Node 20, no dependencies.
// Run: SIGNPOST_WEBHOOK_SECRET=whsec_... node webhook.js
const http = require("node:http");
const crypto = require("node:crypto");

const SECRET = process.env.SIGNPOST_WEBHOOK_SECRET;
const TOLERANCE_SECONDS = 300; // reject deliveries signed more than 5 minutes away from now
const PORT = Number(process.env.PORT) || 3000;
if (!SECRET) throw new Error("SIGNPOST_WEBHOOK_SECRET is not set");
// The HMAC key is the base64-decoded part after "whsec_".
const KEY = Buffer.from(SECRET.replace(/^whsec_/, ""), "base64");

function sign(id, timestamp, rawBody) {
  const mac = crypto.createHmac("sha256", KEY).update(`${id}.${timestamp}.`).update(rawBody);
  return "v1," + mac.digest("base64");
}

function verify(headers, rawBody) {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (!id || !/^\d+$/.test(timestamp ?? "") || typeof signatures !== "string") return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) return false;

  const expected = Buffer.from(sign(id, timestamp, rawBody));
  // "v1,<sig> v1,<sig>": two signatures while a secret is being rotated; any may match.
  return signatures.split(" ").some((sig) => {
    const given = Buffer.from(sig);
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
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
    console.log("delivery", req.headers["webhook-id"]);
    // ... handle `event` here (quickly; do slow work in the background) ...
    res.writeHead(204).end();
  });
}).listen(PORT, "127.0.0.1");
