// judge.mjs lets Go tests ask the official Alipay Node.js SDK (npm alipay-sdk, pinned in
// package.json) for its verdict. Our Go client and our sandbox share wire code, so a bug in
// it would be symmetric and invisible to our own tests; this SDK is the outside judge.
//
// Protocol: one JSON object per line on stdin, one JSON answer per line on stdout, matched
// by "id". Requests run concurrently (an "exec" waits on HTTP while others proceed).
//
//   {"id":1,"op":"version"}
//   {"id":2,"op":"signRequest","config":{...},"method":"alipay.trade.pay","params":{...}}
//   {"id":3,"op":"checkResponse","config":{...},"method":"...","body":"<raw body>"}
//   {"id":4,"op":"checkNotify","config":{...},"postData":{...},"v2":false}
//   {"id":5,"op":"signNotify","privateKey":"PEM","signType":"RSA2","postData":{...}}
//   {"id":6,"op":"exec","config":{...,"gateway":"http://127.0.0.1:PORT/gateway.do"},
//    "method":"...","params":{...},"validateSign":true}
//
// Answers: {"id":N,"ok":true,"result":...} or {"id":N,"ok":false,"error":{name,message,code}}.
//
// "config" is passed to the AlipaySdk constructor unchanged (appId, privateKey, keyType,
// signType, alipayPublicKey, gateway, timeout, camelcase, appCertContent,
// alipayPublicCertContent, alipayRootCertContent, ...), so every key and certificate goes
// through the SDK's own formatKey and SN code.
import { createInterface } from 'node:readline';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { readFileSync } from 'node:fs';
import { AlipaySdk } from 'alipay-sdk';

// The SDK does not export its request signer (util.sign) from the package root, but exec
// calls exactly this module instance: util.js resolved from the same file as alipay.js.
const sdkDir = new URL('./node_modules/alipay-sdk/', import.meta.url);
const { sign: sdkSign } = await import(new URL('dist/esm/util.js', sdkDir));
const sdkVersion = JSON.parse(readFileSync(new URL('package.json', sdkDir), 'utf8')).version;

// To report "the string the SDK signed" without re-implementing its concatenation, watch
// what it feeds to crypto's Sign objects. util.js imports createSign from node:crypto as a
// live binding; syncBuiltinESMExports pushes this wrapper into that binding. The capture
// is synchronous (sign() never awaits), so a single slot is race-free.
let captured = null;
const realCreateSign = crypto.createSign;
crypto.createSign = function createSignWatched(algorithm, options) {
  const signer = realCreateSign(algorithm, options);
  const realUpdate = signer.update.bind(signer);
  signer.update = (data, encoding) => {
    if (captured) captured.push({ algorithm, data: String(data), encoding });
    return realUpdate(data, encoding);
  };
  return signer;
};
syncBuiltinESMExports();

function signRequest(req) {
  const sdk = new AlipaySdk(req.config);
  let signed;
  let updates = [];
  captured = updates;
  try {
    signed = sdkSign(req.method, req.params ?? {}, sdk.config);
  } finally {
    captured = null;
  }
  if (updates.length !== 1) {
    throw new Error(`expected the SDK to sign once, saw ${updates.length} updates`);
  }
  const { sign, ...params } = signed;
  return {
    sign,
    signString: updates[0].data,
    algorithm: updates[0].algorithm,
    params, // the snake_case parameters exec would send, besides sign
    appCertSn: sdk.config.appCertSn ?? '',
    alipayRootCertSn: sdk.config.alipayRootCertSn ?? '',
    alipayCertSn: sdk.config.alipayCertSn ?? '',
  };
}

function checkResponse(req) {
  const sdk = new AlipaySdk(req.config);
  const responseKey = `${req.method.replaceAll('.', '_')}_response`;
  // The same steps exec's #formatExecHttpResponse takes with validateSign on.
  const parsed = JSON.parse(req.body);
  const validateStr = sdk.getSignStr(req.body, responseKey);
  sdk.checkResponseSign(req.body, responseKey, parsed.sign, 'judge');
  return { validateStr };
}

function checkNotify(req) {
  const sdk = new AlipaySdk(req.config);
  const ok = req.v2 ? sdk.checkNotifySignV2(req.postData) : sdk.checkNotifySign(req.postData);
  return { ok };
}

// signNotify plays Alipay's part for asynchronous notifications: content is every
// non-empty pair except sign and sign_type, sorted, joined k=v with '&' (PROTOCOL.md §8.3).
// The SDK has no notification signer, so this is plain node:crypto.
function signNotify(req) {
  const pd = req.postData;
  const content = Object.keys(pd)
    .filter(k => k !== 'sign' && k !== 'sign_type' && pd[k] !== '' && pd[k] != null)
    .sort()
    .map(k => `${k}=${pd[k]}`)
    .join('&');
  const algorithm = req.signType === 'RSA' ? 'RSA-SHA1' : 'RSA-SHA256';
  const sign = realCreateSign(algorithm).update(content, 'utf8').sign(req.privateKey, 'base64');
  return { sign, content };
}

async function exec(req) {
  const sdk = new AlipaySdk(req.config);
  const result = await sdk.exec(req.method, req.params ?? {}, { validateSign: !!req.validateSign });
  return result;
}

const ops = {
  version: () => ({ sdk: sdkVersion, node: process.version }),
  signRequest,
  checkResponse,
  checkNotify,
  signNotify,
  exec,
};

function errorJSON(err) {
  return {
    name: err?.name ?? 'Error',
    message: String(err?.message ?? err),
    code: err?.code ?? '',
  };
}

const out = answer => process.stdout.write(JSON.stringify(answer) + '\n');

// Answer every request already read before exiting on end of input.
let pending = 0;
let closed = false;
const settle = () => {
  pending--;
  if (closed && pending === 0) process.exit(0);
};

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', line => {
  pending++;
  handle(line).finally(settle);
});
rl.on('close', () => {
  closed = true;
  if (pending === 0) process.exit(0);
});

async function handle(line) {
  if (!line.trim()) return;
  let req;
  try {
    req = JSON.parse(line);
  } catch (err) {
    out({ id: null, ok: false, error: errorJSON(err) });
    return;
  }
  const op = ops[req.op];
  if (!op) {
    out({ id: req.id, ok: false, error: { name: 'Error', message: `unknown op ${req.op}`, code: '' } });
    return;
  }
  try {
    out({ id: req.id, ok: true, result: await op(req) });
  } catch (err) {
    out({ id: req.id, ok: false, error: errorJSON(err) });
  }
}
