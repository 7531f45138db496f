// The overview, as a security manager sees it: every panel server-rendered with JavaScript off,
// the filters in the URL changing every panel (checked number by number against the read API,
// GET /api/v1/overview with a read token made through the tokens form), and the same once
// hydrated (the filter form is a plain GET form either way: the URL is the state).
import { test, expect } from "@playwright/test";
import { hydrated, signIn, watch } from "./session.mjs";

const num = (text) => Number(String(text).replace(/[^0-9.-]/g, ""));

const PANELS = [
  "Posture score",
  "Open findings",
  "SLA breaches",
  "Open findings, 90 days",
  "New vs fixed per week",
  "Open findings by kind",
  /Mean time to remediate, last \d+ days/,
  "Top 10 risks",
  "Clusters with the most risk",
  "Workloads with the most risk",
  "Coverage",
];

const CHARTS = ["posture-donut", "trend", "overdue-trend", "flow", "kinds", "mttr"];

async function expectEveryPanel(page) {
  for (const name of PANELS) {
    await expect(page.getByRole("heading", { level: 2, name, exact: typeof name === "string" })).toBeVisible();
  }
  for (const id of CHARTS) {
    const chart = page.locator(`#${id}`);
    await expect(chart.locator("svg[role=img]")).toHaveCount(1);
    await expect(chart.locator(`svg title#${id}-title`)).toHaveCount(1);
    await expect(chart.locator(`svg desc#${id}-desc`)).toHaveCount(1);
    await expect(chart.locator("details table")).toHaveCount(1);
  }
}

// What the page shows, as numbers, in the shape the read API answers.
async function pageFigures(page) {
  const bySeverity = async (testid) => {
    const out = {};
    for (const s of ["critical", "high", "medium", "low", "unknown"]) {
      const cell = page.locator(`[data-testid=${testid}] [data-severity=${s}]`);
      out[s] = (await cell.count()) ? num(await cell.textContent()) : 0;
    }
    return out;
  };
  const kinds = {};
  for (const cell of await page.locator("[data-testid=open-by-kind] [data-kind]").all()) {
    kinds[await cell.getAttribute("data-kind")] = num(await cell.textContent());
  }
  const firstCells = async (testid, n) =>
    page.locator(`[data-testid=${testid}] tbody tr`).evaluateAll(
      (rows, n) => rows.map((r) => Array.from(r.cells).slice(0, n).map((c) => c.textContent.trim())),
      n,
    );
  return {
    score: num(await page.getByTestId("posture-score").textContent()),
    open: num(await page.getByTestId("open-total").textContent()),
    openBySeverity: await bySeverity("open-by-severity"),
    overdue: num(await page.getByTestId("overdue-total").textContent()),
    overdueBySeverity: await bySeverity("overdue-by-severity"),
    kinds,
    topRisks: (await firstCells("top-risks", 1)).map((r) => num(r[0])),
    worstClusters: (await firstCells("worst-clusters", 1)).map((r) => r[0].split(" ")[0]),
    coverage: await page.locator("[data-testid=coverage] tbody tr").count(),
  };
}

function apiFigures(o) {
  const sev = (counts) => {
    const out = {};
    for (const s of ["critical", "high", "medium", "low", "unknown"]) out[s] = counts[s] ?? 0;
    return out;
  };
  const total = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);
  const overdue = sev(o.overdue);
  delete overdue.unknown;
  const kinds = {};
  for (const k of o.by_kind) kinds[k.kind] = k.now;
  const stale = o.coverage.filter((c) => c.stale).length;
  return {
    score: o.posture.score,
    open: total(sev(o.open)),
    openBySeverity: sev(o.open),
    overdue: total(sev(o.overdue)),
    overdueBySeverity: { ...overdue, unknown: 0 },
    kinds,
    topRisks: o.top_risks.map((r) => r.risk),
    worstClusters: o.worst_clusters.map((c) => c.name),
    coverage: Math.min(o.coverage.length, stale + 10),
  };
}

// A read token made the way a manager makes one: the tokens form, secret shown once.
async function readToken(page) {
  await page.goto("/settings/tokens");
  await page.getByLabel("Name").fill(`e2e-overview-${Date.now()}`);
  await page.getByLabel("May").selectOption("read");
  await page.getByRole("button", { name: "Create token" }).click();
  const secret = (await page.locator("code").first().textContent()).trim();
  expect(secret.length).toBeGreaterThan(20);
  return secret;
}

async function api(request, token, query = "") {
  const response = await request.get(`/api/v1/overview${query}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  expect(response.status()).toBe(200);
  return response.json();
}

for (const javaScriptEnabled of [false, true]) {
  test.describe(`with JavaScript ${javaScriptEnabled ? "on" : "off"}`, () => {
    test.use({ javaScriptEnabled });

    test("every panel renders and a provider changes every panel", async ({ page, request }) => {
      const problems = watch(page);
      await signIn(page);
      const token = await readToken(page);

      await page.goto("/");
      if (javaScriptEnabled) await hydrated(page, problems);
      await expect(page).toHaveTitle("Overview · Bulwark");
      await expectEveryPanel(page);
      if (javaScriptEnabled) {
        // the page's own code (a lazily loaded part of the bundle) hydrated: a chart answers
        // the keyboard with its tooltip
        const plot = page.locator(".chart-plot[tabindex='0']").first();
        await plot.focus();
        await page.keyboard.press("Home");
        await expect(page.locator(".chart-tip")).toHaveCount(1);
        await page.keyboard.press("Escape");
        await expect(page.locator(".chart-tip")).toHaveCount(0);
      }
      const fleet = await pageFigures(page);
      expect(fleet).toEqual(apiFigures(await api(request, token)));
      expect(fleet.open).toBeGreaterThan(0);
      expect(fleet.topRisks.length).toBe(10);

      const filters = page.getByRole("form", { name: "Overview filters" });
      await filters.getByLabel("Provider").selectOption("aws");
      await filters.getByRole("button", { name: "Apply" }).click();
      await expect(page).toHaveURL(/[?&]provider=aws/);
      await expect(page.getByTestId("scope")).toContainText("on aws");
      await expectEveryPanel(page);
      const aws = await pageFigures(page);
      expect(aws).toEqual(apiFigures(await api(request, token, "?provider=aws")));
      // every panel follows the filter
      expect(aws.open).toBeLessThan(fleet.open);
      expect(aws.worstClusters.length).toBeLessThan(fleet.worstClusters.length);
      expect(aws.coverage).toBeLessThan(fleet.coverage);
      if (javaScriptEnabled) {
        await hydrated(page, problems);
        expect(problems).toEqual([]);
      }
    });
  });
}

test("a scoped analyst's overview counts only their cluster", async ({ page }) => {
  await signIn(page, {
    email: process.env.BULWARK_SCOPED_USER,
    password: process.env.BULWARK_PASSWORD,
  });
  await page.goto("/");
  await expect(page.getByTestId("scope")).toContainText("you may see");
  const names = await page.locator("[data-testid=worst-clusters] tbody th").allTextContents();
  for (const name of names) expect(name).toContain("edge-retail-0417");
  const coverage = await page.locator("[data-testid=coverage] tbody th").allTextContents();
  expect(coverage.length).toBeGreaterThan(0);
  for (const name of coverage) expect(name).toBe("edge-retail-0417");
  const options = await page.getByLabel("Cluster").locator("option").allTextContents();
  expect(options).toEqual(["all", "edge-retail-0417"]);
});

test("a pushed report reaches the overview after the rollup", async ({ page, request }) => {
  const token = process.env.BULWARK_TOKEN;
  expect(token, "BULWARK_TOKEN is set by .ci/test").toBeTruthy();
  await signIn(page);
  await page.goto("/?cluster=edge-retail-0417");
  const critical = async () =>
    num(await page.locator("[data-testid=open-by-severity] [data-severity=critical]").textContent());
  const before = await critical();
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
  // the rollup job refreshes the cluster's day within seconds of the ingest
  await expect
    .poll(async () => (await page.reload(), critical()), { timeout: 20_000, intervals: [500, 1000, 2000] })
    .toBe(before + 2);
});
