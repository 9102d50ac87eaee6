// The sandbox's wallet pages in headless Chromium, as a buyer uses them. Started by
// wallet_test.go, which provides a running sandbox (SANDBOX_URL), a merchant that
// charges codes and creates trades through alipay.Client (MERCHANT_URL), a buyer with a
// pay password and a 50.00 password threshold (BUYER_ID, BUYER_PASSWORD), and where the
// screenshots go (SCREENSHOTS). Any failed expectation exits non-zero after a
// screenshot of the page as it was.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const env = process.env;
for (const k of ["SANDBOX_URL", "MERCHANT_URL", "APP_ID", "BUYER_ID", "BUYER_PASSWORD", "SCREENSHOTS"]) {
  if (!env[k]) { console.error(`${k} is not set; run this through go test ./e2e`); process.exit(2); }
}
const S = env.SANDBOX_URL, M = env.MERCHANT_URL, BUYER = env.BUYER_ID, PASSWORD = env.BUYER_PASSWORD;

function expect(cond, what) { if (!cond) throw new Error(`expected: ${what}`); }

async function merchant(path, body) {
  const r = await fetch(M + path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const j = await r.json();
  if (!r.ok) throw new Error(`merchant ${path}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}

const launched = Date.now();
const profile = mkdtempSync(join(tmpdir(), "f2fpay-e2e-chromium-"));
// A fresh profile and the flags this machine needs: no sandbox as root, and nothing
// that reaches for Google's servers (the network is closed).
const context = await chromium.launchPersistentContext(profile, {
  executablePath: env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 390, height: 844 },
  locale: "en-US",
});
const page = context.pages()[0] ?? await context.newPage();
console.log(`Chromium ${context.browser()?.version() ?? ""} started in ${Date.now() - launched} ms`);
page.setDefaultTimeout(15000);
const consoleErrors = [];
page.on("pageerror", (e) => consoleErrors.push(String(e)));
// A 403 page (a wrong password) is a response, not a script error.
page.on("console", (m) => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text()); });

let n = 0;
async function shot(name, fullPage = true) {
  n++;
  const file = join(env.SCREENSHOTS, `${String(n).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage });
  console.log(`screenshot ${file}`);
}
async function step(name, fn) {
  process.stdout.write(`- ${name} … `);
  const t0 = Date.now();
  await fn();
  console.log(`ok (${Date.now() - t0} ms)`);
}

try {
  await step("choose the account", async () => {
    await page.goto(S + "/wallet");
    expect(await page.locator("ul.accounts li").count() === 2, "two accounts listed");
    await shot("accounts");
    await page.click(`a[data-user="${BUYER}"]`);
    await page.waitForURL(`**/wallet/${BUYER}`);
  });

  let code;
  await step("a cashier charges the payment code", async () => {
    const box = page.locator("#paycode");
    code = await box.getAttribute("data-code");
    expect(/^2[5-9]\d{16}$|^30\d{16}$/.test(code), `an 18-digit payment code, got ${code}`);
    expect((await page.locator("#code-digits").innerText()).replace(/\s/g, "") === code, "the digits under the barcode");
    expect(await page.locator("img.barcode").evaluate((i) => i.complete && i.naturalWidth > 300), "the barcode image");
    expect(await page.locator("img.qr").evaluate((i) => i.complete && i.naturalWidth > 150), "the QR image");
    await shot("wallet");
    const paid = await merchant("/pay", { auth_code: code, out_trade_no: "e2e-pay-1", total_amount: "12.50", subject: "拿铁 Latte" });
    expect(paid.status === "PAID", `the cashier's payment is PAID, got ${JSON.stringify(paid)}`);
    await page.waitForSelector('#paycode[data-status="used"]');
    expect((await page.locator("#balance").innerText()) === "¥488.50", "the balance after 12.50 with a 1.00 voucher");
    await shot("code-used", false);
  });

  await step("a new code, then a payment above the threshold asks for the password", async () => {
    await page.click("#new-code");
    await page.waitForFunction((old) => {
      const b = document.getElementById("paycode");
      return b.dataset.status === "valid" && b.dataset.code !== old;
    }, code);
    code = await page.locator("#paycode").getAttribute("data-code");
    const waiting = await merchant("/pay", { auth_code: code, out_trade_no: "e2e-pay-2", total_amount: "88.00", subject: "Team lunch" });
    expect(waiting.status === "WAITING", `10003 above the threshold, got ${JSON.stringify(waiting)}`);
    // The wallet notices the waiting payment and opens the password prompt by itself.
    await page.waitForURL(`**/wallet/${BUYER}/trades/*/pay`);
    expect((await page.locator("#amount").innerText()) === "¥88.00", "the amount on the sheet");
    await shot("password-prompt", false);
    await page.fill('input[name="pay_password"]', "000000");
    await page.click('button[value="pay"]');
    await page.waitForSelector('.error:has-text("Wrong pay password")');
    await shot("wrong-password", false);
    await page.fill('input[name="pay_password"]', PASSWORD);
    await page.click('button[value="pay"]');
    await page.waitForURL("**/result?resultCode=9000");
    expect((await page.locator("#result").getAttribute("data-trade-status")) === "TRADE_SUCCESS", "the trade is paid");
    await shot("paid", false);
    const q = await merchant("/query?out_trade_no=e2e-pay-2");
    expect(q.trade_status === "TRADE_SUCCESS", `trade.query says TRADE_SUCCESS, got ${JSON.stringify(q)}`);
  });

  await step("open a precreate QR link and pay without the password", async () => {
    const { qr_code } = await merchant("/precreate", { out_trade_no: "e2e-qr-1", total_amount: "6.80", subject: "矿泉水 Water" });
    expect(qr_code.startsWith(S + "/qr/"), `the qr_code points at the sandbox: ${qr_code}`);
    await page.goto(qr_code);
    expect((await page.locator(`input[name="buyer_id"][value="${BUYER}"]`).isChecked()), "the wallet's account is preselected");
    await shot("qr-landing", false);
    await page.click('button[type="submit"]');
    await page.waitForURL(`**/wallet/${BUYER}/trades/*/pay`);
    expect(await page.locator('input[name="pay_password"]').count() === 0, "no password under the threshold");
    expect((await page.locator("#subject").innerText()) === "矿泉水 Water", "the subject");
    await shot("qr-pay", false);
    await page.click('button[value="pay"]');
    await page.waitForURL("**/result?resultCode=9000");
  });

  await step("paste a QR code above the threshold", async () => {
    const { qr_code } = await merchant("/precreate", { out_trade_no: "e2e-qr-2", total_amount: "66.00", subject: "Museum tickets ×2" });
    await page.goto(`${S}/wallet/${BUYER}/scan`);
    await page.fill('textarea[name="qr_code"]', qr_code);
    await shot("scan-paste", false);
    await page.click('button[type="submit"]');
    await page.waitForURL(`**/wallet/${BUYER}/trades/*/pay`);
    await page.fill('input[name="pay_password"]', PASSWORD);
    await page.click('button[value="pay"]');
    await page.waitForURL("**/result?resultCode=9000");
  });

  await step("tradePay: cancel (6001), then pay (9000)", async () => {
    const { trade_no } = await merchant("/create", { out_trade_no: "e2e-jsapi-1", total_amount: "9.90", subject: "Vending machine: cola", buyer_id: BUYER });
    const sheet = `${S}/wallet/${BUYER}/trades/${trade_no}/pay`;
    await page.goto(sheet);
    await shot("tradepay", false);
    await page.click('button[value="cancel"]');
    await page.waitForURL("**/result?resultCode=6001");
    expect((await page.locator("#result").getAttribute("data-trade-status")) === "WAIT_BUYER_PAY", "a cancelled sheet leaves the trade open");
    await shot("tradepay-cancelled", false);
    await page.goto(sheet);
    await page.click('button[value="pay"]');
    await page.waitForURL("**/result?resultCode=9000");
    expect((await page.locator("#result-code").innerText()) === "9000", "resultCode 9000");
  });

  await step("OAuth consent: allow, then deny", async () => {
    const link = `${S}/oauth/authorize?` + new URLSearchParams({
      app_id: env.APP_ID, scope: "auth_user", redirect_uri: `${M}/oauth/callback`, state: "e2e-state",
    });
    await page.goto(link);
    expect((await page.locator(`input[name="buyer_id"][value="${BUYER}"]`).isChecked()), "the wallet's account is preselected");
    await shot("oauth-consent");
    await page.click('button[value="allow"]');
    await page.waitForURL(`${M}/oauth/callback?**`);
    const authCode = await page.locator('dd[data-key="auth_code"]').innerText();
    expect(authCode.length >= 16, `an auth_code arrives, got ${authCode}`);
    expect((await page.locator('dd[data-key="state"]').innerText()) === "e2e-state", "state comes back");
    await shot("oauth-callback", false);
    await page.goto(link);
    await page.click('button[value="deny"]');
    await page.waitForURL(`${M}/oauth/callback?**`);
    expect(await page.locator('dd[data-key="auth_code"]').count() === 0, "no auth_code after a refusal");
  });

  await step("history and the merchant console", async () => {
    await page.goto(`${S}/wallet/${BUYER}`);
    expect((await page.locator("#balance").innerText()) === "¥317.80", "the balance after every payment");
    expect(await page.locator("li.trade").count() === 5, "five trades in the history");
    await shot("history");
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${S}/sandbox/ui`);
    expect(await page.locator("tr.trade").count() === 5, "five trades in the console");
    expect(await page.locator("li.notif").count() >= 5, "the notifications");
    await shot("merchant-console");
  });

  expect(consoleErrors.length === 0, `no JavaScript errors, got ${consoleErrors.join("; ")}`);
  console.log("all steps passed");
} catch (e) {
  console.log("FAILED");
  console.error(e.stack || String(e));
  try { await shot("failure"); } catch {}
  process.exitCode = 1;
} finally {
  const closing = Date.now();
  await context.close();
  console.log(`Chromium closed in ${Date.now() - closing} ms`);
  rmSync(profile, { recursive: true, force: true });
}
