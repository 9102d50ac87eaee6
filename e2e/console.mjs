// The operator console in headless Chromium, as its owner, a finance clerk and a
// read-only user use it. Started by console_test.go, which runs `f2fpay demo` (the
// real binary: sandbox, engine, SQLite) and passes its console (CONSOLE_URL), the
// owner's login (CONSOLE_LOGIN, CONSOLE_PASSWORD), the demo's one-time login link
// (CONSOLE_LINK) and where the screenshots go (SCREENSHOTS). Every page visited is
// checked with axe-core (pinned in package.json); a serious or critical violation
// fails the run. Any failed expectation exits non-zero after a screenshot of the page
// as it was.
import { chromium } from "playwright-core";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const env = process.env;
for (const k of ["CONSOLE_URL", "CONSOLE_LOGIN", "CONSOLE_PASSWORD", "CONSOLE_LINK", "SCREENSHOTS"]) {
  if (!env[k]) { console.error(`${k} is not set; run this through go test ./e2e`); process.exit(2); }
}
const U = env.CONSOLE_URL;
function expect(cond, what) { if (!cond) throw new Error(`expected: ${what}`); }
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const profile = mkdtempSync(join(tmpdir(), "f2fpay-e2e-console-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1280, height: 900 },
  locale: "en-US",
  acceptDownloads: true,
});
const page = context.pages()[0] || await context.newPage();
const errors = [];
page.on("pageerror", (e) => errors.push(String(e)));
// Refusals (401, 403, 409) are answered on purpose below; Chromium logs them as errors.
page.on("console", (m) => { if (m.type() === "error" && !/status of 40[139]/.test(m.text())) errors.push(m.text()); });
// Nothing may come from outside the service: the console must work offline.
page.on("request", (r) => { if (!r.url().startsWith(U)) errors.push("external request: " + r.url()); });

async function shot(name) {
  for (const [size, vp] of [["desktop", { width: 1280, height: 900 }], ["phone", { width: 390, height: 844 }]]) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(150); // the chart redraws at the new size
    await page.screenshot({ path: join(env.SCREENSHOTS, `console-${name}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

// a11y runs axe-core on the page as it is (evaluated through the DevTools protocol,
// which the page's Content-Security-Policy does not govern) and fails on serious or
// critical violations; lesser ones are printed.
const checked = [];
async function a11y(name) {
  if (!(await page.evaluate(() => typeof window.axe !== "undefined"))) await page.evaluate(axeSource);
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = res.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of res.violations.filter((v) => !bad.includes(v))) console.log(`axe ${name}: ${v.impact} ${v.id}: ${v.help}`);
  expect(bad.length === 0, `no serious accessibility violations on ${name}: ` +
    bad.map((v) => `${v.impact} ${v.id} (${v.help}) at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`).join("; "));
  checked.push(name);
}

async function sessionCookie() {
  return (await context.cookies(U)).find((c) => c.name === "f2fpay_session")?.value || "";
}

async function login(name, password) {
  await page.goto(U + "/console/login");
  await page.getByLabel("Login").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(U + "/console/");
}

async function logout() {
  await page.getByRole("button", { name: "Log out" }).click();
  await page.waitForURL(/\/console\/login/);
}

// post sends a form from the page itself (same origin, the session's cookie), the way
// a forged or hand-made request would: the answer's status is what the server decided.
async function post(path, fields) {
  return page.evaluate(async ([p, f]) => {
    const r = await fetch(p, { method: "POST", body: new URLSearchParams(f), redirect: "manual" });
    return r.status;
  }, [path, fields]);
}

async function csrfToken() {
  return page.locator('form[action="/console/logout"] input[name="csrf"]').getAttribute("value");
}

let step = "start";
try {
  step = "login";
  await page.goto(U + "/");
  expect(page.url().includes("/console/login"), "/ leads to the login page, got " + page.url());
  await a11y("login");
  await page.getByLabel("Login").fill(env.CONSOLE_LOGIN);
  await page.getByLabel("Password").fill("wrong password");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("alert").waitFor();
  expect((await page.getByRole("alert").textContent()).includes("Wrong login or password"), "a wrong password is refused");
  await shot("login");

  step = "session fixation";
  // A session id planted in the browser before the login is not the session after it.
  await context.addCookies([{ name: "f2fpay_session", value: "planted-by-an-attacker", url: U }]);
  await page.getByLabel("Password").fill(env.CONSOLE_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(U + "/console/");
  const ownerSession = await sessionCookie();
  expect(ownerSession && ownerSession !== "planted-by-an-attacker", "a new session id after login");

  step = "overview";
  await page.locator('#volume-chart[data-rendered="true"]').waitFor({ timeout: 10000 });
  const drawn = await page.evaluate(() => {
    const c = document.getElementById("volume-chart");
    const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 3; i < px.length; i += 4) if (px[i] > 0) ink++;
    return { ink, w: c.width, h: c.height, bars: window.f2fpayChart.data.datasets[0].data };
  });
  expect(drawn.ink > 1000 && drawn.w > 100, `the chart is drawn (${JSON.stringify(drawn)})`);
  expect(drawn.bars.some((v) => v >= 400), `today's bar holds the demo's 400.34 yuan (${drawn.bars})`);
  expect((await page.getByTestId("today-volume").textContent()).includes("400.34"), "today's volume is 400.34");
  await a11y("overview");
  await shot("overview");

  step = "search";
  await page.getByRole("link", { name: "Orders" }).click();
  await page.getByLabel("State").selectOption("PAID");
  await page.getByLabel("Min amount (yuan)").fill("300");
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForURL(/state=PAID/);
  const rows = page.locator("table.orders tbody tr");
  expect(await rows.count() === 1, `one paid order of at least 300 yuan, got ${await rows.count()}`);
  expect((await rows.first().textContent()).includes("388.00"), "the 388.00 order");
  await a11y("orders");
  await shot("orders");

  step = "export";
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export").click()]);
  const csv = readFileSync(await download.path(), "utf8").replace(/^\uFEFF/, "").trim().split(/\r?\n/);
  expect(csv[0].startsWith("id,out_trade_no,trade_no,created_at"), "the CSV's header: " + csv[0]);
  expect(csv.length === 2 && csv[1].includes(",PAID,388.00,"), "the CSV holds the search's one order: " + csv.join(" | "));

  step = "order";
  await rows.first().getByRole("link").click();
  await page.getByRole("heading", { name: "Timeline" }).waitFor();
  const orderURL = page.url();
  const orderID = orderURL.match(/orders\/(\d+)/)[1];
  expect(await page.getByRole("cell", { name: "alipay.trade.pay" }).count() >= 1, "the gateway calls show trade.pay");
  const timeline = await page.getByTestId("timeline").textContent();
  expect(timeline.includes("Order created") && timeline.includes("alipay.trade.pay") && / ms/.test(timeline), "the timeline lists the calls with their latency");

  step = "refund";
  await page.getByLabel("Refund amount (yuan)").fill("8.00");
  await page.getByLabel("Reason").fill("cup arrived broken");
  await page.getByRole("button", { name: "Refund" }).click();
  await page.getByTestId("refund-done").waitFor();
  expect((await page.getByTestId("refund-done").textContent()).includes("Succeeded"), "the refund succeeded");
  expect((await page.getByTestId("refunded").textContent()).includes("8.00"), "the order shows 8.00 refunded");
  await a11y("order");
  await shot("order");

  step = "staff";
  await page.getByRole("link", { name: "Staff" }).click();
  const created = {};
  for (const [name, role] of [["clerk", "finance"], ["viewer", "readonly"]]) {
    await page.getByLabel("Login", { exact: true }).fill(name);
    await page.getByLabel("Role").selectOption(role);
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByTestId("staff-created").waitFor();
    created[name] = (await page.getByTestId("new-password").textContent()).trim();
  }
  await a11y("staff");
  await shot("staff");

  step = "management";
  await page.getByRole("link", { name: "Merchants" }).click();
  await a11y("merchants");
  await page.getByRole("link", { name: "Demo Coffee" }).click();
  await page.getByRole("heading", { name: "Terminals" }).waitFor();
  const merchantPage = await page.content();
  expect(!/BEGIN (RSA )?PRIVATE KEY/.test(merchantPage), "no private key in the merchant's page");
  await page.getByLabel("Refund approval threshold (yuan)").fill("50.00");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByTestId("done").waitFor();
  await a11y("merchant");
  await shot("merchant");

  step = "approval asked";
  await page.goto(orderURL);
  await page.getByLabel("Refund amount (yuan)").fill("100.00");
  await page.getByLabel("Reason").fill("wrong size, whole box");
  await page.getByRole("button", { name: "Refund" }).click();
  await page.getByTestId("approval-asked").waitFor();
  const id = new URL(page.url()).searchParams.get("approval");
  expect((await page.getByTestId("refunded").textContent()).includes("8.00"), "nothing more refunded before the approval");
  await page.getByRole("link", { name: "Refund approvals" }).click();
  const pending = page.locator("table.approvals tbody tr").filter({ hasText: "wrong size" });
  expect(await pending.count() === 1, "the approvals page lists the refund");
  expect(await pending.getByRole("button", { name: /Approve/ }).count() === 0, "whoever asked gets no Approve button");
  await a11y("approvals");
  await shot("approvals");

  step = "csrf";
  const status = await post(`/console/approvals/${id}/approve`, {});
  expect(status === 403, `a POST without the CSRF token is refused (got ${status})`);
  const self = await post(`/console/approvals/${id}/approve`, { csrf: await csrfToken() });
  expect(self === 409, `the one who asked cannot approve (got ${self})`);

  step = "logout";
  await logout();
  expect(await sessionCookie() === "", "logout clears the session cookie");
  // The old session id is dead on the server too, not only forgotten by the browser.
  await context.addCookies([{ name: "f2fpay_session", value: ownerSession, url: U }]);
  await page.goto(U + "/console/audit");
  expect(page.url().includes("/console/login"), "the logged-out session opens nothing: " + page.url());

  step = "second person approves";
  await login("clerk", created.clerk);
  await page.getByRole("link", { name: "Refund approvals" }).click();
  const row = page.locator("table.approvals tbody tr").filter({ hasText: "wrong size" });
  await row.getByRole("button", { name: /Approve/ }).click();
  await page.getByTestId("refund-done").waitFor();
  expect((await page.getByTestId("refund-done").textContent()).includes("Succeeded"), "the approved refund succeeded");
  expect((await page.getByTestId("refunded").textContent()).includes("108.00"), "the order shows 108.00 refunded");
  await page.getByRole("link", { name: "Reconciliation" }).click();
  await a11y("reconciliation");
  await logout();

  step = "read-only";
  await login("viewer", created.viewer);
  await page.goto(orderURL);
  expect(await page.getByLabel("Refund amount (yuan)").count() === 0, "no refund form for a read-only user");
  const ro = await post(`/console/orders/${orderID}/refund`, { csrf: await csrfToken(), refund_id: "console-e2e-ro", amount: "1.00", reason: "x" });
  expect(ro === 403, `the server refuses a read-only user's refund (got ${ro})`);
  await page.getByRole("link", { name: "Webhooks" }).click();
  expect(await page.locator("table.webhooks tbody tr").count() >= 1, "the webhooks page lists the demo's events");
  await a11y("webhooks");
  await shot("webhooks");
  // Any role reads the vending machines' health (the demo's machine is not described,
  // so the table may say none).
  await page.getByRole("link", { name: "Devices" }).click();
  expect(await page.locator("table.devices").count() === 1, "the devices page shows its table");
  await a11y("devices");
  await shot("devices");
  await logout();

  step = "one-time link";
  await page.goto(env.CONSOLE_LINK);
  await a11y("login link");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(U + "/console/");
  await page.getByRole("link", { name: "Audit log" }).click();
  for (const what of ["wrong size, whole box", "refund approved", "refund approval asked", "orders exported", "one-time link", "CSRF refused"]) {
    expect(await page.locator("table.audit tbody tr").filter({ hasText: what }).count() >= 1, `the audit log shows "${what}"`);
  }
  expect((await page.locator("table.audit tbody tr").filter({ hasText: "refund approved" }).first().textContent()).includes("clerk"), "the approval is the clerk's");
  await a11y("audit");
  await shot("audit");
  await logout();
  await page.goto(env.CONSOLE_LINK);
  await page.getByRole("button", { name: "Log in" }).click();
  expect((await page.content()).includes("used already"), "the link works once");

  step = "language";
  await login(env.CONSOLE_LOGIN, env.CONSOLE_PASSWORD);
  await page.goto(U + "/console/audit");
  await page.getByRole("link", { name: "中文" }).click();
  await page.getByRole("heading", { name: "操作日志" }).waitFor();
  await a11y("audit (zh)");
  await shot("audit-zh");
  await page.goto(U + "/console/");
  await shot("overview-zh");

  step = "keyboard";
  await page.goto(U + "/console/");
  await page.keyboard.press("Tab");
  expect(await page.evaluate(() => document.activeElement.classList.contains("skip")), "the first Tab reaches the skip link");
  await page.keyboard.press("Enter");
  await page.keyboard.press("Tab");
  expect(await page.evaluate(() => document.activeElement.closest("main") !== null), "Enter on the skip link moves into the page's content");

  expect(errors.length === 0, "no script errors or external requests: " + errors.join("; "));
  console.log(`console e2e: ok (axe-core on ${checked.length} pages: ${checked.join(", ")})`);
} catch (e) {
  console.error(`console e2e failed at ${step}: ${e.message}`);
  await page.screenshot({ path: join(env.SCREENSHOTS, `console-failed-${step.replace(/\W+/g, "-")}.png`), fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
