// one-off: screenshots of the overview at scale (not committed)
import { chromium } from "@playwright/test";
const base = process.env.BASE_URL;
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
for (const theme of ["light", "dark"]) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await context.addCookies([{ name: "theme", value: theme, url: base }]);
  const page = await context.newPage();
  await page.goto(`${base}/login?next=/`);
  await page.getByLabel("E-mail address").fill(process.env.U);
  await page.getByLabel("Password").fill(process.env.P);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForSelector("[data-testid=current-user]");
  for (const [name, path] of [["overview", "/"], ["overview-aws", "/?provider=aws"], ["sla", "/settings/sla"], ["findings-overdue", "/findings?sla=overdue"]]) {
    const t0 = Date.now();
    await page.goto(base + path);
    await page.waitForSelector("html[data-hydrated=true]");
    console.log(name, theme, Date.now() - t0, "ms");
    await page.screenshot({ path: `/tmp/shots/${name}-${theme}.png`, fullPage: true });
  }
  await context.close();
}
await browser.close();
