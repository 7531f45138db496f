// The overview, as a user sees it: with JavaScript off (server-rendered, links) and on
// (hydrated: switching the breakdown fetches data without reloading the page).
import { test, expect } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { hydrated, signIn, watch } from "./session.mjs";

const tileValue = async (page, slug) =>
  Number((await page.locator(`[data-severity="${slug}"]`).textContent()).replace(/,/g, ""));

const scopeSwitch = (page) => page.getByRole("navigation", { name: "Show the breakdown for" });

test.describe("with JavaScript off", () => {
  test.use({ javaScriptEnabled: false });
  test.beforeEach(async ({ page }) => signIn(page));

  test("the server-rendered overview shows the fleet and its links work", async ({ page }) => {
    await page.goto("/");
    await expect(page).toHaveTitle("Overview · Bulwark");
    await expect(page.getByRole("heading", { level: 1, name: "Fleet overview" })).toBeVisible();
    await expect(page.getByRole("heading", { name: "Open findings across the fleet" })).toBeVisible();
    await expect(page.getByRole("rowheader", { name: "prod-eu-west-1" })).toBeVisible();
    await expect(page.getByRole("rowheader", { name: "dev-onprem-lab" })).toBeVisible();
    expect(await tileValue(page, "critical")).toBeGreaterThan(0);
    const fleetHigh = await tileValue(page, "high");
    await expect(page.getByRole("heading", { name: "Latest reports" })).toBeVisible();

    await scopeSwitch(page).getByRole("link", { name: "edge-retail-0417" }).click();
    await expect(page).toHaveURL(/\?cluster=edge-retail-0417$/);
    await expect(page.getByRole("heading", { name: "Open findings in edge-retail-0417" })).toBeVisible();
    await expect(scopeSwitch(page).getByRole("link", { name: "edge-retail-0417" })).toHaveAttribute(
      "aria-current",
      "true",
    );
    expect(await tileValue(page, "high")).toBeLessThan(fleetHigh);
    await page.screenshot({ path: "test-results/overview-nojs.png", fullPage: true });
  });
});

test.describe("with JavaScript on", () => {
  test.beforeEach(async ({ page }) => signIn(page));

  test("the breakdown switches clusters without reloading the page", async ({ page }) => {
    const problems = watch(page);

    await page.goto("/");
    await hydrated(page, problems);
    const fleetHigh = await tileValue(page, "high");
    // survives only if the page is not reloaded
    await page.evaluate(() => (window.__sameDocument = "yes"));

    const fetched = page.waitForResponse((r) => r.url().includes("/rpc/overview/severity"));
    await scopeSwitch(page).getByRole("link", { name: "edge-retail-0417" }).click();
    expect((await fetched).status()).toBe(200);
    await expect(page.getByRole("heading", { name: "Open findings in edge-retail-0417" })).toBeVisible();
    await expect(page).toHaveURL(/\?cluster=edge-retail-0417$/);
    expect(await tileValue(page, "high")).toBeLessThan(fleetHigh);
    expect(await page.evaluate(() => window.__sameDocument)).toBe("yes");

    await scopeSwitch(page).getByRole("link", { name: "All clusters" }).click();
    await expect(page.getByRole("heading", { name: "Open findings across the fleet" })).toBeVisible();
    expect(await tileValue(page, "high")).toBe(fleetHigh);
    expect(await page.evaluate(() => window.__sameDocument)).toBe("yes");

    await page.screenshot({ path: "test-results/overview-hydrated.png", fullPage: true });
    expect(problems).toEqual([]);
  });

  test("a pushed report changes the numbers on the page", async ({ page, request }) => {
    const token = process.env.BULWARK_TOKEN;
    test.skip(!token, "BULWARK_TOKEN not provided");
    await page.goto("/?cluster=edge-retail-0417");
    const before = await tileValue(page, "critical");
    const report = {
      SchemaVersion: 2,
      ArtifactName: "ghcr.io/acme/kiosk:0.1.0",
      ArtifactType: "container_image",
      Results: [
        {
          Target: "ghcr.io/acme/kiosk:0.1.0 (debian 12.1)",
          Type: "debian",
          Vulnerabilities: [
            { VulnerabilityID: "CVE-2024-45490", PkgName: "libexpat1", InstalledVersion: "2.5.0-1", Severity: "CRITICAL" },
            { VulnerabilityID: "CVE-2023-45853", PkgName: "zlib1g", InstalledVersion: "1:1.2.13.dfsg-1", Severity: "CRITICAL" },
          ],
        },
      ],
    };
    const response = await request.post("/api/v1/ingest/trivy", {
      headers: { Authorization: `Bearer ${token}` },
      data: report,
    });
    expect(response.status()).toBe(201);
    await page.reload();
    expect(await tileValue(page, "critical")).toBe(before + 2);
  });

  test("the overview has no detectable accessibility violations", async ({ page }) => {
    await page.goto("/");
    await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
    const results = await new AxeBuilder({ page }).analyze();
    expect(results.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
  });
});
