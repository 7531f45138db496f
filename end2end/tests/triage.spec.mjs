// The analyst's triage, JavaScript off and on: narrow with a facet, group by image, open a
// finding, accept its risk where the policy asks for approval (it stays open, pending), a
// manager approves it in a second browser, it leaves the open list, and the audit log shows
// both steps. Then a bulk false positive on "all matching", checked in the database, and the
// explorer's (grouped, plain, by last seen) and the finding page's screenshots in both themes.
import { test, expect } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { execFileSync } from "node:child_process";
import { admin, analyst, hydrated, manager, signIn, watch } from "./session.mjs";

/** One number from the e2e database. */
function sql(query) {
  return Number(
    execFileSync("psql", [process.env.BULWARK_E2E_DATABASE_URL, "-tAc", query]).toString().trim(),
  );
}

function inDays(n) {
  const d = new Date(Date.now() + n * 86_400_000);
  return d.toISOString().slice(0, 10);
}

async function total(page) {
  const text = await page.getByTestId("findings-total").locator("strong").textContent();
  return Number(text.replace(/,/g, ""));
}

for (const javaScriptEnabled of [false, true]) {
  test.describe(`with JavaScript ${javaScriptEnabled ? "on" : "off"}`, () => {
    test("an acceptance waits for a manager, then leaves the open list, audited", async ({
      browser,
    }) => {
      const context = await browser.newContext({ javaScriptEnabled });
      const page = await context.newPage();
      const problems = watch(page);
      await signIn(page, analyst());
      await page.goto("/findings");
      if (javaScriptEnabled) await hydrated(page, problems);

      // a facet (high findings need approval under the default policy)
      const facets = page.getByRole("navigation", { name: "Facets" });
      await facets.locator('a[data-facet="severity"][data-value="high"]').click();
      await expect(page).toHaveURL(/severity=high/);
      await expect(page.getByRole("list", { name: "Filters in force" })).toContainText("severity: high");

      // grouped by image, then one image's findings
      const search = page.getByRole("search", { name: "Search findings" });
      await search.getByLabel("Group by").selectOption("image");
      await search.getByRole("button", { name: "Apply" }).click();
      await expect(page).toHaveURL(/group=image/);
      const groups = page.getByTestId("groups-table");
      await expect(groups).toBeVisible();
      await groups.locator("td.artifact a").first().click();
      await expect(page).toHaveURL(/image=\d+/);
      await expect(page).not.toHaveURL(/group=/);

      // the riskiest of them
      const first = page.getByTestId("findings-table").locator("a.finding-title").first();
      await first.click();
      await expect(page).toHaveURL(/\/findings\/\d+\/\d+$/);
      const [, cluster, id] = page.url().match(/\/findings\/(\d+)\/(\d+)$/);
      await expect(page.getByTestId("finding-status")).toHaveText(/open/i);
      if (javaScriptEnabled) await hydrated(page, problems);

      const accept = page.getByRole("form", { name: "Accept the risk" });
      await accept.getByLabel("Justification").fill("Compensating control: WAF rule 913100 (e2e)");
      await accept.getByLabel("Accepted until").fill(inDays(30));
      await accept.getByRole("button", { name: "Accept" }).click();
      await expect(page.getByRole("status").filter({ hasText: "approval" })).toBeVisible();
      // pending: still open, and not counted as accepted
      await expect(page.getByTestId("finding-status")).toHaveText(/open/i);
      expect(sql(`select count(*) from finding where cluster_id = ${cluster} and id = ${id} and status = 'open'`)).toBe(1);
      expect(
        sql(`select count(*) from finding_decision where cluster_id = ${cluster} and finding_id = ${id}
             and decision = 'accepted' and approval = 'pending'`),
      ).toBe(1);

      // the manager approves in a browser of their own
      const managerContext = await browser.newContext({ javaScriptEnabled });
      const managerPage = await managerContext.newPage();
      await signIn(managerPage, manager());
      await managerPage.goto("/approvals");
      const row = managerPage
        .getByRole("row")
        .filter({ has: managerPage.locator(`input[name="decisions[]"][value$=":${await decisionId(cluster, id)}"]`) })
        .first();
      await row.getByRole("button", { name: "Approve" }).click();
      await expect(managerPage.getByRole("status").filter({ hasText: "approved" })).toBeVisible();
      expect(sql(`select count(*) from finding where cluster_id = ${cluster} and id = ${id} and status = 'accepted'`)).toBe(1);

      // it left the open list
      await page.goto(`/findings/${cluster}/${id}`);
      await expect(page.getByTestId("finding-status")).toHaveText(/accepted/i);
      const vulnerability = sql(`select count(*) from finding where cluster_id = ${cluster} and id = ${id} and vulnerability_id is not null`);
      expect(vulnerability).toBe(1);

      // the audit log shows both steps
      const adminContext = await browser.newContext({ javaScriptEnabled });
      const adminPage = await adminContext.newPage();
      await signIn(adminPage, admin());
      await adminPage.goto("/audit?action=finding.accept");
      await expect(adminPage.getByRole("table")).toContainText(analyst().email.split("@")[0]);
      await adminPage.goto("/audit?action=finding.approve");
      await expect(adminPage.getByRole("table")).toContainText(manager().email.split("@")[0]);
      if (javaScriptEnabled) expect(problems).toEqual([]);
      await Promise.all([context.close(), managerContext.close(), adminContext.close()]);
    });
  });
}

/** The newest pending acceptance's id for a finding. */
async function decisionId(cluster, id) {
  return sql(
    `select max(id) from finding_decision where cluster_id = ${cluster} and finding_id = ${id}
     and decision = 'accepted'`,
  );
}

test("a false positive on all matching changes exactly the count the page showed", async ({ page }) => {
  await signIn(page, analyst());
  // a narrow set: the low findings of one image
  const image = sql(
    `select image_id from finding where status in ('open','reopened') and severity = 1
     and image_id is not null group by image_id having count(*) between 2 and 40
     order by image_id limit 1`,
  );
  await page.goto(`/findings?severity=low&image=${image}`);
  const shown = await total(page);
  expect(shown).toBeGreaterThan(1);
  const before = sql(`select count(*) from finding where status = 'false_positive'`);
  await page.getByText("Decide on findings…").click();
  const bar = page.getByRole("form", { name: "Decide on findings" });
  await bar.getByLabel(`All ${shown} matching findings`).check();
  await bar.getByLabel("Decision").selectOption("false_positive");
  await bar.getByLabel("Justification or comment").fill("Not reachable: test image (e2e)");
  await bar.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByRole("status").filter({ hasText: "recorded" })).toBeVisible();
  expect(sql(`select count(*) from finding where status = 'false_positive'`)).toBe(before + shown);
  await expect(page.getByTestId("findings-total").locator("strong")).toHaveText("0");
});

test("the CSV download has as many rows as the page says", async ({ page }) => {
  await signIn(page, analyst());
  await page.goto("/findings?severity=high");
  const shown = await total(page);
  expect(shown).toBeGreaterThan(0);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download CSV" }).click(),
  ]);
  const text = await (await download.createReadStream()).toArray();
  const body = Buffer.concat(text).toString("utf8");
  // records end at a CRLF outside quotes (a quoted cell may hold line breaks)
  let records = 0;
  let quoted = false;
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '"') quoted = !quoted;
    else if (!quoted && body[i] === "\r" && body[i + 1] === "\n") records++;
  }
  expect(records - 1).toBe(shown);
});

test("a keyboard-only walk: search, a facet, a finding", async ({ page }) => {
  await signIn(page, analyst());
  await page.goto("/findings");
  await hydrated(page);
  // from the top of the page, Tab reaches the search field, then the facets
  const search = page.getByRole("search", { name: "Search findings" }).getByLabel("Search");
  await search.focus();
  await page.keyboard.type("openssl");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/q=openssl/);
  // the first severity that selects something
  const facet = page
    .locator('a[data-facet="severity"]')
    .filter({ hasNot: page.locator(".facet-count", { hasText: /^0$/ }) })
    .first();
  await facet.focus();
  await expect(facet).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/severity=/);
  const link = page.getByTestId("findings-table").locator("a.finding-title").first();
  await link.focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/findings\/\d+\/\d+$/);
});

for (const scheme of ["light", "dark"]) {
  test(`screenshots of the explorer and a finding in the ${scheme} theme`, async ({ browser }) => {
    const context = await browser.newContext({ colorScheme: scheme, viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    await signIn(page, analyst());
    await page.goto("/findings?group=image");
    await hydrated(page);
    await page.screenshot({ path: `screenshots/explorer-grouped-${scheme}.png`, fullPage: true });
    await page.goto("/findings");
    await page.screenshot({ path: `screenshots/explorer-${scheme}.png`, fullPage: true });
    // the last-seen order shows its date as the table's last column
    await page.goto("/findings?sort=last_seen");
    await expect(page.getByTestId("findings-table").locator("th").last()).toHaveText("Last seen");
    await page.screenshot({ path: `screenshots/explorer-last-seen-${scheme}.png`, fullPage: true });
    await page.goto("/findings");
    await page.getByTestId("findings-table").locator("a.finding-title").first().click();
    await expect(page).toHaveURL(/\/findings\/\d+\/\d+$/);
    await expect(page.getByTestId("finding-status")).toBeVisible();
    await hydrated(page);
    await page.screenshot({ path: `screenshots/finding-${scheme}.png`, fullPage: true });
    await context.close();
  });
}

// The serious and critical axe violations of the page as it stands, in words.
async function seriousViolations(page) {
  await page.locator("details").evaluateAll((all) => all.forEach((d) => (d.open = true)));
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
}

for (const scheme of ["light", "dark"]) {
  test(`the estate, an image and a finding in the ${scheme} theme: screenshots, no serious axe violation`, async ({ browser }) => {
    const context = await browser.newContext({ colorScheme: scheme, viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const problems = watch(page);
    await signIn(page, analyst());
    await page.goto("/estate");
    await hydrated(page, problems);
    await page.screenshot({ path: `screenshots/estate-${scheme}.png`, fullPage: true });
    expect(await seriousViolations(page)).toEqual([]);

    // a cluster's page lists its namespaces, workloads and their images
    await page.locator('a[href^="/estate?cluster="]').first().click();
    await expect(page).toHaveURL(/\/estate\?cluster=/);
    await hydrated(page, problems);
    await page.screenshot({ path: `screenshots/estate-cluster-${scheme}.png`, fullPage: true });
    expect(await seriousViolations(page)).toEqual([]);
    // an image: "where is it running?" for the riskiest finding's vulnerability links them
    await page.goto("/findings");
    const cve = (await page.getByTestId("findings-table").locator("code").first().textContent()).trim();
    await page.goto(`/findings?q=${encodeURIComponent(cve)}`);
    const image = await page.locator('a[href^="/images/"]').first().getAttribute("href");
    expect(image).toMatch(/^\/images\/\d+$/);
    await page.goto(image);
    await hydrated(page, problems);
    await page.screenshot({ path: `screenshots/image-${scheme}.png`, fullPage: true });
    expect(await seriousViolations(page)).toEqual([]);

    await page.goto("/findings");
    await page.getByTestId("findings-table").locator("a.finding-title").first().click();
    await expect(page).toHaveURL(/\/findings\/\d+\/\d+$/);
    await hydrated(page, problems);
    expect(await seriousViolations(page)).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });
}
