// Two-factor authentication through the client, against a real server with an encryption key:
// enrollment, MFA_REQUIRED as a typed result of every first factor the client has, verifyMfa
// with the code an authenticator app would show (computed here from the secret) or with a
// recovery code, then new recovery codes and turning it off.
//
// The server accepts each 30-second step once per user, within ±1 step of its clock. The steps
// are planned around `step`, the current one when enrollment starts: enrollment uses step-1,
// the password sign-in step, new recovery codes step+1. So the test needs no waiting for a
// step to pass, only that it finishes before step+2 begins (it starts at least 8 s before the
// end of a step).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TodoqlClient, TodoqlError, type AuthEvent, type MfaRequired, type SignInResult } from "../dist/index.js";
import {
  PASSWORD,
  codeAndLink,
  encryptionKeyArgs,
  signedIn,
  sleep,
  startSmtpSink,
  startTodoql,
  totpCode,
  totpStep,
  uniqueEmail,
  type SmtpSink,
  type TodoqlServer,
} from "./helpers.js";

/** The MFA_REQUIRED answer (fails the test on SIGNED_IN). */
function mfaRequired(result: SignInResult): MfaRequired {
  if (result.kind !== "MFA_REQUIRED") assert.fail(`expected MFA_REQUIRED, got ${result.kind}`);
  return result;
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof TodoqlError, String(error));
    assert.equal(error.code, code, error.message);
    return true;
  });
}

describe("the test's authenticator", () => {
  it("computes RFC 6238's SHA1 test vectors (their last 6 digits)", () => {
    // The RFC's key "12345678901234567890" in base32.
    const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    const vectors: [number, string][] = [
      [59, "94287082"],
      [1111111109, "07081804"],
      [1234567890, "89005924"],
      [20000000000, "65353130"],
    ];
    for (const [seconds, code] of vectors) {
      assert.equal(totpCode(secret, totpStep(seconds * 1000)), code.slice(2), `T = ${seconds}`);
    }
  });
});

describe("two-factor authentication through the client", () => {
  let sink: SmtpSink;
  let server: TodoqlServer;
  const email = uniqueEmail("mfa");
  let secret: string;
  let recoveryCodes: string[];
  /** The TOTP step that was current when enrollment started (see the top of the file). */
  let step: number;

  const newClient = () => new TodoqlClient({ url: server.graphqlUrl });
  /** A code of a step far from now: a wrong answer, unless it happens to equal a valid one. */
  const wrongCode = () => {
    const valid = [-1, 0, 1].map((d) => totpCode(secret, totpStep() + d));
    for (let far = 100; ; far += 1) {
      const code = totpCode(secret, step + far);
      if (!valid.includes(code)) return code;
    }
  };

  before(async () => {
    sink = await startSmtpSink();
    server = await startTodoql({
      args: ["--smtp-url", sink.url, "--app-url", "http://app.test", ...encryptionKeyArgs()],
    });
  });
  after(async () => {
    await server?.stop();
    await sink?.close();
  });

  it("enrolls with a secret and a code, and gets 10 recovery codes once", async () => {
    const client = newClient();
    assert.equal((await client.authConfig()).totp, true);
    await client.signUp({ email, password: PASSWORD });
    const mail = await sink.waitForMail(email, { match: (m) => /verify/i.test(m.subject) });
    await client.verifyEmail({ email, code: codeAndLink(mail).code! });
    const before = await client.me();
    assert.equal(before?.totpEnabled, false);
    assert.equal(before?.recoveryCodesLeft, 0);

    // At least 8 s left in this step: the plan above holds.
    if (30_000 - (Date.now() % 30_000) < 8_000) await sleep(30_000 - (Date.now() % 30_000) + 100);
    step = totpStep();
    const enrollment = await client.startTotpEnrollment();
    secret = enrollment.secret;
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const uri = new URL(enrollment.otpauthUri);
    assert.equal(uri.protocol, "otpauth:");
    assert.equal(uri.searchParams.get("secret"), secret);
    // Not on before it is confirmed; a wrong code does not confirm it.
    assert.equal((await client.me())?.totpEnabled, false);
    await rejectsWithCode(client.confirmTotpEnrollment(wrongCode()), "INVALID_TOKEN");
    assert.equal((await client.me())?.totpEnabled, false);

    recoveryCodes = await client.confirmTotpEnrollment(totpCode(secret, step - 1));

    assert.equal(recoveryCodes.length, 10);
    assert.equal(new Set(recoveryCodes).size, 10);
    for (const code of recoveryCodes) assert.match(code, /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
    const after = await client.me();
    assert.equal(after?.totpEnabled, true);
    assert.equal(after?.recoveryCodesLeft, 10);
    assert.equal(await client.signOut(), true);
  });

  it("a password sign-in answers MFA_REQUIRED, and verifyMfa with the authenticator's code signs in", async () => {
    const client = newClient();
    const events: AuthEvent[] = [];
    client.onAuthStateChange((event) => events.push(event));

    const challenge = mfaRequired(await client.signIn({ email, password: PASSWORD }));

    assert.deepEqual(challenge.methods, ["TOTP", "RECOVERY_CODE"]);
    assert.equal(typeof challenge.mfaToken, "string");
    assert.ok(challenge.mfaToken.length > 0);
    assert.equal(client.isSignedIn, false);
    assert.deepEqual(events, []);

    // A wrong code: a TodoqlError, still signed out, and the mfaToken still good.
    await rejectsWithCode(client.verifyMfa({ mfaToken: challenge.mfaToken, totpCode: wrongCode() }), "INVALID_TOKEN");
    assert.equal(client.isSignedIn, false);

    const payload = await client.verifyMfa({ mfaToken: challenge.mfaToken, totpCode: totpCode(secret, step) });

    assert.deepEqual(events, ["SIGNED_IN"]);
    assert.equal(client.tokens?.refreshToken, payload.refreshToken);
    assert.deepEqual(payload.session.authenticationMethods, ["PASSWORD", "TOTP"]);
    assert.equal(payload.user.email, email);
    const current = (await client.sessions()).find((s) => s.current);
    assert.deepEqual(current?.authenticationMethods, ["PASSWORD", "TOTP"]);

    // The same step again, on another sign-in: refused (a code is good once).
    const again = mfaRequired(await newClient().signIn({ email, password: PASSWORD }));
    await rejectsWithCode(newClient().verifyMfa({ mfaToken: again.mfaToken, totpCode: totpCode(secret, step) }), "INVALID_TOKEN");
  });

  it("a recovery code signs in once", async () => {
    const client = newClient();
    const first = mfaRequired(await client.signIn({ email, password: PASSWORD }));
    const payload = await client.verifyMfa({ mfaToken: first.mfaToken, recoveryCode: recoveryCodes[0]! });
    assert.deepEqual(payload.session.authenticationMethods, ["PASSWORD", "RECOVERY_CODE"]);
    assert.equal((await client.me())?.recoveryCodesLeft, 9);

    const other = newClient();
    const second = mfaRequired(await other.signIn({ email, password: PASSWORD }));
    await rejectsWithCode(other.verifyMfa({ mfaToken: second.mfaToken, recoveryCode: recoveryCodes[0]! }), "INVALID_TOKEN");
    assert.equal(other.isSignedIn, false);
    // The token survived the wrong answer; another code works.
    await other.verifyMfa({ mfaToken: second.mfaToken, recoveryCode: recoveryCodes[1]! });
    assert.equal(other.isSignedIn, true);
    assert.equal((await other.me())?.recoveryCodesLeft, 8);
  });

  it("an emailed sign-in code answers MFA_REQUIRED too", async () => {
    const client = newClient();
    await client.requestSignInCode(email);
    const mail = await sink.waitForMail(email, { match: (m) => /sign-in code/i.test(m.subject) });

    const challenge = mfaRequired(await client.signInWithCode({ email, code: codeAndLink(mail).code! }));
    assert.equal(client.isSignedIn, false);
    const payload = await client.verifyMfa({ mfaToken: challenge.mfaToken, recoveryCode: recoveryCodes[2]! });

    assert.deepEqual(payload.session.authenticationMethods, ["EMAIL_CODE", "RECOVERY_CODE"]);
  });

  it("new recovery codes replace the old ones, and a recovery code turns 2FA off", async () => {
    const client = newClient();
    const challenge = mfaRequired(await client.signIn({ email, password: PASSWORD }));
    await client.verifyMfa({ mfaToken: challenge.mfaToken, recoveryCode: recoveryCodes[3]! });
    assert.ok(totpStep() <= step + 1, "the test outlived its planned TOTP steps");

    const fresh = await client.regenerateRecoveryCodes(totpCode(secret, step + 1));

    assert.equal(fresh.length, 10);
    assert.ok(fresh.every((code) => !recoveryCodes.includes(code)));
    assert.equal((await client.me())?.recoveryCodesLeft, 10);
    const old = mfaRequired(await newClient().signIn({ email, password: PASSWORD }));
    await rejectsWithCode(newClient().verifyMfa({ mfaToken: old.mfaToken, recoveryCode: recoveryCodes[4]! }), "INVALID_TOKEN");

    assert.equal(await client.disableTotp(fresh[0]!), true);

    const me = await client.me();
    assert.equal(me?.totpEnabled, false);
    assert.equal(me?.recoveryCodesLeft, 0);
    const plain = signedIn(await newClient().signIn({ email, password: PASSWORD }));
    assert.deepEqual(plain.session.authenticationMethods, ["PASSWORD"]);
  });
});
