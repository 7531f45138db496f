// The light and the dark theme: the header's switch works with JavaScript off (a form the server
// answers with a cookie and a redirect) and on (instant, no reload); the server renders the
// choice into the first byte of the page, so nothing flashes; and every page passes axe with no
// serious or critical violation in either theme. Screenshots of each page in each theme go to
// screenshots/ (git-ignored) for a reviewer.
import { test, expect } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { admin, hydrated, signIn, watch } from "./session.mjs";

// --bg of each palette in style/main.css
const BACKGROUND = { light: "rgb(246, 247, 249)", dark: "rgb(15, 20, 26)" };

const themeSwitch = (page) => page.getByRole("group", { name: "Colour theme" });
const body = (page) => page.locator("body");

test.describe("with JavaScript off", () => {
  test.use({ javaScriptEnabled: false, colorScheme: "light" });

  test("the switch posts the choice and the server renders it on every page", async ({ page, context }) => {
    await signIn(page, admin(), "/findings");
    await expect(themeSwitch(page).getByRole("button", { name: "System" })).toHaveAttribute("aria-pressed", "true");
    await expect(body(page)).toHaveCSS("background-color", BACKGROUND.light);

    await themeSwitch(page).getByRole("button", { name: "Dark" }).click();
    // back on the page it was chosen on, dark, and remembered for a year
    await expect(page).toHaveURL(/\/findings$/);
    await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
    await expect(themeSwitch(page).getByRole("button", { name: "Dark" })).toHaveAttribute("aria-pressed", "true");
    await expect(body(page)).toHaveCSS("background-color", BACKGROUND.dark);
    const cookie = (await context.cookies()).find((c) => c.name === "theme");
    expect(cookie?.value).toBe("dark");
    expect(cookie.sameSite).toBe("Lax");
    expect(cookie.expires * 1000 - Date.now()).toBeGreaterThan(360 * 24 * 3600 * 1000);

    // a reload: the server's first answer is already dark (no script runs on this page at all)
    const response = await page.reload();
    expect(await response.text()).toContain('<html lang="en" data-theme="dark">');
    expect(await response.text()).toContain('<meta name="color-scheme" content="dark">');
    await expect(body(page)).toHaveCSS("background-color", BACKGROUND.dark);
    await page.goto("/");
    await expect(body(page)).toHaveCSS("background-color", BACKGROUND.dark);

    // back to the system's choice: the cookie goes, the attribute too
    await themeSwitch(page).getByRole("button", { name: "System" }).click();
    await expect(page).toHaveURL(/\/$/);
    await expect(page.locator("html")).not.toHaveAttribute("data-theme");
    await expect(body(page)).toHaveCSS("background-color", BACKGROUND.light);
    expect((await context.cookies()).find((c) => c.name === "theme")).toBeUndefined();
  });
});

test.describe("with JavaScript on", () => {
  test.use({ colorScheme: "light" });

  test("the switch changes the theme at once, and a reload keeps it without a flash", async ({ page, context }) => {
    const problems = watch(page);
    const posts = [];
    page.on("request", (r) => r.url().includes("/rpc/theme/set") && posts.push(r.url()));
    await signIn(page);
    await hydrated(page, problems);
    // survives only if the page is not reloaded
    await page.evaluate(() => (window.__sameDocument = "yes"));

    await themeSwitch(page).getByRole("button", { name: "Dark" }).click();
    await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
    await expect(themeSwitch(page).getByRole("button", { name: "Dark" })).toHaveAttribute("aria-pressed", "true");
    await expect(themeSwitch(page).getByRole("button", { name: "System" })).toHaveAttribute("aria-pressed", "false");
    await expect(body(page)).toHaveCSS("background-color", BACKGROUND.dark);
    expect(await page.evaluate(() => window.__sameDocument)).toBe("yes");
    expect(posts).toEqual([]);
    expect((await context.cookies()).find((c) => c.name === "theme")?.value).toBe("dark");

    // the first HTML the server sends after the choice is dark already
    const html = await (await page.request.get("/")).text();
    expect(html).toContain('<html lang="en" data-theme="dark">');
    // and a page whose scripts never run is dark: the colour comes from the server's markup and
    // the stylesheet, not from the bundle
    const bare = await context.newPage();
    await bare.route(/\/pkg\/.*\.(js|wasm)$/, (route) => route.abort());
    await bare.goto("/");
    await expect(bare.locator("html")).toHaveAttribute("data-theme", "dark");
    await expect(bare.locator("body")).toHaveCSS("background-color", BACKGROUND.dark);
    await expect(bare.locator("html")).not.toHaveAttribute("data-hydrated");
    await bare.close();

    await page.reload();
    await hydrated(page, problems);
    await expect(themeSwitch(page).getByRole("button", { name: "Dark" })).toHaveAttribute("aria-pressed", "true");
    await expect(body(page)).toHaveCSS("background-color", BACKGROUND.dark);

    // back to the system's choice, again without a reload
    await page.evaluate(() => (window.__sameDocument = "yes"));
    await themeSwitch(page).getByRole("button", { name: "System" }).click();
    await expect(page.locator("html")).not.toHaveAttribute("data-theme");
    await expect(body(page)).toHaveCSS("background-color", BACKGROUND.light);
    expect(await page.evaluate(() => window.__sameDocument)).toBe("yes");
    expect((await context.cookies()).find((c) => c.name === "theme")).toBeUndefined();
    expect(posts).toEqual([]);
    expect(problems).toEqual([]);
  });

  test("the choice beats the system's preference", async ({ page }) => {
    const problems = watch(page);
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto("/login");
    await hydrated(page, problems);
    await expect(body(page)).toHaveCSS("background-color", BACKGROUND.dark);
    await themeSwitch(page).getByRole("button", { name: "Light" }).click();
    await expect(body(page)).toHaveCSS("background-color", BACKGROUND.light);
    await page.reload();
    await expect(page.locator("html")).toHaveAttribute("data-theme", "light");
    await expect(body(page)).toHaveCSS("background-color", BACKGROUND.light);
    expect(problems).toEqual([]);
  });
});

const pages = [
  { path: "/", name: "overview" },
  { path: "/findings", name: "findings" },
  { path: "/audit", name: "audit" },
  { path: "/settings/tokens", name: "tokens" },
  { path: "/login", name: "login", visitor: true },
];

for (const theme of ["light", "dark"]) {
  test.describe(`in the chosen ${theme} theme`, () => {
    // the system prefers the other theme: what is checked is the reader's choice
    test.use({ colorScheme: theme === "dark" ? "light" : "dark" });

    for (const { path, name, visitor } of pages) {
      test(`${path} has no serious or critical accessibility violation`, async ({ page, context, baseURL }) => {
        const problems = watch(page);
        if (!visitor) await signIn(page);
        await context.addCookies([{ name: "theme", value: theme, url: baseURL }]);
        const response = await page.goto(path);
        expect(await response.text()).toContain(`data-theme="${theme}"`);
        await hydrated(page, problems);
        await expect(body(page)).toHaveCSS("background-color", BACKGROUND[theme]);
        await page.screenshot({ path: `screenshots/${name}-${theme}.png`, fullPage: true });

        // open every table of numbers under a chart, so that axe checks them too
        await page.locator("details").evaluateAll((all) => all.forEach((d) => (d.open = true)));
        const results = await new AxeBuilder({ page }).analyze();
        const serious = results.violations
          .filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
        expect(serious).toEqual([]);
        expect(problems).toEqual([]);
      });
    }
  });
}
