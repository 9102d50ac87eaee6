// The operator console in headless Chromium, as a finance clerk uses it. Started by
// console_test.go, which runs `f2fpay demo` (the real binary: sandbox, engine, SQLite)
// and passes its console (CONSOLE_URL), the owner's login (CONSOLE_LOGIN,
// CONSOLE_PASSWORD) and where the screenshots go (SCREENSHOTS). Any failed expectation
// exits non-zero after a screenshot of the page as it was.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const env = process.env;
for (const k of ["CONSOLE_URL", "CONSOLE_LOGIN", "CONSOLE_PASSWORD", "SCREENSHOTS"]) {
  if (!env[k]) { console.error(`${k} is not set; run this through go test ./e2e`); process.exit(2); }
}
const U = env.CONSOLE_URL;
function expect(cond, what) { if (!cond) throw new Error(`expected: ${what}`); }

const profile = mkdtempSync(join(tmpdir(), "f2fpay-e2e-console-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1280, height: 900 },
  locale: "en-US",
});
const page = context.pages()[0] || await context.newPage();
const errors = [];
page.on("pageerror", (e) => errors.push(String(e)));
// The wrong password's page is a 401 on purpose; Chromium logs it as an error.
page.on("console", (m) => { if (m.type() === "error" && !m.text().includes("status of 401")) errors.push(m.text()); });
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

let step = "start";
try {
  step = "login";
  await page.goto(U + "/");
  expect(page.url().includes("/console/login"), "/ leads to the login page, got " + page.url());
  await page.getByLabel("Login").fill(env.CONSOLE_LOGIN);
  await page.getByLabel("Password").fill("wrong password");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("alert").waitFor();
  expect((await page.getByRole("alert").textContent()).includes("Wrong login or password"), "a wrong password is refused");
  await shot("login");
  await page.getByLabel("Password").fill(env.CONSOLE_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();

  step = "overview";
  await page.waitForURL(U + "/console/");
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
  await shot("orders");

  step = "order";
  await rows.first().getByRole("link").click();
  await page.getByRole("heading", { name: "Timeline" }).waitFor();
  expect(await page.getByRole("cell", { name: "alipay.trade.pay" }).count() >= 1, "the timeline shows trade.pay");

  step = "refund";
  await page.getByLabel("Refund amount (yuan)").fill("8.00");
  await page.getByLabel("Reason").fill("cup arrived broken");
  await page.getByRole("button", { name: "Refund" }).click();
  await page.getByTestId("refund-done").waitFor();
  expect((await page.getByTestId("refund-done").textContent()).includes("Succeeded"), "the refund succeeded");
  expect((await page.getByTestId("refunded").textContent()).includes("8.00"), "the order shows 8.00 refunded");
  await shot("order");

  step = "audit";
  await page.getByRole("link", { name: "Audit log" }).click();
  const entry = page.locator("table.audit tbody tr").filter({ hasText: "cup arrived broken" });
  expect(await entry.count() === 1, "the refund is in the audit log");
  expect((await entry.textContent()).includes(env.CONSOLE_LOGIN), "by the owner");
  await shot("audit");

  step = "language";
  await page.getByRole("link", { name: "中文" }).click();
  await page.getByRole("heading", { name: "操作日志" }).waitFor();
  await shot("audit-zh");

  step = "keyboard";
  await page.goto(U + "/console/");
  await page.keyboard.press("Tab");
  expect(await page.evaluate(() => document.activeElement.classList.contains("skip")), "the first Tab reaches the skip link");

  expect(errors.length === 0, "no script errors or external requests: " + errors.join("; "));
  console.log("console e2e: ok");
} catch (e) {
  console.error(`console e2e failed at ${step}: ${e.message}`);
  await page.screenshot({ path: join(env.SCREENSHOTS, `console-failed-${step}.png`), fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
