// driver_lattice.js - the browser half of ui_lattice.sh: opens the lattice
// view of `corral ui --lattice` in Debian's headless Chromium through
// playwright-core and uses its buttons. Checks what the page shows and,
// after each button, what the lattice says (`corral get inventory|links
// --lattice --json`), not only the page.
// Environment: UI_URL, CORRAL, CHROMIUM, LATTICE, NATS_URL, HOST_A, HOST_B
// (host keys), ECHO (the actor's key, alias uiecho, rev 2 on both hosts),
// ECHO3 (rev 3), LINK_NAME (its keyvalue link's name). Prints "ok"/"FAIL:"
// lines; exit 1 on any failure.
'use strict';
const { execFileSync } = require('child_process');

const env = process.env;
const { pass, check, result, run } = require('./driver_common');

function lattice(what) {
  return JSON.parse(execFileSync(env.CORRAL, ['get', what, '--json', '--lattice', env.LATTICE,
                                              '--nats', env.NATS_URL]).toString());
}

run(env.CHROMIUM, async (page, problems) => {
  await page.goto(env.UI_URL);
  for (const h of [env.HOST_A, env.HOST_B]) {
    await page.waitForSelector(`#hosts tbody tr[data-key="${h}"]`, { timeout: 15000 });
    await page.waitForSelector(`#actors tbody tr[data-host="${h}"][data-key="${env.ECHO}"]`, { timeout: 5000 });
  }
  pass('page lists both hosts and the actor on each');
  const title = await page.$eval('#title', e => e.textContent);
  check('title names the lattice', title.includes(env.LATTICE), title);
  const hostCol = await page.$eval('#actors thead th.lat-only', e => getComputedStyle(e).display);
  check('the host column is shown', hostCol !== 'none', hostCol);

  await page.fill('#update-actor', 'uiecho');
  await page.fill('#update-path', env.ECHO3);
  await page.click('#update-btn');
  let r = await result(page, 'update to rev 3');
  check('update: success on 2 hosts shown', r.cls === 'ok' && r.text.includes('rev 2 -> 3') &&
        r.text.includes('2 host(s)'), r.text);
  const revs = lattice('inventory').map(h => h.actors.map(a => a.rev).join(',')).sort();
  check('update: every host runs rev 3', JSON.stringify(revs) === '["3","3"]', JSON.stringify(revs));
  await page.waitForFunction(() => document.querySelectorAll('#actors tbody tr[data-rev="3"]').length === 2,
                             null, { timeout: 5000 });
  pass('update: page shows rev 3 on both hosts');

  const linkRow = `#links tbody tr[data-link-name="${env.LINK_NAME}"]`;
  await page.click(linkRow + ' button.pick');
  await page.fill('#relink-values', 'UI_K=browser');
  await page.click('#relink-btn');
  r = await result(page, 'relink');
  check('relink: success shown', r.cls === 'ok', r.text);
  const l = lattice('links').links.find(x => x.link_name === env.LINK_NAME);
  check('relink: the lattice has the new values', l && l.values.UI_K === 'browser' &&
        Object.keys(l.values).length === 1, JSON.stringify(l));
  await page.waitForFunction(n => {
    const tr = document.querySelector(`#links tbody tr[data-link-name="${n}"]`);
    return tr && JSON.parse(tr.dataset.values).UI_K === 'browser';
  }, env.LINK_NAME, { timeout: 5000 });
  pass('relink: page shows the new values');

  check('no page errors, console errors (CSP) or dialogs', problems.length === 0, problems.join(' | '));
});
