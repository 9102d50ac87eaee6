// Issue 12's browser proof: a buyer at a vending machine, in headless Chromium at a
// phone's size. Started by member_test.go, which runs `f2fpay demo` and provides the
// machine's member page (MEMBER_URL), the service (SERVICE_URL), the machine's
// terminal key (MACHINE_KEY), the sandbox buyer (BUYER_ID), the service's log where
// the development SMS sender writes codes (SERVICE_LOG) and where the screenshots go
// (SCREENSHOTS). The machine's side (post a sale, long-poll it) is plain fetch.
import { chromium } from "playwright-core";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const env = process.env;
for (const k of ["MEMBER_URL", "SERVICE_URL", "MACHINE_KEY", "BUYER_ID", "SERVICE_LOG", "SCREENSHOTS"]) {
  if (!env[k]) { console.error(`${k} is not set; run this through go test ./e2e`); process.exit(2); }
}
const MEMBER = env.MEMBER_URL, SVC = env.SERVICE_URL, BUYER = env.BUYER_ID;
const PHONE = "13800138000", MASKED = "138****8000";

function expect(cond, what) { if (!cond) throw new Error(`expected: ${what}`); }

// ---- the machine: the terminal API ----
let sales = 0;
async function machine(method, path, body) {
  const headers = { Authorization: `Bearer ${env.MACHINE_KEY}` };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    headers["Idempotency-Key"] = `e2e-sale-${Date.now()}-${++sales}`;
  }
  const r = await fetch(SVC + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok) throw new Error(`machine ${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}
// untilPaid long-polls the sale (30 s at a time) until its payment is final.
async function untilPaid(id) {
  for (let i = 0; i < 6; i++) {
    const s = await machine("GET", `/v1/sales/${id}?wait=30s`);
    if (s.payment && ["PAID", "FAILED", "CLOSED", "CANCELLED"].includes(s.payment.state)) return s;
  }
  throw new Error(`sale ${id} never reached a final payment`);
}

// ---- the development SMS sender's lines in the service's log ----
function smsCodes() {
  return [...readFileSync(env.SERVICE_LOG, "utf8").matchAll(/DEV-ONLY sms code.*?sms_code=(\d{6})/g)].map((m) => m[1]);
}
async function nextCode(before) {
  for (let i = 0; i < 50; i++) {
    const codes = smsCodes();
    if (codes.length > before) return codes[codes.length - 1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no SMS code in the service's log");
}

const profile = mkdtempSync(join(tmpdir(), "f2fpay-e2e-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  locale: "zh-CN",
});
const page = context.pages()[0] ?? await context.newPage();
page.setDefaultTimeout(15000);
const consoleErrors = [];
page.on("pageerror", (e) => consoleErrors.push(String(e)));
page.on("console", (m) => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text()); });
// Every authorisation page the browser is shown (a 200), as opposed to passed through (a 302).
const consentPages = [];
page.on("response", (r) => { if (r.url().includes("/oauth/authorize") && r.request().method() === "GET" && r.status() === 200) consentPages.push(r.url()); });

let n = 0;
async function shot(name) {
  n++;
  const file = join(env.SCREENSHOTS, `${String(n).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${file}`);
}
async function step(name, fn) {
  process.stdout.write(`- ${name} … `);
  const t0 = Date.now();
  await fn();
  console.log(`ok (${Date.now() - t0} ms)`);
}
const terminal = new URL(MEMBER).pathname.split("/").pop();

// payInWallet goes from the member's sale page through the one tap, the sandbox
// wallet's tradePay sheet and back to the result page, and returns the order number.
async function payInWallet(prefix, amount) {
  await page.click("#pay");
  await page.waitForURL(`**/m/${terminal}/pay`);
  expect((await page.locator(".amount").innerText()).includes(amount), `the pay page shows ${amount}`);
  const result = await page.locator("#result").getAttribute("href");
  const outTradeNo = result.split("/").pop();
  await shot(`${prefix}-pay`);
  // No AlipayJSBridge in Chromium: the sandbox's wallet page stands in for tradePay.
  await page.click("#wallet");
  await page.waitForURL(`**/wallet/${BUYER}/trades/*/pay?return_url=*`);
  expect((await page.locator("#amount").innerText()).includes(amount), `the wallet asks for ${amount}`);
  await shot(`${prefix}-wallet-tradepay`);
  await page.click('button[value="pay"]');
  await page.waitForURL("**/result?*");
  expect(await page.locator("#result").getAttribute("data-result-code") === "9000", "tradePay's 9000");
  await shot(`${prefix}-wallet-result`);
  // The wallet returns to the merchant's page, as tradePay's callback does.
  await page.click("#return");
  await page.waitForURL(`**/m/${terminal}/orders/${outTradeNo}`);
  await page.locator('#state[data-state="PAID"]').waitFor({ timeout: 20000 });
  await shot(`${prefix}-paid`);
  return outTradeNo;
}

try {
  let sale1;
  await step("the machine offers a sale", async () => {
    sale1 = await machine("POST", "/v1/sales", { amount: "3.50", subject: "可乐 Cola 330ml", expires_in_seconds: 600 });
    expect(sale1.state === "OPEN" && sale1.page_url === MEMBER, `an open sale whose page is ${MEMBER}: ${JSON.stringify(sale1)}`);
  });

  await step("scan: silent authorisation (auth_base) asks which account is signed in", async () => {
    await page.goto(MEMBER);
    await page.waitForURL("**/oauth/authorize?*");
    expect(page.url().includes("scope=auth_base"), "auth_base first");
    await shot("silent-auth-account");
    await page.check(`input[name="buyer_id"][value="${BUYER}"]`);
    await page.click('button[value="allow"]');
  });

  await step("a new buyer: auth_user consent", async () => {
    await page.waitForURL((u) => u.pathname === "/oauth/authorize" && u.search.includes("scope=auth_user"));
    expect(consentPages.length === 2, `two authorisation pages so far, got ${consentPages.length}`);
    await shot("consent-auth-user");
    await page.click('button[value="allow"]');
  });

  await step("the phone page: send a code", async () => {
    await page.waitForURL("**/m/phone");
    expect((await page.locator("h1").innerText()) === "绑定手机号", "the phone page in Chinese");
    await shot("phone");
    await page.fill("#phone", PHONE);
    const before = smsCodes().length;
    await page.click("#send");
    await page.waitForURL("**/m/phone");
    expect((await page.locator("#sent").innerText()).includes(MASKED), "the code went to the masked number");
    await shot("phone-code-sent");
    globalThis.code = await nextCode(before);
  });

  await step("a wrong code is refused, the right one binds", async () => {
    await page.fill("#code", globalThis.code === "000000" ? "111111" : "000000");
    await page.click("#verify");
    expect((await page.locator("#message").innerText()).includes("验证码不正确"), "the wrong code is named");
    await shot("phone-wrong-code");
    await page.fill("#code", globalThis.code);
    await page.click("#verify");
    await page.waitForURL(`**/m/${terminal}`);
    expect((await page.locator("#phone").innerText()) === MASKED, "signed in with the masked phone");
    expect((await page.locator("#amount").innerText()) === "¥3.50", "the machine's sale");
    await shot("bound-sale");
  });

  await step("the same page in English", async () => {
    await page.click("#lang");
    expect((await page.locator("#pay").innerText()) === "Pay with one tap", "English");
    await shot("bound-sale-en");
    await page.click("#lang");
    expect((await page.locator("#pay").innerText()) === "一键支付", "back to Chinese");
  });

  await step("JSAPI pay in the wallet; the machine's long-poll sees PAID", async () => {
    const polled = untilPaid(sale1.id);
    const no = await payInWallet("first", "3.50");
    const s = await polled;
    expect(s.state === "TAKEN" && s.payment.state === "PAID" && s.payment.out_trade_no === no && s.payment.total_amount === "3.50",
      `the machine sees its sale PAID: ${JSON.stringify(s)}`);
  });

  let sale2;
  await step("a second visit signs in silently", async () => {
    sale2 = await machine("POST", "/v1/sales", { amount: "2.00", subject: "矿泉水 Water", expires_in_seconds: 600 });
    // A new visit: the service's session is gone (another day, another browser tab
    // of the Alipay app), the wallet still knows who is signed in.
    await context.clearCookies({ name: "f2fpay_m" });
    const pagesBefore = consentPages.length;
    await page.goto(MEMBER);
    await page.waitForURL(`**/m/${terminal}`);
    expect(consentPages.length === pagesBefore, "no authorisation page shown: auth_base passed through silently");
    expect(!page.url().includes("/m/phone"), "no phone page: the buyer is known");
    expect((await page.locator("#phone").innerText()) === MASKED, "signed in as the same member");
    expect((await page.locator("#amount").innerText()) === "¥2.00", "the second sale");
    await shot("second-visit-sale");
  });

  await step("one tap pays it", async () => {
    const polled = untilPaid(sale2.id);
    await payInWallet("second", "2.00");
    const s = await polled;
    expect(s.payment.state === "PAID" && s.payment.total_amount === "2.00", `the machine sees PAID: ${JSON.stringify(s)}`);
  });

  await step("nothing left to pay", async () => {
    await page.goto(MEMBER);
    await page.locator("#nothing").waitFor();
    await shot("nothing-to-pay");
  });

  expect(consoleErrors.length === 0, `no JavaScript errors, got ${consoleErrors.join("; ")}`);
  console.log("all steps passed");
} catch (e) {
  console.log("FAILED");
  console.error(e.stack || String(e));
  try { await shot("failure"); } catch {}
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
