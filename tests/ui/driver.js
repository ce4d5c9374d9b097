// driver.js - the browser half of ui_browser.sh: opens the `corral ui` page
// in Debian's headless Chromium through playwright-core and uses it as a
// person would. Checks what the page shows and, after each button, what the
// host says (`corral get inventory --json`), not only the page.
// Environment: UI_URL, CORRAL, RUN, CHROMIUM, PORT (the actor's HTTP port),
// PORT2 (a free port to relink to), KV2 (kvcounter signed at rev 2), KV3
// (rev 3 whose claims name is HTML). Prints "ok"/"FAIL:" lines; exit 1 on
// any failure.
'use strict';
const { execFileSync } = require('child_process');

const env = process.env;
const { pass, check, result, run } = require('./driver_common');
const sleep = ms => new Promise(r => setTimeout(r, ms));

function inventory() {
  return JSON.parse(execFileSync(env.CORRAL, ['get', 'inventory', '--json', '--run-dir', env.RUN]).toString());
}
function httpLink(inv) {
  return inv.links.find(l => l.contract_id === 'wasmcloud:httpserver');
}
async function get(port, path) {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    await r.text();
    return r.status;
  } catch (e) {
    return 0;
  }
}

run(env.CHROMIUM, async (page, problems) => {
  await page.goto(env.UI_URL);
  const actorRow = '#actors tbody tr[data-name="kvcounter"]';
  const linkRow = '#links tbody tr[data-contract="wasmcloud:httpserver"]';
  await page.waitForSelector(actorRow, { timeout: 15000 });
  pass('page shows the kvcounter actor');
  const host = await page.$eval('#hosts tbody td', e => e.textContent);
  check('page shows the host key', host === inventory().host_key, host);
  await page.waitForSelector(linkRow, { timeout: 5000 });
  const vals = await page.$eval(linkRow, tr => tr.dataset.values);
  check('page shows its http link with the port', JSON.parse(vals).PORT === env.PORT, vals);

  // Live call rate: HTTP calls until the page's rate is above zero.
  let rate = 0;
  for (const end = Date.now() + 20000; Date.now() < end && !(rate > 0);) {
    for (let i = 0; i < 10; i++) await get(env.PORT, '/counter');
    await sleep(300);
    rate = await page.$eval(actorRow, tr => Number(tr.dataset.callsPerS || 0));
  }
  check('calls/s becomes > 0 after HTTP calls', rate > 0, String(rate));
  const cell = await page.$eval(actorRow, tr => tr.children[8].textContent);
  check('the calls/s cell shows it', Number(cell) > 0, cell);

  // Update: a missing file is refused with the reason; rev 2 goes through.
  await page.fill('#update-actor', 'kvcounter');
  await page.fill('#update-path', '/no/such/module.wasm');
  await page.click('#update-btn');
  let r = await result(page, 'update with a missing file');
  check('bad update: error shown', r.cls === 'err' && r.text.includes('No such file'), r.text);
  check('bad update: host still at rev 1', inventory().actors[0].rev === 1);
  await page.fill('#update-path', env.KV2);
  await page.click('#update-btn');
  r = await result(page, 'update to rev 2');
  check('update: success shown', r.cls === 'ok' && r.text.includes('rev 1 -> 2'), r.text);
  check('update: host inventory has rev 2', inventory().actors[0].rev === 2);
  await page.waitForSelector('#actors tbody tr[data-rev="2"]', { timeout: 5000 });
  pass('update: page shows rev 2');
  await page.click('#update-btn'); // the same module again: the host refuses
  r = await result(page, 'update to rev 2 again');
  check('same revision: the host\'s refusal shown', r.cls === 'err' && r.text.includes('not greater'), r.text);

  // Relink: pick the link, change its port.
  await page.click(linkRow + ' button.pick');
  const filled = await page.inputValue('#relink-values');
  check('picking the link fills its values', filled === 'PORT=' + env.PORT, filled);
  await page.fill('#relink-values', 'PORT=' + env.PORT2);
  await page.click('#relink-btn');
  r = await result(page, 'relink to the new port');
  check('relink: success shown', r.cls === 'ok' && r.text.includes(env.PORT2), r.text);
  const l = httpLink(inventory());
  check('relink: host inventory has the new PORT', l && l.values.PORT === env.PORT2, JSON.stringify(l));
  let st = 0;
  for (const end = Date.now() + 10000; Date.now() < end && st !== 200;) {
    st = await get(env.PORT2, '/counter');
    if (st !== 200) await sleep(100);
  }
  check('relink: the actor answers on the new port', st === 200, String(st));
  await page.waitForFunction(p => {
    const tr = document.querySelector('#links tbody tr[data-contract="wasmcloud:httpserver"]');
    return tr && JSON.parse(tr.dataset.values).PORT === p;
  }, env.PORT2, { timeout: 5000 });
  pass('relink: page shows the new port');

  // Bad relink input: refused by the page (not K=V) and by the server (no such link).
  await page.fill('#relink-values', 'PORT');
  await page.click('#relink-btn');
  r = await result(page, 'relink with a value that is not K=V');
  check('bad relink values: error shown', r.cls === 'err' && r.text.includes('not K=V'), r.text);
  await page.fill('#relink-contract', 'wasmcloud:nosuch');
  await page.fill('#relink-values', 'A=1');
  await page.click('#relink-btn');
  r = await result(page, 'relink of a link that does not exist');
  check('relink of no link: the server\'s error shown', r.cls === 'err' && r.text.includes('has no link'), r.text);
  check('bad relinks left the host\'s link alone', httpLink(inventory()).values.PORT === env.PORT2);

  // A hostile claims name is shown as text, never run or parsed as HTML.
  await page.fill('#update-path', env.KV3);
  await page.click('#update-btn');
  r = await result(page, 'update to rev 3 (name is HTML)');
  check('update to rev 3', r.cls === 'ok', r.text);
  const hostile = inventory().actors[0].name;
  await page.waitForSelector('#actors tbody tr[data-rev="3"]', { timeout: 5000 });
  const shown = await page.$eval('#actors tbody tr[data-rev="3"]', tr => tr.children[0].textContent);
  check('hostile name shown literally', shown === hostile && hostile.includes('<img'), shown);
  const imgs = await page.$$eval('img', e => e.length);
  check('no element made from the name', imgs === 0, String(imgs));
  check('its onerror never ran', (await page.evaluate(() => window.pwned)) === undefined);

  check('no page errors, console errors (CSP) or dialogs', problems.length === 0, problems.join(' | '));
});
