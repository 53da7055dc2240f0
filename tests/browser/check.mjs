// Loads pages of the built status site in Debian's Chromium at desktop and phone widths,
// light and dark, takes screenshots with JavaScript off (as a reader without it sees
// the page), and runs axe-core on each in a second tab with script on. Prints one JSON report on stdout; the pytest
// test that runs this decides what fails.
//
// usage: node check.mjs BASE_URL OUT_DIR PAGE...   (PAGE relative to BASE_URL)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const [base, out, ...pages] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const viewports = {
  desktop: { width: 1280, height: 900 },
  phone: { width: 360, height: 740 },
};

// Playwright gives the browser a fresh, temporary --user-data-dir of its own.
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const report = { browser: browser.version(), results: [] };
const t0 = Date.now();
const lap = (what) => process.env.TIMING && process.stderr.write(`${Date.now() - t0} ms ${what}\n`);
// The main page in all four combinations; the others at desktop-light and phone-dark.
const combos = (page) =>
  page === "index.html"
    ? [["desktop", "light"], ["desktop", "dark"], ["phone", "light"], ["phone", "dark"]]
    : [["desktop", "light"], ["phone", "dark"]];
const tabs = new Map();
// What Chromium says when the page's Content-Security-Policy blocks something of it.
const cspViolations = [];
async function tab(kind, name, colorScheme) {
  const key = `${kind} ${name} ${colorScheme}`;
  if (!tabs.has(key)) {
    const context = await browser.newContext({
      viewport: viewports[name],
      colorScheme,
      javaScriptEnabled: kind === "audit",
    });
    const page = await context.newPage();
    page.on("console", (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspViolations.push(`${page.url()}: ${msg.text()}`);
    });
    tabs.set(key, page);
  }
  return tabs.get(key);
}
try {
  for (const page of pages) {
    const url = new URL(page, base).href;
    for (const [name, colorScheme] of combos(page)) {
      // What a reader without JavaScript sees: the screenshot.
      const shot = await tab("plain", name, colorScheme);
      const response = await shot.goto(url, { waitUntil: "load" });
      const file = `${page.replace(/[^a-z0-9]+/gi, "_")}-${name}-${colorScheme}.png`;
      await shot.screenshot({ path: join(out, file), fullPage: true });
      lap(`shot ${page} ${name} ${colorScheme}`);
      // The audit: axe needs script, injected after the page loaded.
      const audited = await tab("audit", name, colorScheme);
      await audited.goto(url, { waitUntil: "load" });
      const scripts = await audited.evaluate(() => document.scripts.length);
      // Evaluated through the DevTools protocol, which the page's CSP does not govern
      // (a script tag would be refused by it, as it should be).
      await audited.evaluate(axeSource);
      const axe = await audited.evaluate(async () => {
        const r = await window.axe.run(document, {
          runOnly: {
            type: "tag",
            values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
          },
        });
        return {
          violations: r.violations.map((v) => ({
            id: v.id,
            impact: v.impact,
            help: v.help,
            nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
          })),
          passes: r.passes.length,
        };
      });
      const overflow = await audited.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      lap("axe");
      report.results.push({
        page,
        viewport: name,
        scheme: colorScheme,
        status: response ? response.status() : 0,
        csp: response ? (response.headers()["content-security-policy"] ?? null) : null,
        scripts,
        overflow,
        screenshot: file,
        ...axe,
      });
    }
  }
} finally {
  await browser.close();
}
report.cspViolations = cspViolations;
process.stdout.write(JSON.stringify(report));
