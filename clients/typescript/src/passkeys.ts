// The browser half of the passkey ceremonies: the server's options (WebAuthn Level 3 JSON forms,
// base64url) become the browser's option objects through PublicKeyCredential.parse*FromJSON, and
// the credential goes back as its toJSON(). No base64 or CBOR code of our own: the browser does it.

/** Thrown by the passkey helpers where the browser lacks the WebAuthn API they need. */
export class PasskeysUnsupportedError extends Error {
  override readonly name = "PasskeysUnsupportedError";
}

/** What `registerPasskey` takes. */
export interface RegisterPasskeyOptions {
  /** The passkey's name in the list (1 to 64 characters); the server names it "Passkey N" without one. */
  name?: string | null;
  /** Aborts the browser's dialog (and the ceremony). */
  signal?: AbortSignal;
}

/** What `signInWithPasskey` takes. */
export interface SignInWithPasskeyOptions {
  /**
   * The address typed in: the browser offers that account's passkeys. Without it any passkey
   * of this site that the authenticator keeps (a discoverable one) may answer.
   */
  email?: string | null;
  /**
   * The browser's mediation: "conditional" waits for the user to pick a passkey in the
   * address field's autofill (`autocomplete="username webauthn"`); the default shows a dialog.
   */
  mediation?: CredentialMediationRequirement;
  /** Aborts the wait (e.g. a conditional request when the user signs in another way). */
  signal?: AbortSignal;
}

/** The JSON the server takes back: `PublicKeyCredential.toJSON()`. */
export type CredentialJSON = Record<string, unknown>;

type JsonParsingCredential = typeof PublicKeyCredential & {
  parseCreationOptionsFromJSON?: unknown;
  parseRequestOptionsFromJSON?: unknown;
};

/** Whether this browser can run the passkey helpers (WebAuthn with its JSON helpers). */
export function passkeysSupported(): boolean {
  return missingPiece() === undefined;
}

/** The first thing missing for the passkey helpers, or undefined when nothing is. */
function missingPiece(): string | undefined {
  const credential = (globalThis as { PublicKeyCredential?: JsonParsingCredential }).PublicKeyCredential;
  if (typeof credential !== "function") return "PublicKeyCredential (WebAuthn)";
  if (typeof credential.parseCreationOptionsFromJSON !== "function") return "PublicKeyCredential.parseCreationOptionsFromJSON";
  if (typeof credential.parseRequestOptionsFromJSON !== "function") return "PublicKeyCredential.parseRequestOptionsFromJSON";
  const container = (globalThis as { navigator?: { credentials?: Partial<CredentialsContainer> } }).navigator?.credentials;
  if (typeof container?.create !== "function" || typeof container.get !== "function") return "navigator.credentials";
  return undefined;
}

/** Throws PasskeysUnsupportedError unless the browser has what the ceremonies need. */
export function assertPasskeysSupported(): void {
  const missing = missingPiece();
  if (missing) {
    throw new PasskeysUnsupportedError(
      `Passkeys need a browser with WebAuthn and its JSON helpers; this one lacks ${missing}.`,
    );
  }
}

/** `credential.toJSON()`, checked: the server needs the JSON form, and old browsers lack it. */
function toJSON(credential: Credential | null, ceremony: string): CredentialJSON {
  // Browsers reject (NotAllowedError) rather than resolve to null for a publicKey request.
  if (!credential) throw new Error(`The browser returned no credential for the passkey ${ceremony}.`);
  const json = (credential as Partial<PublicKeyCredential>).toJSON;
  if (typeof json !== "function") {
    throw new PasskeysUnsupportedError("Passkeys need PublicKeyCredential.toJSON(), which this browser lacks.");
  }
  return json.call(credential) as CredentialJSON;
}

/** navigator.credentials.create() with the server's PublicKeyCredentialCreationOptionsJSON. */
export async function createCredential(options: Record<string, unknown>, signal?: AbortSignal): Promise<CredentialJSON> {
  assertPasskeysSupported();
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(
    options as unknown as PublicKeyCredentialCreationOptionsJSON,
  );
  return toJSON(await navigator.credentials.create({ publicKey, signal }), "registration");
}

/** navigator.credentials.get() with the server's PublicKeyCredentialRequestOptionsJSON. */
export async function getCredential(
  options: Record<string, unknown>,
  { mediation, signal }: Pick<SignInWithPasskeyOptions, "mediation" | "signal"> = {},
): Promise<CredentialJSON> {
  assertPasskeysSupported();
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(
    options as unknown as PublicKeyCredentialRequestOptionsJSON,
  );
  const request: CredentialRequestOptions = { publicKey, signal };
  if (mediation) request.mediation = mediation;
  return toJSON(await navigator.credentials.get(request), "sign-in");
}
