// A DPoP client built on panva's "dpop" package: it logs in to latch's
// /v1 API with a proof, calls /v1/me with the DPoP-bound token and a
// fresh proof, replays that proof, sends the token as Bearer, and
// refreshes. It prints one JSON object of what latch answered, for
// ../dpop_npm_test.go to check. Environment: LATCH_BASE (the URL to send
// to), LATCH_ISSUER (the URL proofs name, latch's issuer), LATCH_EMAIL,
// LATCH_PASSWORD, DPOP_ALG (ES256 or PS256).
//
// Server nonces (RFC 9449 §8, §9): the package puts a nonce in a proof
// when given one (generateProof's 4th argument); finding it is the
// client's part. As the RFC has it, the client keeps the last DPoP-Nonce
// any response carried and, when a request is refused with
// use_dpop_nonce (400 with that error at a token endpoint, 401 with a
// `DPoP error="use_dpop_nonce"` challenge at a resource), retries once
// with a new proof carrying the nonce of the refusal. Against a latch
// that requires nonces (--dpop-nonce) the first login is such a refusal;
// out.nonce records it.
import { generateKeyPair, generateProof, calculateThumbprint } from "dpop";

const base = process.env.LATCH_BASE;
const issuer = process.env.LATCH_ISSUER.replace(/\/$/, "");
const alg = process.env.DPOP_ALG || "ES256";

const keypair = await generateKeyPair(alg);
const out = { alg, jkt: await calculateThumbprint(keypair.publicKey) };

// nonce is the last DPoP-Nonce the server sent, undefined until then.
let nonce;

async function call(method, path, headers, body) {
  const res = await fetch(base + path, {
    method,
    headers: { ...headers, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  let json = {};
  try { json = await res.json(); } catch {}
  const sent = res.headers.get("dpop-nonce");
  if (sent) nonce = sent;
  return { status: res.status, json, challenge: res.headers.get("www-authenticate"), nonce: sent };
}

function useDPoPNonce(r) {
  return r.json.error === "use_dpop_nonce" || /error="use_dpop_nonce"/.test(r.challenge || "");
}

// dpopCall sends a request with a fresh proof (with the token's "ath"
// when at is set), and retries once with the server's nonce if it asks
// for one. It returns the last answer and, as first, the first one.
async function dpopCall(method, path, at, body) {
  const send = async () => {
    const headers = { DPoP: await generateProof(keypair, issuer + path, method, nonce, at) };
    if (at) headers.Authorization = "DPoP " + at;
    return call(method, path, headers, body);
  };
  const first = await send();
  if (!useDPoPNonce(first) || !first.nonce) return { ...first, first };
  return { ...(await send()), first };
}

const login = await dpopCall("POST", "/v1/login", undefined,
  { email: process.env.LATCH_EMAIL, password: process.env.LATCH_PASSWORD });
out.login = { status: login.status, token_type: login.json.token_type };
out.nonce = {
  status: login.first.status, error: login.first.json.error, sent: Boolean(login.first.nonce),
  retried: login.first !== login && login.status === 200,
};
const at = login.json.access_token;
out.access_token = at;

const proof = await generateProof(keypair, issuer + "/v1/me", "GET", nonce, at);
const me = await call("GET", "/v1/me", { Authorization: "DPoP " + at, DPoP: proof });
out.me = { status: me.status, id: me.json.claims && me.json.claims.sub };
const replay = await call("GET", "/v1/me", { Authorization: "DPoP " + at, DPoP: proof });
out.replay = { status: replay.status, error: replay.json.error, challenge: replay.challenge };
const bearer = await call("GET", "/v1/me", { Authorization: "Bearer " + at });
out.bearer = { status: bearer.status, error: bearer.json.error };

// A resource request with a nonce the server never handed out: refused
// with use_dpop_nonce and a challenge, then retried with the real one.
if (nonce) {
  const kept = nonce;
  nonce = "not-a-nonce-latch-handed-out";
  const stale = await dpopCall("GET", "/v1/me", at);
  out.stale = { status: stale.first.status, error: stale.first.json.error, challenge: stale.first.challenge, retried: stale.status };
  nonce = nonce === "not-a-nonce-latch-handed-out" ? kept : nonce;
}

const refresh = await dpopCall("POST", "/v1/token/refresh", undefined, { refresh_token: login.json.refresh_token });
out.refresh = { status: refresh.status, token_type: refresh.json.token_type };

console.log(JSON.stringify(out));
