// End-to-end test of the built playground in headless Chromium.
//
//   node test.mjs http://127.0.0.1:PORT/
//
// Generates a certificate, looks at the setup objects, mints, decodes, verifies, tampers
// with and shares a token, checks payload sizes and runs the flow; checks the page's own
// results against Node's crypto where it can, and that no request leaves the page's origin.
// Saves screenshots to artifacts/ and prints `N passed, N failed` as its last line.

import { X509Certificate, createHash, verify as verifySignature } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const base = process.argv[2];
if (!base) {
  console.error('usage: node test.mjs http://127.0.0.1:PORT/');
  console.log('0 passed, 1 failed');
  process.exit(2);
}
const artifacts = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
mkdirSync(artifacts, { recursive: true });

let passed = 0;
let failed = 0;

async function check(name, body) {
  const started = Date.now();
  try {
    await body();
    passed += 1;
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${name}: ${String(error && error.message ? error.message : error).split('\n')[0]}`);
  }
}

function expect(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

const text = async (page, testId) => ((await page.getByTestId(testId).first().textContent()) ?? '').trim();

let browser;
try {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
} catch (error) {
  console.log(`FAIL launching /usr/bin/chromium: ${String(error.message).split('\n')[0]}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
const page = await context.newPage();
const origin = new URL(base).origin;
const foreign = [];
const problems = [];
context.on('request', (request) => {
  const url = request.url();
  if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) {
    foreign.push(url);
  }
});
page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
page.on('console', (message) => {
  if (message.type() === 'error') {
    problems.push(`console error: ${message.text()}`);
  }
});

const state = {};

try {
  await check('the page loads and promises that nothing leaves it', async () => {
    await page.goto(base);
    await page.getByTestId('app-ready').waitFor({ timeout: 30_000 });
    const note = await text(page, 'offline-note');
    expect(note.includes('Nothing leaves this page'), `note: ${note}`);
  });

  await check('an RSA-2048 OAuth certificate is generated in the page, which stays responsive', async () => {
    await page.fill('#cert-domain', 'contoso.com');
    // Record whether the progress ever appears, however briefly.
    await page.evaluate(() => {
      window.progressSeen = false;
      new MutationObserver(() => {
        window.progressSeen ||= document.querySelector('[data-testid="keygen-progress"]') !== null;
      }).observe(document.body, { childList: true, subtree: true, characterData: true });
    });
    await page.click('#cert-generate');
    // While the key is searched, the page must keep answering (the work is sliced).
    let slowest = 0;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (await page.getByTestId('cert-thumbprint').count()) {
        break;
      }
      const started = Date.now();
      await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 0)));
      slowest = Math.max(slowest, Date.now() - started);
      await page.waitForTimeout(50);
    }
    await page.getByTestId('cert-thumbprint').waitFor({ timeout: 1_000 });
    console.log(`     key generation: ${await text(page, 'keygen-done')} (slowest event-loop answer ${slowest} ms)`);
    expect(await page.evaluate(() => window.progressSeen), 'no progress was shown while the key was generated');
    expect(slowest < 1_000, `the page froze for ${slowest} ms`);
  });

  await check('the certificate facts agree with an independent X.509 parser', async () => {
    state.thumbprint = await text(page, 'cert-thumbprint');
    state.x5t = await text(page, 'cert-x5t');
    expect(/^[0-9A-F]{40}$/.test(state.thumbprint), `thumbprint ${state.thumbprint}`);
    expect(/^[A-Za-z0-9_-]{27}$/.test(state.x5t), `x5t ${state.x5t}`);
    expect(Buffer.from(state.x5t, 'base64url').toString('hex').toUpperCase() === state.thumbprint,
      'x5t is not the base64url of the thumbprint');
    const der = Buffer.from(await text(page, 'cert-credential'), 'base64');
    state.certificate = new X509Certificate(der);
    const sha1 = createHash('sha1').update(der).digest('hex').toUpperCase();
    expect(sha1 === state.thumbprint, `SHA-1 of the credential value is ${sha1}`);
    expect(state.certificate.subject.includes('CN=contoso.com'), `subject ${state.certificate.subject}`);
    expect(state.certificate.publicKey.asymmetricKeyDetails.modulusLength === 2048, 'key is not 2048 bits');
    expect(state.certificate.verify(state.certificate.publicKey), 'self-signature does not verify');
    expect((await text(page, 'cert-key')) === 'RSA 2048 bits', await text(page, 'cert-key'));
    // Five years of 1826 days, counted in whole days left (1825 once a second has passed).
    expect(/^182[56] day\(s\) left$/.test(await text(page, 'cert-days-left')), await text(page, 'cert-days-left'));
    await page.screenshot({ path: join(artifacts, 'certificate.png'), fullPage: true });
  });

  await check('the setup objects use the certificate and the reuse rule explains each misfit', async () => {
    await page.click('#tab-setup');
    expect((await text(page, 'reuse-verdict')).includes('can be reused'), await text(page, 'reuse-verdict'));
    expect((await text(page, 'auth-config-list')).includes(state.thumbprint), 'AuthConfig lacks the thumbprint');
    const app = await text(page, 'push-app-list');
    expect(app.includes('OnPrem-Proxy') && app.includes('https://outlook.office365.com/PushNotifications'), app);
    await page.fill('#setup-friendly-name', 'IIS');
    await page.uncheck('#service-federation');
    const reasons = await text(page, 'reuse-reasons');
    expect(reasons.includes('"OAuth"') && reasons.includes('neither SMTP nor Federation'), reasons);
    await page.fill('#setup-friendly-name', 'Exchange S2S OAuth');
    await page.check('#service-federation');
    expect((await text(page, 'reuse-verdict')).includes('can be reused'), await text(page, 'reuse-verdict'));
    await page.screenshot({ path: join(artifacts, 'setup.png'), fullPage: true });
  });

  await check('an actor token is minted, decoded and verified', async () => {
    await page.click('#tab-tokens');
    await page.click('#mint-token');
    state.token = await text(page, 'minted-token');
    expect(state.token.split('.').length === 3, `token ${state.token.slice(0, 40)}…`);
    await page.getByTestId('decoded-header').waitFor();
    const header = await text(page, 'decoded-header');
    expect(header.includes('"alg": "RS256"') && header.includes(state.x5t), header);
    expect((await text(page, 'token-x5t-hex')) === state.thumbprint, 'x5t hex differs');
    expect((await text(page, 'x5t-match')) === 'matches the certificate in use', await text(page, 'x5t-match'));
    expect((await text(page, 'time-status')).startsWith('Valid now: expires in'), await text(page, 'time-status'));
    const verdict = await text(page, 'verify-result');
    expect(verdict.startsWith('Signature verified.') && verdict.includes(state.thumbprint), verdict);
    // Node checks the signature itself.
    const [h, c, s] = state.token.split('.');
    const good = verifySignature('sha256', Buffer.from(`${h}.${c}`), state.certificate.publicKey, Buffer.from(s, 'base64url'));
    expect(good, 'Node does not accept the signature');
    const claims = JSON.parse(Buffer.from(c, 'base64url').toString());
    expect(typeof claims.exp === 'string' && Number(claims.exp) - Number(claims.nbf) === 3600, `claims ${JSON.stringify(claims)}`);
  });

  await check('a tampered token is refused with the exact reason', async () => {
    const last = state.token.at(-1);
    const tampered = state.token.slice(0, -1) + (last === 'A' ? 'Q' : 'A');
    await page.fill('#decode-input', tampered);
    expect((await text(page, 'verify-code')) === 'bad_signature', await text(page, 'verify-result'));
    await page.fill('#decode-input', 'only.two');
    expect((await text(page, 'verify-code')) === 'truncated', await text(page, 'verify-result'));
    await page.fill('#decode-input', state.token);
    expect((await text(page, 'verify-result')).startsWith('Signature verified.'), await text(page, 'verify-result'));
  });

  await check('an expired token is flagged', async () => {
    await page.fill('#mint-lifetime', '1');
    await page.click('#mint-token');
    await page.waitForFunction(() => document.querySelector('[data-testid="time-status"]')?.textContent.includes('Expired'), null, { timeout: 5_000 });
    await page.fill('#mint-lifetime', '3600');
    await page.click('#mint-token');
  });

  await check('a shared link carries the token in the fragment and opens it', async () => {
    await page.fill('#decode-input', state.token);
    await page.click('#share-token');
    const link = await page.getByTestId('share-url').inputValue();
    expect(link === `${base}#token=${state.token}`, `link ${link.slice(0, 60)}…`);
    await page.screenshot({ path: join(artifacts, 'playground.png'), fullPage: true });
    const other = await context.newPage();
    await other.goto(link);
    await other.getByTestId('decoded-claims').waitFor({ timeout: 30_000 });
    expect((await other.inputValue('#decode-input')) === state.token, 'the decoder does not hold the token');
    expect((await text(other, 'x5t-match')) === 'no certificate in use to compare with', await text(other, 'x5t-match'));
    // Another link opened in the same tab replaces the token.
    await other.click('#tab-payloads');
    await other.evaluate(() => { window.location.hash = '#token=aaa.bbb.ccc'; });
    await other.waitForFunction(() => document.querySelector('#decode-input')?.value === 'aaa.bbb.ccc', null, { timeout: 5_000 });
    await other.close();
  });

  await check('payload sizes are measured against their limits', async () => {
    await page.click('#tab-payloads');
    await page.fill('#payload-count', '7');
    expect((await text(page, 'apns-size')).startsWith('19 of 4096 bytes'), await text(page, 'apns-size'));
    expect((await text(page, 'wns-xml')) === '<badge value="7"/>', await text(page, 'wns-xml'));
    expect((await text(page, 'batch-size')).includes('of 262144 bytes'), await text(page, 'batch-size'));
    const batch = JSON.parse(await text(page, 'batch-json'));
    expect(batch.notifications[0].payload.unseenEmailCount === 7, JSON.stringify(batch));
    await page.fill('#payload-custom', JSON.stringify({ note: 'x'.repeat(5000) }));
    expect((await text(page, 'apns-error')).includes('4096'), await text(page, 'apns-error'));
    await page.fill('#payload-custom', '');
    await page.fill('#payload-count', '100000');
    expect((await text(page, 'payload-errors')).includes('out of range'), await text(page, 'payload-errors'));
    await page.fill('#payload-count', '7');
    await page.screenshot({ path: join(artifacts, 'payloads.png'), fullPage: true });
  });

  await check('the whole flow runs on the engine and ends with the latest count', async () => {
    await page.click('#tab-flow');
    // The local cloud's token service makes its own key first (in slices, once per page).
    await page.getByTestId('flow-steps').waitFor({ timeout: 120_000 });
    await page.click('#flow-end');
    expect((await text(page, 'badge-iphone')) === '1', `iPhone badge ${await text(page, 'badge-iphone')}`);
    const steps = await text(page, 'flow-steps');
    for (const expected of ['Setup step 3', 'The token service checks the assertion', 'The push service verifies the access token', 'Coalesced']) {
      expect(steps.includes(expected), `the steps lack "${expected}"`);
    }
    await page.click('#flow-add-mail');
    await page.click('#flow-add-wait');
    expect((await text(page, 'badge-ipad')) === '2', `iPad badge ${await text(page, 'badge-ipad')}`);
    await page.screenshot({ path: join(artifacts, 'flow.png'), fullPage: true });
  });

  await check('a certificate is loaded from text, without its key', async () => {
    await page.click('#tab-cert');
    const pem = state.certificate.toString();
    await page.fill('#cert-text', pem);
    await page.click('#cert-load');
    await page.waitForFunction(() => document.querySelector('[data-testid="cert-private-key"]')?.textContent.startsWith('not loaded'), null, { timeout: 5_000 });
    expect((await text(page, 'cert-thumbprint')) === state.thumbprint, 'the loaded certificate has another thumbprint');
    await page.fill('#cert-text', 'not a certificate');
    await page.click('#cert-load');
    expect((await text(page, 'load-error')).startsWith('certificate:'), await text(page, 'load-error'));
    await page.click('#tab-tokens');
    expect(await page.isDisabled('#mint-token') === false, 'mint is disabled with a certificate in use');
    await page.click('#mint-token');
    expect((await text(page, 'mint-error')).includes('private key'), await text(page, 'mint-error'));
  });

  await check('no request left the page origin', async () => {
    expect(foreign.length === 0, `requests to ${foreign.join(', ')}`);
  });

  await check('no error was reported by the page', async () => {
    expect(problems.length === 0, problems.join('; '));
  });
} finally {
  await browser.close();
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
