// The OpenID Connect provider the single sign-on tests start: panva's oidc-provider (a
// certified implementation) with its development login pages, one client, and accounts
// whose claims come from the ACCOUNTS environment variable. Listens on 127.0.0.1:PORT only.
import Provider from "oidc-provider";

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.ACCOUNTS || "{}");

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: JSON.parse(process.env.REDIRECT_URIS),
    grant_types: ["authorization_code"],
    response_types: ["code"],
  }],
  scopes: ["openid", "profile", "ledger"],
  claims: { openid: ["sub"], profile: ["name", "preferred_username"],
            ledger: ["roles", "department"] },
  findAccount: async (ctx, id) => (accounts[id] ? {
    accountId: id,
    async claims() { return { sub: id, ...accounts[id] }; },
  } : undefined),
  cookies: { keys: ["infra-ledger-test-only"] },
  features: { devInteractions: { enabled: true } },
});

provider.listen(port, "127.0.0.1", () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
