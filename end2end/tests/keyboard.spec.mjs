// Keyboard shortcuts once the page is hydrated (app/src/components/shortcuts.rs): j/k move the
// current row of a list, x selects it, Enter opens it, g o / g f / g e go to the overview, the
// findings and the estate, / focuses the search (and keys typed there stay there), ? lists the
// shortcuts in a dialog that Esc closes. Without JavaScript none of it is there.
import { test, expect } from "@playwright/test";
import { analyst, hydrated, signIn, watch } from "./session.mjs";

const current = (page) => page.locator('tr[data-row][aria-current="true"]');
const shortcutsButton = (page) => page.getByRole("button", { name: "Keyboard shortcuts" });

/** Waits until the page is hydrated and the shortcuts are listening (their button shows). */
async function listening(page, problems) {
  await hydrated(page, problems);
  await expect(shortcutsButton(page)).toBeVisible();
}

async function press(page, ...keys) {
  for (const key of keys) await page.keyboard.press(key);
}

test("shortcuts move through the findings, select, open, search and navigate", async ({ page }) => {
  const problems = watch(page);
  await signIn(page, analyst());
  await page.goto("/findings");
  await listening(page, problems);
  const rows = page.getByTestId("findings-table").locator("tr[data-row]");
  expect(await rows.count()).toBeGreaterThan(2);
  await expect(current(page)).toHaveCount(0);

  // j starts at the first row; j j k ends on the second
  await press(page, "j");
  await expect(rows.nth(0)).toHaveAttribute("aria-current", "true");
  await press(page, "j", "j", "k");
  await expect(current(page)).toHaveCount(1);
  await expect(rows.nth(1)).toHaveAttribute("aria-current", "true");
  await expect(rows.nth(1)).toHaveClass(/row-current/);
  await expect(rows.nth(0)).not.toHaveAttribute("aria-current", "true");
  // focus follows, on the row's link
  const link = rows.nth(1).locator("a.finding-title");
  await expect(link).toBeFocused();

  // x toggles the row's checkbox
  const checkbox = rows.nth(1).getByRole("checkbox");
  await press(page, "x");
  await expect(checkbox).toBeChecked();
  await press(page, "x");
  await expect(checkbox).not.toBeChecked();
  await press(page, "x");
  await expect(checkbox).toBeChecked();

  // Enter opens the current row, also when focus has left its link; a route change in the
  // page (the marker survives), not a reload
  const href = await link.getAttribute("href");
  await page.evaluate(() => {
    window.keyboardMarker = true;
    document.activeElement.blur();
  });
  await press(page, "Enter");
  await expect(page).toHaveURL(/\/findings\/\d+\/\d+$/);
  expect(new URL(page.url()).pathname).toBe(href);
  expect(await page.evaluate(() => window.keyboardMarker)).toBe(true);

  // g f: back to the findings
  await press(page, "g", "f");
  await expect(page).toHaveURL(/\/findings$/);
  await expect(rows.first()).toBeVisible();
  await press(page, "j");
  await expect(rows.nth(0)).toHaveAttribute("aria-current", "true");

  // / focuses the search; keys typed there are text, not shortcuts
  const search = page.getByRole("search", { name: "Search findings" }).getByLabel("Search");
  await press(page, "/");
  await expect(search).toBeFocused();
  await page.keyboard.type("j?");
  await expect(search).toHaveValue("j?");
  await expect(rows.nth(0)).toHaveAttribute("aria-current", "true");
  await expect(rows.nth(1)).not.toHaveAttribute("aria-current", "true");
  const dialog = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await expect(dialog).toBeHidden();

  // ? lists the shortcuts; Esc closes the list
  await page.evaluate(() => document.activeElement.blur());
  await press(page, "?");
  await expect(dialog).toBeVisible();
  for (const what of ["Next row of the list", "Go to the estate", "Search"]) {
    await expect(dialog.getByRole("definition").filter({ hasText: what }).first()).toBeVisible();
  }
  // while it is open, the keys do not reach the page behind it
  await press(page, "j");
  await expect(rows.nth(0)).toHaveAttribute("aria-current", "true");
  await press(page, "Escape");
  await expect(dialog).toBeHidden();
  // opened from its button, focus comes back to the button
  await shortcutsButton(page).click();
  await expect(dialog).toBeVisible();
  await press(page, "Escape");
  await expect(dialog).toBeHidden();
  await expect(shortcutsButton(page)).toBeFocused();

  // g e: the estate; g o: the overview
  await press(page, "g", "e");
  await expect(page).toHaveURL(/\/estate$/);
  await press(page, "g", "o");
  await expect(page).toHaveURL(/\/$/);
  expect(await page.evaluate(() => window.keyboardMarker)).toBe(true);
  expect(problems).toEqual([]);
});

test("j and Enter work in the grouped explorer too", async ({ page }) => {
  const problems = watch(page);
  await signIn(page, analyst());
  await page.goto("/findings?group=image");
  await listening(page, problems);
  const rows = page.getByTestId("groups-table").locator("tr[data-row]");
  await expect(rows.first()).toBeVisible();
  await press(page, "j");
  await expect(rows.nth(0)).toHaveAttribute("aria-current", "true");
  await expect(rows.nth(0).locator("td.artifact a")).toBeFocused();
  await press(page, "Enter");
  await expect(page).toHaveURL(/image=\d+/);
  await expect(page).not.toHaveURL(/group=/);
  expect(problems).toEqual([]);
});

test("without JavaScript there are no shortcuts and no button for them", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, analyst());
  await page.goto("/findings");
  await expect(page.getByTestId("findings-table")).toBeVisible();
  await expect(shortcutsButton(page)).toBeHidden();
  await press(page, "j");
  await expect(current(page)).toHaveCount(0);
  await context.close();
});
