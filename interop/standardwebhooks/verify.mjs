// Verifies webhooks with the official Standard Webhooks library, as a merchant's
// Node.js endpoint would. Reads one JSON case per line on stdin:
//   {"secret": "...", "raw": false, "headers": {...}, "body": "..."}
// and writes one JSON line per case: {"ok": true, "payload": {...}} or
// {"ok": false, "error": "..."}. "raw": true passes the secret in the library's raw
// format (its bytes are the key), for secrets not in the whsec_<base64> format.
import { createInterface } from "node:readline";
import { Webhook } from "standardwebhooks";
import { readFileSync } from "node:fs";

const version = JSON.parse(readFileSync(new URL("./node_modules/standardwebhooks/package.json", import.meta.url))).version;

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const c = JSON.parse(line);
  let out;
  try {
    const wh = c.raw ? new Webhook(c.secret, { format: "raw" }) : new Webhook(c.secret);
    out = { ok: true, version, payload: wh.verify(c.body, c.headers) };
  } catch (e) {
    out = { ok: false, version, error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}
