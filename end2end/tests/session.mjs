// Signing in through the real form, and watching the browser for what must never happen:
// script errors, Content-Security-Policy violations and dialogs (a sign of injected script).
import { expect } from "@playwright/test";

export const admin = () => ({ email: process.env.BULWARK_USER, password: process.env.BULWARK_PASSWORD });
export const analyst = () => ({ email: process.env.BULWARK_ANALYST, password: process.env.BULWARK_PASSWORD });
export const manager = () => ({ email: process.env.BULWARK_MANAGER, password: process.env.BULWARK_PASSWORD });
export const scoped = () => ({
  email: process.env.BULWARK_SCOPED_USER,
  password: process.env.BULWARK_PASSWORD,
});

export async function signIn(page, who = admin(), next = "/") {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel("E-mail address").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("current-user")).toBeVisible();
}

// Collects problems for the whole test; assert `problems` is empty at the end.
export function watch(page) {
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("dialog", async (d) => {
    problems.push(`dialog: ${d.message()}`);
    await d.dismiss();
  });
  return problems;
}

// Waits for hydration; if it does not come, fails with what the browser reported meanwhile.
export async function hydrated(page, problems = []) {
  try {
    await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
    // the frame hydrates first; a lazily loaded page names the document when its own code runs
    await expect(page).toHaveTitle(/\S/);
  } catch (e) {
    throw new Error(`the page did not hydrate; the browser reported: ${JSON.stringify(problems)}\n${e.message}`);
  }
}
