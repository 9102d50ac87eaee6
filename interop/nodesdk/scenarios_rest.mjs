// scenarios_rest.mjs runs the face-to-face flows over the REST ("v3") protocol with the
// official Alipay Node.js SDK's curl(...), whose response verification is always on,
// against a running f2fpay sandbox:
//
//   F2FPAY_SANDBOX_URL=http://127.0.0.1:PORT node scenarios_rest.mjs
//
// Output: "ok - ..." / "FAIL - ..." lines, a summary, exit status 1 on any failure.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
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
const app = await control('POST', '/sandbox/apps', { app_public_key: publicKey });
const sdk = new AlipaySdk({ appId: app.app_id, privateKey, alipayPublicKey: app.alipay_public_key, endpoint: base, timeout: 15000 });
const newBuyer = spec => control('POST', '/sandbox/buyers', spec);
const newCode = b => control('POST', `/sandbox/buyers/${b.user_id}/payment-codes`).then(c => c.auth_code);
const outTradeNo = () => `rest-${randomUUID()}`;
const post = (path, body) => sdk.curl('POST', path, { body });
// curl throws AlipayRequestError for HTTP >= 400; return it so checks can look at it.
const attempt = p => p.then(r => ({ ok: true, r }), err => ({ ok: false, err }));

const rich = await newBuyer({ balance: '1000.00' });
const careful = await newBuyer({ balance: '1000.00', pay_password: '123456', password_threshold: '10.00' });

await scenario('pay: success', async () => {
  const no = outTradeNo();
  const { data, responseHttpStatus, traceId } = await post('/v3/alipay/trade/pay', {
    out_trade_no: no, scene: 'bar_code', auth_code: await newCode(rich), subject: '当面付 咖啡 ☕', total_amount: '12.50',
  });
  check('pay success: HTTP 200, verified by the SDK', responseHttpStatus === 200, responseHttpStatus);
  check('pay success: the business JSON itself, no code', data.out_trade_no === no && data.code === undefined && data.total_amount === '12.50', data);
  check('pay success: gmt_payment present', typeof data.gmt_payment === 'string' && data.gmt_payment.length === 19, data);
  check('pay success: alipay-trace-id', typeof traceId === 'string' && traceId.length > 0, traceId);
  const q = await sdk.curl('GET', '/v3/alipay/trade/query', { query: { out_trade_no: no } });
  check('query by GET: TRADE_SUCCESS', q.data.trade_status === 'TRADE_SUCCESS', q.data);
  const rf = await post('/v3/alipay/trade/refund', { out_trade_no: no, refund_amount: '2.50', out_request_no: 'rf1' });
  check('refund: fund_change Y, refund_fee 2.50', rf.data.fund_change === 'Y' && rf.data.refund_fee === '2.50', rf.data);
  const rq = await post('/v3/alipay/trade/fastpay/refund/query', { out_trade_no: no, out_request_no: 'rf1' });
  check('refund query: REFUND_SUCCESS', rq.data.refund_status === 'REFUND_SUCCESS', rq.data);
  const over = await attempt(post('/v3/alipay/trade/refund', { out_trade_no: no, refund_amount: '99.00', out_request_no: 'rf2' }));
  check('over-refund: HTTP 400 ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', !over.ok && over.err.responseHttpStatus === 400 && over.err.code === 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', over.err?.code);
  const cn = await post('/v3/alipay/trade/cancel', { out_trade_no: no });
  check('cancel of a paid trade refunds it', cn.data.action === 'refund', cn.data);
});

await scenario('pay: waiting for the password', async () => {
  const no = outTradeNo();
  const { data } = await post('/v3/alipay/trade/pay', {
    out_trade_no: no, scene: 'bar_code', auth_code: await newCode(careful), subject: 'big', total_amount: '50.00',
  });
  check('waiting: HTTP 200 with the trade but no gmt_payment', data.trade_no && data.gmt_payment === undefined && data.buyer_pay_amount === '0.00', data);
  await control('POST', `/sandbox/trades/${data.trade_no}/confirm`, { pay_password: '123456' });
  const q = await post('/v3/alipay/trade/query', { out_trade_no: no });
  check('waiting: paid after the buyer confirms', q.data.trade_status === 'TRADE_SUCCESS', q.data);
});

await scenario('pay: failures', async () => {
  const bad = await attempt(post('/v3/alipay/trade/pay', {
    out_trade_no: outTradeNo(), scene: 'bar_code', auth_code: '289999999999999999', subject: 'x', total_amount: '1.00',
  }));
  check('bad code: HTTP 400 ACQ.PAYMENT_AUTH_CODE_INVALID with a message', !bad.ok && bad.err.responseHttpStatus === 400 && bad.err.code === 'ACQ.PAYMENT_AUTH_CODE_INVALID' && bad.err.message.length > 0, bad.err?.code);
  const no = outTradeNo();
  await control('POST', '/sandbox/faults', { kind: 'system_error', out_trade_no: no, count: 1 });
  const sys = await attempt(post('/v3/alipay/trade/pay', {
    out_trade_no: no, scene: 'bar_code', auth_code: await newCode(rich), subject: 'x', total_amount: '1.00',
  }));
  check('unknown: ACQ.SYSTEM_ERROR', !sys.ok && sys.err.code === 'ACQ.SYSTEM_ERROR', sys.err?.code);
  const nq = await attempt(post('/v3/alipay/trade/query', { out_trade_no: no }));
  check('unknown: nothing happened (TRADE_NOT_EXIST)', !nq.ok && nq.err.code === 'ACQ.TRADE_NOT_EXIST', nq.err?.code);
  const forged = outTradeNo();
  await control('POST', '/sandbox/faults', { kind: 'bad_signature', out_trade_no: forged, count: 1 });
  const f = await attempt(post('/v3/alipay/trade/pay', {
    out_trade_no: forged, scene: 'bar_code', auth_code: await newCode(rich), subject: 'x', total_amount: '1.00',
  }));
  check('a forged answer is refused by the SDK', !f.ok && f.err.code === 'response-signature-verify-error', f.err?.code);
});

await scenario('precreate, create, close', async () => {
  const pc = await post('/v3/alipay/trade/precreate', { out_trade_no: outTradeNo(), subject: 'QR', total_amount: '3.00' });
  check('precreate: qr_code', typeof pc.data.qr_code === 'string' && pc.data.qr_code.startsWith('http'), pc.data);
  const no = outTradeNo();
  const cr = await post('/v3/alipay/trade/create', { out_trade_no: no, subject: 'JSAPI', total_amount: '3.00', buyer_id: rich.user_id });
  check('create: trade_no', /^\d{28}$/.test(cr.data.trade_no ?? ''), cr.data);
  const cl = await post('/v3/alipay/trade/close', { out_trade_no: no });
  check('close: echoes trade_no', cl.data.trade_no === cr.data.trade_no, cl.data);
});

await scenario('a foreign key is refused', async () => {
  const other = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const intruder = new AlipaySdk({ appId: app.app_id, privateKey: other.privateKey, alipayPublicKey: app.alipay_public_key, endpoint: base });
  const r = await attempt(intruder.curl('POST', '/v3/alipay/trade/query', { body: { out_trade_no: 'x' } }));
  check('foreign key: HTTP 401 invalid-signature', !r.ok && r.err.responseHttpStatus === 401 && r.err.code === 'invalid-signature', r.err?.code);
});

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
