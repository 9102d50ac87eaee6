// scenarios.mjs runs the face-to-face scenario suite of issue 3 with the official Alipay
// Node.js SDK (exec, validateSign: true) against a running f2fpay sandbox:
//
//   F2FPAY_SANDBOX_URL=http://127.0.0.1:PORT node scenarios.mjs
//
// It registers its own app (a fresh key pair) and buyers through the control API
// (/sandbox/...), receives the sandbox's notifications on a local HTTP server and checks
// each with checkNotifySign and checkNotifySignV2. The sandbox must run on a manual clock
// (POST /sandbox/clock/advance) so that code expiry is tested without waiting.
//
// Output: one line per check ("ok - ..." or "FAIL - ..."), then a summary; exit
// status 1 if anything failed.
import http from 'node:http';
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
  if (cond) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`FAIL - ${name}${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
  }
  return cond;
}

async function control(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) {
    throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  }
  return text ? JSON.parse(text) : null;
}

// --- notifications: a merchant endpoint that verifies with the SDK and answers success
const received = [];
let sdk; // set once the app is registered
const server = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', chunk => { body += chunk; });
  req.on('end', () => {
    // What body parsers hand to checkNotifySign: the form decoded once.
    const postData = Object.fromEntries(new URLSearchParams(body));
    let v1;
    try {
      v1 = sdk.checkNotifySign(postData);
    } catch (err) {
      v1 = `threw ${err.name}: ${err.message}`;
    }
    const v2 = sdk.checkNotifySignV2(postData);
    received.push({ postData, v1, v2, contentType: req.headers['content-type'] });
    res.end('success');
  });
});
await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
const notifyURL = `http://127.0.0.1:${server.address().port}/alipay/notify`;

// --- the app
const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const app = await control('POST', '/sandbox/apps', { app_public_key: publicKey, notify_url: notifyURL });
sdk = new AlipaySdk({
  appId: app.app_id,
  privateKey,
  alipayPublicKey: app.alipay_public_key,
  gateway: `${base}/gateway.do`,
  timeout: 15000,
});

const exec = (method, bizContent) => sdk.exec(method, { bizContent }, { validateSign: true });
const newBuyer = spec => control('POST', '/sandbox/buyers', spec);
const newCode = buyer => control('POST', `/sandbox/buyers/${buyer.user_id}/payment-codes`).then(c => c.auth_code);
const outTradeNo = () => `node-${randomUUID()}`;
const advance = duration => control('POST', '/sandbox/clock/advance', { duration });

async function scenario(name, fn) {
  try {
    await fn();
  } catch (err) {
    check(`${name}: no exception`, false, `${err.name}: ${err.message}`);
  }
}

function pay(buyerCode, total, no = outTradeNo(), subject = '当面付 咖啡 ☕') {
  return exec('alipay.trade.pay', {
    out_trade_no: no, scene: 'bar_code', auth_code: buyerCode, subject, total_amount: total,
  });
}

const query = no => exec('alipay.trade.query', { out_trade_no: no });
const paid = new Set(); // out_trade_no of trades that must be notified as paid

const rich = await newBuyer({ balance: '10000.00' });

await scenario('barcode pay: success', async () => {
  const no = outTradeNo();
  const code = await newCode(rich);
  const r = await pay(code, '12.50', no);
  check('pay success: code 10000', r.code === '10000', r);
  check('pay success: echoes out_trade_no and amount', r.outTradeNo === no && r.totalAmount === '12.50', r);
  check('pay success: buyer is the one who showed the code', r.buyerUserId === rich.user_id, r);
  check('pay success: trade_no is 28 digits', /^\d{28}$/.test(r.tradeNo ?? ''), r.tradeNo);
  const q = await query(no);
  check('pay success: query says TRADE_SUCCESS', q.code === '10000' && q.tradeStatus === 'TRADE_SUCCESS', q);
  paid.add(no);

  const again = await pay(code, '12.50');
  check('a used payment code is refused', again.subCode === 'ACQ.PAYMENT_AUTH_CODE_INVALID', again);
});

await scenario('barcode pay: wrong code', async () => {
  const r = await pay('289999999999999999', '1.00');
  check('wrong code: ACQ.PAYMENT_AUTH_CODE_INVALID', r.code === '40004' && r.subCode === 'ACQ.PAYMENT_AUTH_CODE_INVALID', r);
});

await scenario('barcode pay: expired code', async () => {
  const code = await newCode(rich);
  await advance('2m');
  const r = await pay(code, '1.00');
  check('expired code: ACQ.PAYMENT_AUTH_CODE_INVALID', r.code === '40004' && r.subCode === 'ACQ.PAYMENT_AUTH_CODE_INVALID', r);
});

await scenario('barcode pay: insufficient balance', async () => {
  const poor = await newBuyer({ balance: '1.00' });
  const r = await pay(await newCode(poor), '12.50');
  check('insufficient balance: ACQ.BUYER_BALANCE_NOT_ENOUGH', r.code === '40004' && r.subCode === 'ACQ.BUYER_BALANCE_NOT_ENOUGH', r);
});

await scenario('barcode pay: password wait, then confirm', async () => {
  const careful = await newBuyer({ balance: '5000.00', pay_password: '123456', password_threshold: '100.00' });
  const no = outTradeNo();
  const r = await pay(await newCode(careful), '200.00', no);
  check('above the threshold: 10003', r.code === '10003', r);
  const q1 = await query(no);
  check('while waiting: WAIT_BUYER_PAY', q1.code === '10000' && q1.tradeStatus === 'WAIT_BUYER_PAY', q1);
  await control('POST', `/sandbox/trades/${q1.tradeNo}/confirm`, { pay_password: '123456' });
  const q2 = await query(no);
  check('after confirming: TRADE_SUCCESS', q2.tradeStatus === 'TRADE_SUCCESS' && q2.totalAmount === '200.00', q2);
  paid.add(no);
});

await scenario('precreate, scan, query', async () => {
  const no = outTradeNo();
  const r = await exec('alipay.trade.precreate', { out_trade_no: no, total_amount: '8.80', subject: '扫码 点单' });
  check('precreate: 10000 with a qr_code', r.code === '10000' && r.outTradeNo === no && /^https?:\/\//.test(r.qrCode ?? ''), r);
  const before = await query(no);
  check('before the scan the trade does not exist', before.subCode === 'ACQ.TRADE_NOT_EXIST', before);
  await control('POST', '/sandbox/scan', { buyer_id: rich.user_id, qr_code: r.qrCode });
  const after = await query(no);
  check('after the scan: TRADE_SUCCESS', after.tradeStatus === 'TRADE_SUCCESS' && after.buyerUserId === rich.user_id, after);
  paid.add(no);
});

await scenario('create, confirm', async () => {
  const no = outTradeNo();
  const r = await exec('alipay.trade.create', { out_trade_no: no, total_amount: '3.00', subject: 'JSAPI', buyer_id: rich.user_id });
  check('create: 10000 with a trade_no', r.code === '10000' && /^\d{28}$/.test(r.tradeNo ?? ''), r);
  const q1 = await query(no);
  check('created trade waits: WAIT_BUYER_PAY', q1.tradeStatus === 'WAIT_BUYER_PAY', q1);
  await control('POST', `/sandbox/trades/${r.tradeNo}/confirm`, {});
  const q2 = await query(no);
  check('after the buyer pays: TRADE_SUCCESS', q2.tradeStatus === 'TRADE_SUCCESS', q2);
  paid.add(no);
});

await scenario('cancel a paid trade', async () => {
  const no = outTradeNo();
  const r = await pay(await newCode(rich), '5.00', no);
  check('cancel setup: paid', r.code === '10000', r);
  const c = await exec('alipay.trade.cancel', { out_trade_no: no });
  check('cancel: 10000, action refund, retry_flag N', c.code === '10000' && c.action === 'refund' && c.retryFlag === 'N', c);
  const q = await query(no);
  check('after cancel: TRADE_CLOSED', q.tradeStatus === 'TRADE_CLOSED', q);
});

await scenario('close an unpaid trade', async () => {
  const no = outTradeNo();
  const r = await exec('alipay.trade.create', { out_trade_no: no, total_amount: '4.00', subject: 'to close', buyer_id: rich.user_id });
  check('close setup: created', r.code === '10000', r);
  const c = await exec('alipay.trade.close', { out_trade_no: no });
  check('close: 10000', c.code === '10000' && c.outTradeNo === no, c);
  const q = await query(no);
  check('after close: TRADE_CLOSED', q.tradeStatus === 'TRADE_CLOSED', q);
  const late = await exec('alipay.trade.close', { out_trade_no: outTradeNo() });
  check('closing an unknown trade: ACQ.TRADE_NOT_EXIST', late.subCode === 'ACQ.TRADE_NOT_EXIST', late);
});

await scenario('partial and full refunds, refund query', async () => {
  const no = outTradeNo();
  const r = await pay(await newCode(rich), '10.00', no);
  check('refund setup: paid', r.code === '10000', r);
  paid.add(no);
  const r1 = await exec('alipay.trade.refund', { out_trade_no: no, refund_amount: '3.00', out_request_no: 'r1' });
  check('partial refund: refund_fee 3.00, fund_change Y', r1.code === '10000' && r1.refundFee === '3.00' && r1.fundChange === 'Y', r1);
  const again = await exec('alipay.trade.refund', { out_trade_no: no, refund_amount: '3.00', out_request_no: 'r1' });
  check('repeated refund request is idempotent: refund_fee stays 3.00, fund_change N', again.code === '10000' && again.refundFee === '3.00' && again.fundChange === 'N', again);
  const rq = await exec('alipay.trade.fastpay.refund.query', { out_trade_no: no, out_request_no: 'r1' });
  check('refund query: refund_amount 3.00', rq.code === '10000' && rq.refundAmount === '3.00', rq);
  const q1 = await query(no);
  check('after a partial refund: still TRADE_SUCCESS', q1.tradeStatus === 'TRADE_SUCCESS', q1);
  const r2 = await exec('alipay.trade.refund', { out_trade_no: no, refund_amount: '7.00', out_request_no: 'r2' });
  check('full refund: refund_fee 10.00', r2.code === '10000' && r2.refundFee === '10.00', r2);
  const over = await exec('alipay.trade.refund', { out_trade_no: no, refund_amount: '0.01', out_request_no: 'r3' });
  check('over-refund refused', over.code === '40004', over);
  const unknown = await exec('alipay.trade.fastpay.refund.query', { out_trade_no: no, out_request_no: 'never-sent' });
  check('refund query of an unknown request: 10000 without refund data', unknown.code === '10000' && unknown.refundAmount === undefined, unknown);
  const q2 = await query(no);
  check('after the full refund: TRADE_CLOSED', q2.tradeStatus === 'TRADE_CLOSED', q2);
});

await scenario('request signatures the gateway must refuse', async () => {
  // The SDK signs an empty value as "key="; Alipay drops empty values before verifying
  // (SDK issue #48), so the sandbox must refuse — with a signed answer under the method's
  // node, which is the only kind the SDK can verify.
  const empty = await sdk.exec('alipay.trade.query', { app_auth_token: '', bizContent: { out_trade_no: 'x' } }, { validateSign: true });
  check('an empty parameter: 40002 isv.invalid-signature', empty.code === '40002' && empty.subCode === 'isv.invalid-signature', empty);
  const other = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const impostor = new AlipaySdk({ ...sdk.config, privateKey: other.privateKey });
  const wrong = await impostor.exec('alipay.trade.query', { bizContent: { out_trade_no: 'x' } }, { validateSign: true });
  check('another app key: 40002 isv.invalid-signature', wrong.code === '40002' && wrong.subCode === 'isv.invalid-signature', wrong);
  check('the refusal echoes the string the gateway verified', (wrong.subMsg ?? '').includes('method=alipay.trade.query'), wrong.subMsg);
});

// --- notifications: every one the sandbox sent must pass the SDK's checks
async function waitForNotifications() {
  const want = () => [...paid].every(no => received.some(n => n.postData.out_trade_no === no && n.postData.trade_status === 'TRADE_SUCCESS'));
  for (let i = 0; i < 100 && !want(); i++) {
    await advance('1s'); // a manual clock: let the notifier's timers fire
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}
await scenario('notifications', async () => {
  await waitForNotifications();
  for (const no of paid) {
    check(`TRADE_SUCCESS notification for ${no}`, received.some(n => n.postData.out_trade_no === no && n.postData.trade_status === 'TRADE_SUCCESS'));
  }
  for (const n of received) {
    const pd = n.postData;
    const what = `${pd.notify_type} ${pd.trade_status} ${pd.out_trade_no}`;
    check(`checkNotifySign accepts ${what}`, n.v1 === true, n.v1);
    check(`checkNotifySignV2 accepts ${what}`, n.v2 === true);
    check(`no empty values in ${what}`, Object.values(pd).every(v => v !== ''), pd);
    check(`form-encoded ${what}`, (n.contentType ?? '').startsWith('application/x-www-form-urlencoded'), n.contentType);
  }
  check('notifications were received', received.length > 0, received.length);
});

server.close();
console.log(`summary: ${passed} checks ok, ${failed} checks failed`);
process.exit(failed === 0 ? 0 : 1);
