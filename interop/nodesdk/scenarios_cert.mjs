// scenarios_cert.mjs runs form-protocol flows in certificate mode with the official
// Alipay Node.js SDK (exec, validateSign: true; alipayRootCertPath, alipayPublicCertPath,
// appCertPath) against a running f2fpay sandbox, then the REST protocol in certificate
// mode (curl checks alipay-sn against the configured certificate):
//
//   F2FPAY_SANDBOX_URL=http://127.0.0.1:PORT node scenarios_cert.mjs
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlipaySdk } from 'alipay-sdk';

const base = process.env.F2FPAY_SANDBOX_URL;
if (!base) {
  console.error('set F2FPAY_SANDBOX_URL to the sandbox, e.g. http://127.0.0.1:8080');
  process.exit(2);
}
let passed = 0;
let failed = 0;
function check(name, cond, detail) {
  if (cond) { passed++; console.log(`ok - ${name}`); } else {
    failed++;
    console.log(`FAIL - ${name}${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
  }
  return cond;
}
async function control(method, path, body) {
  const res = await fetch(base + path, {
    method, headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
async function scenario(name, fn) {
  try { await fn(); } catch (err) { check(`${name}: no exception`, false, `${err.name}: ${err.message}`); }
}

const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const app = await control('POST', '/sandbox/apps', { app_public_key: publicKey, key_mode: 'cert' });
check('cert app: three certificates returned', app.key_mode === 'cert' && app.app_cert && app.alipay_cert && app.alipay_root_cert, Object.keys(app));
const dir = mkdtempSync(join(tmpdir(), 'f2fpay-cert-'));
const paths = {
  appCertPath: join(dir, `appCertPublicKey_${app.app_id}.crt`),
  alipayPublicCertPath: join(dir, 'alipayCertPublicKey_RSA2.crt'),
  alipayRootCertPath: join(dir, 'alipayRootCert.crt'),
};
writeFileSync(paths.appCertPath, app.app_cert);
writeFileSync(paths.alipayPublicCertPath, app.alipay_cert);
writeFileSync(paths.alipayRootCertPath, app.alipay_root_cert);
const sdk = new AlipaySdk({ appId: app.app_id, privateKey, gateway: `${base}/gateway.do`, endpoint: base, timeout: 15000, ...paths });
check('the SDK computes the sandbox\'s serials (root SN skips the ECDSA root)',
  sdk.config.appCertSn === app.app_cert_sn && sdk.config.alipayCertSn === app.alipay_cert_sn && sdk.config.alipayRootCertSn === app.alipay_root_cert_sn,
  { sdk: [sdk.config.appCertSn, sdk.config.alipayCertSn, sdk.config.alipayRootCertSn], sandbox: [app.app_cert_sn, app.alipay_cert_sn, app.alipay_root_cert_sn] });
const exec = (method, bizContent) => sdk.exec(method, { bizContent }, { validateSign: true });
const newBuyer = spec => control('POST', '/sandbox/buyers', spec);
const newCode = b => control('POST', `/sandbox/buyers/${b.user_id}/payment-codes`).then(c => c.auth_code);
const outTradeNo = () => `cert-${randomUUID()}`;
const rich = await newBuyer({ balance: '1000.00' });
let paidNo = 'none'; // a paid trade, so that queries answer 200 (the SDK checks alipay-sn only then)

await scenario('form protocol in certificate mode', async () => {
  const no = outTradeNo();
  const r = await exec('alipay.trade.pay', { out_trade_no: no, scene: 'bar_code', auth_code: await newCode(rich), subject: '证书模式', total_amount: '8.80' });
  check('cert pay: 10000, verified with the Alipay certificate\'s key', r.code === '10000' && r.outTradeNo === no, r);
  const q = await exec('alipay.trade.query', { out_trade_no: no });
  check('cert query: TRADE_SUCCESS', q.tradeStatus === 'TRADE_SUCCESS', q);
  const rf = await exec('alipay.trade.refund', { out_trade_no: no, refund_amount: '1.00', out_request_no: 'r1' });
  check('cert refund: fund_change Y', rf.fundChange === 'Y', rf);
  const raw = await fetch(`${base}/gateway.do`, { method: 'POST' });
  check('gateway still answers unsigned garbage with an error, not a crash', raw.status === 200, raw.status);
});

await scenario('REST protocol in certificate mode', async () => {
  const no = outTradeNo();
  const { data } = await sdk.curl('POST', '/v3/alipay/trade/pay', { body: { out_trade_no: no, scene: 'bar_code', auth_code: await newCode(rich), subject: 'v3 证书', total_amount: '2.00' } });
  check('cert REST pay: verified, alipay-sn matches the configured certificate', data.out_trade_no === no && typeof data.gmt_payment === 'string', data);
  paidNo = no;
});

await scenario('wrong root serial', async () => {
  const wrong = new AlipaySdk({ appId: app.app_id, privateKey, gateway: `${base}/gateway.do`, ...paths });
  wrong.config.alipayRootCertSn = 'ffffffffffffffffffffffffffffffff_' + wrong.config.alipayRootCertSn;
  const r = await wrong.exec('alipay.trade.query', { bizContent: { out_trade_no: 'x' } });
  check('wrong alipay_root_cert_sn: 40002 isv.invalid-alipay-root-cert-sn', r.code === '40002' && r.subCode === 'isv.invalid-alipay-root-cert-sn', r);
});

await scenario('rotation', async () => {
  const rot = await control('POST', '/sandbox/alipay-cert/rotate');
  check('rotation: a new serial', rot.alipay_cert_sn && rot.alipay_cert_sn !== app.alipay_cert_sn, rot);
  let threw = null;
  try {
    await sdk.curl('POST', '/v3/alipay/trade/query', { body: { out_trade_no: paidNo } });
  } catch (err) { threw = err; }
  check('after rotation the SDK refuses the new alipay-sn (it does not download)', threw?.code === 'response-alipay-sn-verify-error', threw?.code);
});

rmSync(dir, { recursive: true, force: true });
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
