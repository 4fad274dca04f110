// A DPoP client built on panva's "dpop" package: it logs in to latch's
// /v1 API with a proof, calls /v1/me with the DPoP-bound token and a
// fresh proof, replays that proof, sends the token as Bearer, and
// refreshes. It prints one JSON object of what latch answered, for
// ../dpop_npm_test.go to check. Environment: LATCH_BASE (the URL to send
// to), LATCH_ISSUER (the URL proofs name, latch's issuer), LATCH_EMAIL,
// LATCH_PASSWORD, DPOP_ALG (ES256 or PS256).
import { generateKeyPair, generateProof, calculateThumbprint } from "dpop";

const base = process.env.LATCH_BASE;
const issuer = process.env.LATCH_ISSUER.replace(/\/$/, "");
const alg = process.env.DPOP_ALG || "ES256";

const keypair = await generateKeyPair(alg);
const out = { alg, jkt: await calculateThumbprint(keypair.publicKey) };

async function call(method, path, headers, body) {
  const res = await fetch(base + path, {
    method,
    headers: { ...headers, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  let json = {};
  try { json = await res.json(); } catch {}
  return { status: res.status, json, challenge: res.headers.get("www-authenticate") };
}

const login = await call("POST", "/v1/login",
  { DPoP: await generateProof(keypair, issuer + "/v1/login", "POST") },
  { email: process.env.LATCH_EMAIL, password: process.env.LATCH_PASSWORD });
out.login = { status: login.status, token_type: login.json.token_type };
const at = login.json.access_token;
out.access_token = at;

const proof = await generateProof(keypair, issuer + "/v1/me", "GET", undefined, at);
const me = await call("GET", "/v1/me", { Authorization: "DPoP " + at, DPoP: proof });
out.me = { status: me.status, id: me.json.claims && me.json.claims.sub };
const replay = await call("GET", "/v1/me", { Authorization: "DPoP " + at, DPoP: proof });
out.replay = { status: replay.status, error: replay.json.error, challenge: replay.challenge };
const bearer = await call("GET", "/v1/me", { Authorization: "Bearer " + at });
out.bearer = { status: bearer.status, error: bearer.json.error };

const refresh = await call("POST", "/v1/token/refresh",
  { DPoP: await generateProof(keypair, issuer + "/v1/token/refresh", "POST") },
  { refresh_token: login.json.refresh_token });
out.refresh = { status: refresh.status, token_type: refresh.json.token_type };

console.log(JSON.stringify(out));
