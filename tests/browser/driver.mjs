// driver.mjs: run a short script of steps in Debian's headless Chromium,
// through playwright-core, and print what happened as JSON.
//
//   node driver.mjs SCRIPT.json     (or the script on stdin)
//
// Steps: {"goto": url} {"check": sel} {"uncheck": sel} {"fill": [sel, text]}
// {"click": sel} {"click_text": accessible name} {"expect_text": text}
// {"expect_no_text": text} {"text": true} {"screenshot": path}
// {"cookies": true} {"select": [sel, value]} {"press": sel} (a click that
// does not navigate) {"clipboard": true} (reads it; the context may write
// it) {"attr": [sel, name]} {"axe": true} (axe-core, WCAG 2.1 A and AA;
// its violations fail the step) {"text_width": sel} (the rendered width of
// an element's text, in pixels). Navigations record their HTTP status and
// headers. A first step {"locale": "ja-JP"} sets the browser's language.
// Output: {"ok", "error"?, "steps": [...], "console": [...]}; exit 0 if ok.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const STEP_TIMEOUT = 15000;
const source = process.argv[2] ? fs.readFileSync(process.argv[2], 'utf8') : fs.readFileSync(0, 'utf8');
const steps = JSON.parse(source);
// A first step {"locale": "ja-JP"} sets the browser's language (its
// Accept-Language) for the whole run.
const locale = steps.length && steps[0].locale ? steps.shift().locale : undefined;
const result = { ok: true, steps: [], console: [] };
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'invited-chromium-'));

const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  locale,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
await context.grantPermissions(['clipboard-read', 'clipboard-write']);
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(STEP_TIMEOUT);
page.on('console', (m) => { if (m.type() === 'error') result.console.push(m.text()); });
page.on('pageerror', (e) => result.console.push(`pageerror: ${e.message}`));

function record(step, response) {
  const out = { step, url: page.url() };
  if (response) {
    out.status = response.status();
    out.headers = response.headers();
  }
  result.steps.push(out);
  return out;
}

try {
  for (const step of steps) {
    if (step.goto) {
      record(step, await page.goto(step.goto, { waitUntil: 'load' }));
    } else if (step.check) {
      await page.check(step.check);
      record(step);
    } else if (step.uncheck) {
      await page.uncheck(step.uncheck);
      record(step);
    } else if (step.fill) {
      await page.fill(step.fill[0], step.fill[1]);
      record(step);
    } else if (step.click || step.click_text) {
      const target = step.click ? page.locator(step.click)
        : page.getByRole('button', { name: step.click_text, exact: true });
      const [response] = await Promise.all([
        page.waitForNavigation({ waitUntil: 'load' }),
        target.click(),
      ]);
      record(step, response);
    } else if (step.expect_text || step.expect_no_text) {
      const text = await page.innerText('body');
      const want = step.expect_text || step.expect_no_text;
      const out = record(step);
      if (Boolean(step.expect_text) !== text.includes(want)) {
        out.text = text;
        throw new Error(`page ${step.expect_text ? 'lacks' : 'has'} "${want}"`);
      }
    } else if (step.text) {
      record(step).text = await page.innerText('body');
    } else if (step.screenshot) {
      await page.screenshot({ path: step.screenshot, fullPage: true });
      record(step);
    } else if (step.cookies) {
      record(step).cookies = await context.cookies();
    } else if (step.select) {
      await page.selectOption(step.select[0], step.select[1]);
      record(step);
    } else if (step.press) {
      await page.click(step.press);
      await page.waitForTimeout(200);
      record(step);
    } else if (step.clipboard) {
      record(step).clipboard = await page.evaluate(() => navigator.clipboard.readText());
    } else if (step.attr) {
      record(step).value = await page.getAttribute(step.attr[0], step.attr[1]);
    } else if (step.axe) {
      const { default: AxeBuilder } = await import('@axe-core/playwright');
      const found = await new AxeBuilder({ page })
        .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
      const out = record(step);
      out.violations = found.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
      }));
      if (out.violations.length > 0) {
        throw new Error(`axe-core: ${out.violations.map((v) => v.id).join(', ')} on ${page.url()}`);
      }
    } else if (step.text_width) {
      record(step).width = await page.$eval(step.text_width, (el) => {
        const range = document.createRange();
        range.selectNodeContents(el);
        return range.getBoundingClientRect().width;
      });
    } else {
      throw new Error(`unknown step ${JSON.stringify(step)}`);
    }
  }
} catch (err) {
  result.ok = false;
  result.error = err.message;
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
