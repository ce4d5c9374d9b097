// driver_common.js - what the browser drivers of the `corral ui` tests share
// (driver.js, driver_lattice.js): ok/FAIL lines, waiting for the page's
// result line, and a run of Debian's headless Chromium through
// playwright-core that collects page errors, console errors (a CSP refusal,
// a script error) and dialogs, and exits 1 on any failure.
'use strict';
const { chromium } = require('playwright-core');

let fails = 0;
const pass = m => console.log('ok    ' + m);
const fail = m => { console.log('FAIL: ' + m); fails++; };
const check = (name, cond, detail) => (cond ? pass(name) : fail(name + (detail ? ': ' + detail : '')));

// Waits for the result line to say ok or err and returns {cls, text}.
async function result(page, what) {
  await page.waitForFunction(() => {
    const r = document.querySelector('#result');
    return (r.className === 'ok' || r.className === 'err') && !/\.\.\.$/.test(r.textContent);
  }, null, { timeout: 60000 });
  const r = await page.$eval('#result', e => ({ cls: e.className, text: e.textContent }));
  console.log(`      ${what}: [${r.cls}] ${r.text}`);
  return r;
}

// Runs body(page, problems) in a fresh page of the Chromium at
// executablePath, then exits: 0 when nothing failed, 1 otherwise.
function run(executablePath, body) {
  const main = async () => {
    const browser = await chromium.launch({
      executablePath,
      headless: true,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
             '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      const problems = [];
      page.on('pageerror', e => problems.push('page error: ' + e));
      // The expected 4xx answers log "Failed to load resource"; anything
      // else (a CSP refusal, a script error) is a problem.
      page.on('console', m => {
        if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push('console: ' + m.text());
      });
      page.on('dialog', d => { problems.push('dialog: ' + d.message()); d.dismiss(); });
      await body(page, problems);
    } finally {
      await browser.close();
    }
  };
  main().then(() => process.exit(fails ? 1 : 0), e => { console.log('FAIL: ' + (e && e.stack)); process.exit(1); });
}

module.exports = { pass, fail, check, result, run };
