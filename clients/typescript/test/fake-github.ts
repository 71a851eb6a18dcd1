// A GitHub-like OAuth provider on 127.0.0.1 for the client's tests: /login/oauth/authorize,
// /login/oauth/access_token, /user and /user/emails. It checks what GitHub checks (client id
// and secret, redirect URI, single-use codes, the PKCE verifier against the S256 challenge of
// the authorization request) so that the server talks to it as to the real one.
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeGitHubUser {
  id: number;
  email: string;
  /** Whether GitHub vouches for the address (default true). */
  verified?: boolean;
}

interface Grant {
  user: FakeGitHubUser;
  redirectUri: string;
  challenge: string;
}

export interface FakeGitHub {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** The user signed in at the provider: the next authorizations are theirs. */
  signIn(user: FakeGitHubUser): void;
  /** Plays the browser at the provider: opens the authorization URL, returns the callback URL it redirects to. */
  authorize(authorizationUrl: string): Promise<URL>;
  /** Token requests received so far. */
  tokenRequests(): number;
  stop(): Promise<void>;
}

function base64url(bytes: Buffer): string {
  return bytes.toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function body(req: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of req) text += chunk;
  return text;
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}

export async function startFakeGitHub(): Promise<FakeGitHub> {
  const clientId = "gh-client";
  const clientSecret = "gh-secret";
  let user: FakeGitHubUser | null = null;
  let tokenRequests = 0;
  const codes = new Map<string, Grant>();
  const access = new Map<string, FakeGitHubUser>();

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    if (req.method === "GET" && url.pathname === "/login/oauth/authorize") {
      const p = (name: string) => url.searchParams.get(name);
      const redirectUri = p("redirect_uri");
      const challenge = p("code_challenge");
      if (p("client_id") !== clientId || !redirectUri || p("code_challenge_method") !== "S256" || !challenge) {
        return json(res, 400, { error: "invalid_request" });
      }
      if (!user) return json(res, 401, { error: "login_required" });
      const code = base64url(randomBytes(16));
      codes.set(code, { user, redirectUri, challenge });
      const back = new URL(redirectUri);
      back.searchParams.set("code", code);
      back.searchParams.set("state", p("state") ?? "");
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (req.method === "POST" && url.pathname === "/login/oauth/access_token") {
      tokenRequests += 1;
      const form = new URLSearchParams(await body(req));
      let [id, secret] = [form.get("client_id"), form.get("client_secret")];
      const basic = req.headers.authorization?.match(/^Basic (.+)$/)?.[1];
      if (basic) {
        [id, secret] = Buffer.from(basic, "base64").toString().split(":").map(decodeURIComponent) as [string, string];
      }
      const grant = codes.get(form.get("code") ?? "");
      codes.delete(form.get("code") ?? "");
      const verifier = form.get("code_verifier") ?? "";
      const ok =
        id === clientId &&
        secret === clientSecret &&
        grant !== undefined &&
        form.get("redirect_uri") === grant.redirectUri &&
        base64url(createHash("sha256").update(verifier).digest()) === grant.challenge;
      if (!ok || !grant) {
        // GitHub answers a bad code with 200 and an error field.
        return json(res, 200, { error: "bad_verification_code" });
      }
      const token = `gho_${base64url(randomBytes(16))}`;
      access.set(token, grant.user);
      return json(res, 200, { access_token: token, token_type: "bearer", scope: "read:user,user:email" });
    }
    const caller = access.get(req.headers.authorization?.replace(/^Bearer /, "") ?? "");
    if (req.method === "GET" && url.pathname === "/user" && caller) {
      return json(res, 200, { id: caller.id, login: `user${caller.id}`, name: null, avatar_url: null, email: null });
    }
    if (req.method === "GET" && url.pathname === "/user/emails" && caller) {
      return json(res, 200, [{ email: caller.email, primary: true, verified: caller.verified ?? true, visibility: "private" }]);
    }
    json(res, 401, { message: "Bad credentials" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl,
    clientId,
    clientSecret,
    signIn(next) {
      user = next;
    },
    async authorize(authorizationUrl) {
      const res = await fetch(authorizationUrl, { redirect: "manual" });
      const location = res.headers.get("location");
      if (res.status !== 302 || !location) throw new Error(`authorize answered ${res.status}: ${await res.text()}`);
      return new URL(location);
    },
    tokenRequests: () => tokenRequests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
