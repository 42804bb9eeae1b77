// A real OpenID provider on loopback for the tests (oidc-provider, a certified
// implementation): one public client for the web app, authorization code with PKCE
// required, one account ("carol", password "correct horse battery") through a minimal
// login form. Prints "READY <issuer>" once listening.
//
//   node oidc-provider.mjs --port 0 --redirect http://127.0.0.1:8000/auth/callback \
//        [--client sealchat-web] [--keys keys.json]
//
// --keys writes the provider's private signing JWK to that file, so a test can mint
// variants of the provider's real tokens (re-signed, altered) with its key.

import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

import Provider from "oidc-provider";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    redirect: { type: "string", multiple: true, default: [] },
    client: { type: "string", default: "sealchat-web" },
    keys: { type: "string" },
  },
});

const ACCOUNTS = { carol: { password: "correct horse battery", name: "Carol" } };

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: "jwk" }), kid: "test-rs256", use: "sig", alg: "RS256" };
if (values.keys) writeFileSync(values.keys, JSON.stringify(jwk));

const server = createServer();
await new Promise((resolve) => server.listen(Number(values.port), "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: values.client,
      token_endpoint_auth_method: "none",
      application_type: "web",
      redirect_uris: values.redirect,
      post_logout_redirect_uris: values.redirect.map((uri) => new URL("/sign-in", uri).href),
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
    },
  ],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  scopes: ["openid", "profile", "offline_access"],
  claims: { openid: ["sub"], profile: ["preferred_username", "name"] },
  findAccount: (_ctx, id) =>
    ACCOUNTS[id] ? { accountId: id, claims: () => ({ sub: id, preferred_username: id, name: ACCOUNTS[id].name }) } : undefined,
  features: { devInteractions: { enabled: false } },
  ttl: { IdToken: 3600, AccessToken: 3600, Session: 3600, Interaction: 600, Grant: 3600 },
  cookies: { keys: ["test-cookie-key"] },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  clientBasedCORS: (_ctx, origin, client) => client.redirectUris.some((uri) => new URL(uri).origin === origin),
});
provider.proxy = false;

const page = (uid, error = "") => `<!doctype html><html lang="en"><head><title>Test provider sign-in</title></head><body>
<main><h1>Test provider</h1>${error ? `<p role="alert">${error}</p>` : ""}
<form method="post" action="/interaction/${uid}/login">
<label>Username <input name="login" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Continue</button></form></main></body></html>`;

async function readForm(req) {
  let body = "";
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

const callback = provider.callback();
server.on("request", async (req, res) => {
  const match = /^\/interaction\/([^/]+)(\/login)?$/.exec(new URL(req.url, issuer).pathname);
  if (!match) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (!match[2]) {
      if (details.prompt.name === "login") {
        res.setHeader("Content-Type", "text/html");
        return res.end(page(details.uid));
      }
      // consent: grant what was asked for this one first-party client
      const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      if (details.prompt.details.missingOIDCScope) grant.addOIDCScope(details.prompt.details.missingOIDCScope.join(" "));
      if (details.prompt.details.missingOIDCClaims) grant.addOIDCClaims(details.prompt.details.missingOIDCClaims);
      const grantId = await grant.save();
      return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    }
    const form = await readForm(req);
    const login = form.get("login") ?? "";
    if (ACCOUNTS[login]?.password !== form.get("password")) {
      res.setHeader("Content-Type", "text/html");
      return res.end(page(details.uid, "Wrong username or password."));
    }
    return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
  } catch (error) {
    res.statusCode = 500;
    res.end(String(error));
  }
});

console.log(`READY ${issuer}`);
