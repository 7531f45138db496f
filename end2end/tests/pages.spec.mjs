// Every list page, hydrated, in the light and the dark theme: each renders its heading and its
// table (or the table's empty state) without a browser error, and leaves a screenshot in
// test-results/ for a person to look at.
import { test, expect } from "@playwright/test";
import { hydrated, signIn, watch } from "./session.mjs";

const pages = [
  { path: "/", name: "overview", heading: "Posture" },
  { path: "/findings", name: "findings", heading: "Open findings" },
  { path: "/findings?severity=critical&q=openssl", name: "findings-filtered", heading: "Open findings" },
  { path: "/events", name: "events", heading: "Runtime events" },
  { path: "/audit", name: "audit", heading: "Audit log" },
  { path: "/settings/tokens", name: "tokens", heading: "API tokens" },
  { path: "/account", name: "account", heading: "Your account" },
];

for (const scheme of ["light", "dark"]) {
  test.describe(`in the ${scheme} theme`, () => {
    test.use({ colorScheme: scheme });
    test.beforeEach(async ({ page }) => signIn(page));

    for (const { path, name, heading } of pages) {
      test(`${path} renders without a browser error`, async ({ page }) => {
        const problems = watch(page);
        await page.goto(path);
        await hydrated(page, problems);
        await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
        await page.screenshot({ path: `test-results/${name}-${scheme}.png`, fullPage: true });
        expect(problems).toEqual([]);
      });
    }
  });
}

test("links move between pages in the browser, each page's code loaded when it is first shown", async ({ page }) => {
  await signIn(page);
  const problems = watch(page);
  const wasm = [];
  page.on("request", (r) => r.url().endsWith(".wasm") && wasm.push(new URL(r.url()).pathname));
  await page.goto("/");
  await hydrated(page, problems);
  expect(wasm).toContain("/pkg/bulwark.wasm");
  expect(wasm.some((f) => f.includes("overview_route"))).toBe(true);
  expect(wasm.some((f) => f.includes("findings_route"))).toBe(false);
  // a marker that a full page load would lose
  await page.evaluate(() => (window.stillTheSamePage = true));
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const { link, url, heading, part } of [
    { link: "Findings", url: /\/findings$/, heading: "Open findings", part: "findings_route" },
    { link: "Runtime events", url: /\/events$/, heading: "Runtime events", part: "events_route" },
    { link: "Overview", url: /\/$/, heading: "Posture", part: "overview_route" },
  ]) {
    await nav.getByRole("link", { name: link, exact: true }).click();
    await expect(page).toHaveURL(url);
    await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
    expect(wasm.some((f) => f.includes(part))).toBe(true);
  }
  expect(await page.evaluate(() => window.stillTheSamePage)).toBe(true);
  expect(problems).toEqual([]);
});
