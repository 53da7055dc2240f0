import { chromium } from "playwright-core";
const [url, out, width, height, scheme, scrollY, full] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--headless", "--disable-gpu"] });
const ctx = await browser.newContext({ viewport: { width: +width, height: +height }, colorScheme: scheme || "light", javaScriptEnabled: false });
const page = await ctx.newPage();
await page.goto(url, { waitUntil: "load" });
if (+scrollY) await page.mouse.wheel(0, +scrollY);
await page.screenshot({ path: out, fullPage: full === "full" });
await browser.close();
