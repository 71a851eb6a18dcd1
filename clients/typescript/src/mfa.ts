import { TodoqlError } from "./errors.js";
import type { AuthPayloadFieldsFragment } from "./generated/graphql.js";

/** A second factor that `verifyMfa` takes. */
export type MfaMethod = "TOTP" | "RECOVERY_CODE";

const MFA_METHODS: readonly MfaMethod[] = ["TOTP", "RECOVERY_CODE"];

/** The first factor was right and the account has two-factor authentication on. */
export interface MfaRequired {
  kind: "MFA_REQUIRED";
  /** Pass it to `verifyMfa` (single use, 5 minutes, dies after 5 wrong answers). */
  mfaToken: string;
  /** The second factors the server accepts for this sign-in, e.g. ["TOTP", "RECOVERY_CODE"]. */
  methods: MfaMethod[];
}

/** Signed in: the tokens are kept, and the payload's fields are here. */
export type SignedIn = { kind: "SIGNED_IN" } & AuthPayloadFieldsFragment;

/**
 * What `signIn`, `signInWithCode` and `completeOAuth` resolve to: branch on `kind`.
 * Wrong credentials and other errors still throw TodoqlError.
 */
export type SignInResult = SignedIn | MfaRequired;

/** The second step: the mfaToken and exactly one of an authenticator code and a recovery code. */
export type VerifyMfaArgs =
  | { mfaToken: string; totpCode: string; recoveryCode?: never }
  | { mfaToken: string; recoveryCode: string; totpCode?: never };

/**
 * The MFA_REQUIRED answer inside a TodoqlError (from `request()` with your own sign-in
 * document), or undefined for any other error. Methods this client does not know are left out:
 * `verifyMfa` could not send them.
 */
export function mfaRequiredFrom(error: unknown): MfaRequired | undefined {
  if (!(error instanceof TodoqlError)) return undefined;
  const item = error.errors.find((e) => e.extensions?.code === "MFA_REQUIRED");
  const mfaToken = item?.extensions?.mfaToken;
  if (typeof mfaToken !== "string") return undefined;
  const given = item?.extensions?.methods;
  const methods = Array.isArray(given) ? MFA_METHODS.filter((m) => given.includes(m)) : [];
  return { kind: "MFA_REQUIRED", mfaToken, methods };
}
