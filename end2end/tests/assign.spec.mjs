// Owners, JavaScript off and on: an analyst opens the riskiest open finding, assigns it to the
// manager with the owner picker of its "Decide" card, and sees the owner in the page's header
// and the assignment in its history.
import { test, expect } from "@playwright/test";
import { analyst, hydrated, manager, signIn, watch } from "./session.mjs";

for (const javaScriptEnabled of [false, true]) {
  test.describe(`with JavaScript ${javaScriptEnabled ? "on" : "off"}`, () => {
    test("an analyst assigns a finding to the manager and sees the owner", async ({ browser }) => {
      const context = await browser.newContext({ javaScriptEnabled });
      const page = await context.newPage();
      const problems = watch(page);
      const who = analyst();
      const owner = manager();
      await signIn(page, who);

      await page.goto("/findings");
      await page.getByTestId("findings-table").locator("a.finding-title").first().click();
      await expect(page).toHaveURL(/\/findings\/\d+\/\d+$/);
      if (javaScriptEnabled) await hydrated(page, problems);

      const assign = page.getByRole("form", { name: "Assign an owner" });
      const picker = assign.getByLabel("Owner");
      // the picker offers the manager, who sees every cluster
      await expect(picker.locator("option", { hasText: owner.email })).toHaveCount(1);
      await picker.selectOption({ label: `${owner.email} (Security manager)` });
      await assign.getByRole("button", { name: "Assign" }).click();

      await expect(page.getByTestId("finding-owner")).toContainText(`Owner: ${owner.email}`);
      await expect(page.getByTestId("finding-owner")).toContainText(`assigned by ${who.email}`);
      await expect(
        page.getByTestId("history").getByText(`Assigned to ${owner.email} by ${who.email}`).first(),
      ).toBeVisible();
      expect(problems).toEqual([]);
      await context.close();
    });
  });
}
