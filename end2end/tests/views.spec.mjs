// Saved views of the findings explorer, JavaScript off and on: an analyst narrows the list,
// saves it as a view shared with the team, a manager (second browser context) finds it in
// their "Views" list and its link shows the same filter and count, and the analyst deletes
// it (checked in the database).
import { test, expect } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { analyst, hydrated, manager, signIn, watch } from "./session.mjs";

/** One number from the e2e database. */
function sql(query) {
  return Number(
    execFileSync("psql", [process.env.BULWARK_E2E_DATABASE_URL, "-tAc", query]).toString().trim(),
  );
}

async function total(page) {
  const text = await page.getByTestId("findings-total").locator("strong").textContent();
  return Number(text.replace(/,/g, ""));
}

for (const javaScriptEnabled of [false, true]) {
  test.describe(`with JavaScript ${javaScriptEnabled ? "on" : "off"}`, () => {
    test("a view shared by an analyst opens the same filter for a manager, then is deleted", async ({
      browser,
    }) => {
      const name = `High by severity (${javaScriptEnabled ? "js" : "no js"} ${Date.now()})`;
      const context = await browser.newContext({ javaScriptEnabled });
      const page = await context.newPage();
      const problems = watch(page);
      await signIn(page, analyst());
      await page.goto("/findings");
      if (javaScriptEnabled) await hydrated(page, problems);

      // narrow: a facet and an order
      const facets = page.getByRole("navigation", { name: "Facets" });
      await facets.locator('a[data-facet="severity"][data-value="high"]').click();
      await expect(page).toHaveURL(/severity=high/);
      // the list of the new filter is on the page (hydrated, the URL changes first)
      await expect(facets.locator('a[data-facet="severity"][data-value="high"]')).toHaveAttribute("aria-current", "true");
      const search = page.getByRole("search", { name: "Search findings" });
      await search.getByLabel("Order").selectOption("severity");
      await search.getByRole("button", { name: "Apply" }).click();
      await expect(page).toHaveURL(/sort=severity/);
      const count = await total(page);

      // save it, shared with the team
      const views = page.getByRole("navigation", { name: "Views" });
      await views.getByText("Save this view", { exact: true }).first().click();
      const save = page.getByRole("form", { name: "Save this view" });
      await save.getByLabel("Name").fill(name);
      await save.getByLabel("Share with the team").check();
      await save.getByRole("button", { name: "Save this view" }).click();
      await expect(page).toHaveURL(/flash=view-saved/);
      await expect(page).toHaveURL(/severity=high/);
      await expect(page.getByRole("status").filter({ hasText: "The view was saved" })).toBeVisible();
      const mine = views.getByRole("link", { name, exact: true });
      await expect(mine).toBeVisible();
      await expect(mine).toHaveAttribute("href", "/findings?severity=high&sort=severity");
      expect(sql(`select count(*) from saved_view where name = '${name}' and shared`)).toBe(1);

      // a manager, in a browser of their own, sees it as shared and its link shows the filter
      const managerContext = await browser.newContext({ javaScriptEnabled });
      const managerPage = await managerContext.newPage();
      const managerProblems = watch(managerPage);
      await signIn(managerPage, manager());
      await managerPage.goto("/findings");
      if (javaScriptEnabled) await hydrated(managerPage, managerProblems);
      const theirs = managerPage.getByRole("navigation", { name: "Views" });
      const shared = theirs.locator("li", { hasText: name });
      await expect(shared).toContainText("shared by");
      await expect(shared.getByRole("button", { name: /Delete/ })).toHaveCount(0);
      await shared.getByRole("link", { name, exact: true }).click();
      await expect(managerPage).toHaveURL(/severity=high/);
      await expect(managerPage).toHaveURL(/sort=severity/);
      await expect(managerPage.getByRole("list", { name: "Filters in force" })).toContainText(
        "severity: high",
      );
      expect(await total(managerPage)).toBe(count);
      expect(managerProblems).toEqual([]);
      await managerContext.close();

      // the analyst deletes it
      await views.getByRole("button", { name: `Delete the view ${name}` }).click();
      await expect(page).toHaveURL(/flash=view-deleted/);
      await expect(page.getByRole("status").filter({ hasText: "The view was deleted" })).toBeVisible();
      await expect(page.getByRole("navigation", { name: "Views" }).getByRole("link", { name })).toHaveCount(0);
      expect(sql(`select count(*) from saved_view where name = '${name}'`)).toBe(0);
      expect(problems).toEqual([]);
      await context.close();
    });
  });
}
