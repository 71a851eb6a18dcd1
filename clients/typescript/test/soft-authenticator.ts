// A software passkey authenticator with a stand-in for the browser's WebAuthn API, for the
// client's Node tests (Node has no WebAuthn). It is tests/e2e/support/authenticator.rs in
// TypeScript: it reads the server's PublicKeyCredential*OptionsJSON and answers with what
// `PublicKeyCredential.toJSON()` gives — ES256 keys, "none" attestation, discoverable
// credentials with user handles, user verified. The browser itself is proven by the example
// app's test with Chromium's virtual authenticator; this one lets the client's own calls
// (tokens, events, errors) run against a real server.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";

type Json = Record<string, unknown>;

interface Credential {
  id: Buffer;
  key: KeyObject;
  rpId: string;
  userHandle: Buffer;
  counter: number;
}

const UP = 0x01;
const UV = 0x04;
const AT = 0x40;

const b64 = (bytes: Buffer) => bytes.toString("base64url");
const unb64 = (text: unknown) => Buffer.from(String(text), "base64url");
const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest();

// --- the CBOR the attestation needs (RFC 8949): ints, byte and text strings, maps ----------------

type Cbor = number | string | Buffer | Map<number | string, Cbor>;

function head(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
  const b = Buffer.alloc(3);
  b[0] = (major << 5) | 25;
  b.writeUInt16BE(length, 1);
  return b;
}

function cbor(value: Cbor): Buffer {
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === "string") {
    const text = Buffer.from(value, "utf8");
    return Buffer.concat([head(3, text.length), text]);
  }
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  return Buffer.concat([head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])]);
}

// --- the authenticator ------------------------------------------------------------------------

export class SoftAuthenticator {
  private readonly credentials: Credential[] = [];

  /** `origin`: the page's origin, which the browser puts into clientDataJSON. */
  constructor(readonly origin: string) {}

  /** How many credentials it holds. */
  get size(): number {
    return this.credentials.length;
  }

  /** navigator.credentials.create({ publicKey }): RegistrationResponseJSON. */
  create(options: Json): Json {
    const rp = options.rp as { id: string };
    const user = options.user as { id: string };
    for (const excluded of (options.excludeCredentials as { id: string }[] | undefined) ?? []) {
      if (this.credentials.some((c) => c.id.equals(unb64(excluded.id)))) {
        throw new DOMException("The authenticator holds an excluded credential.", "InvalidStateError");
      }
    }
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" });
    const coseKey = new Map<number, Cbor>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, unb64(jwk.x)],
      [-3, unb64(jwk.y)],
    ]);
    const id = randomBytes(16);
    const counter = 1;
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(id.length);
    const authData = Buffer.concat([authDataHead(rp.id, AT, counter), Buffer.alloc(16), idLength, id, cbor(coseKey)]);
    const attestation = new Map<string, Cbor>([
      ["fmt", "none"],
      ["attStmt", new Map()],
      ["authData", authData],
    ]);
    this.credentials.push({ id, key: privateKey, rpId: rp.id, userHandle: unb64(user.id), counter });
    return {
      id: b64(id),
      rawId: b64(id),
      type: "public-key",
      authenticatorAttachment: "platform",
      response: {
        clientDataJSON: b64(this.clientData("webauthn.create", options)),
        attestationObject: b64(cbor(attestation)),
        transports: ["internal"],
      },
      clientExtensionResults: {},
    };
  }

  /** navigator.credentials.get({ publicKey }): AuthenticationResponseJSON, or null with no credential. */
  get(options: Json): Json | null {
    const rpId = String(options.rpId);
    const allowed = ((options.allowCredentials as { id: string }[] | undefined) ?? []).map((c) => unb64(c.id));
    const credential = this.credentials.find(
      (c) => c.rpId === rpId && (allowed.length === 0 || allowed.some((id) => id.equals(c.id))),
    );
    if (!credential) return null;
    credential.counter += 1;
    const authData = authDataHead(rpId, 0, credential.counter);
    const clientData = this.clientData("webauthn.get", options);
    const signature = sign("sha256", Buffer.concat([authData, sha256(clientData)]), credential.key);
    return {
      id: b64(credential.id),
      rawId: b64(credential.id),
      type: "public-key",
      authenticatorAttachment: "platform",
      response: {
        clientDataJSON: b64(clientData),
        authenticatorData: b64(authData),
        signature: b64(signature),
        userHandle: b64(credential.userHandle),
      },
      clientExtensionResults: {},
    };
  }

  private clientData(type: string, options: Json): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge: options.challenge, origin: this.origin, crossOrigin: false }));
  }
}

/** rpIdHash ‖ flags (user present and verified) ‖ signCount. */
function authDataHead(rpId: string, flags: number, counter: number): Buffer {
  const tail = Buffer.alloc(5);
  tail[0] = UP | UV | flags;
  tail.writeUInt32BE(counter, 1);
  return Buffer.concat([sha256(rpId), tail]);
}

// --- the browser's API around it ---------------------------------------------------------------

/**
 * Puts `PublicKeyCredential` (with parse*FromJSON) and `navigator.credentials` backed by
 * `authenticator` on globalThis; returns the function that takes them away again. The parsed
 * options stay JSON (a browser makes ArrayBuffers of them): the authenticator reads JSON.
 */
export function installWebAuthn(authenticator: SoftAuthenticator): () => void {
  const credential = (json: Json) => ({ ...json, toJSON: () => json });
  class FakePublicKeyCredential {
    static parseCreationOptionsFromJSON(options: Json) {
      return { json: options };
    }
    static parseRequestOptionsFromJSON(options: Json) {
      return { json: options };
    }
  }
  const credentials = {
    async create({ publicKey }: { publicKey: { json: Json } }) {
      return credential(authenticator.create(publicKey.json));
    },
    async get({ publicKey }: { publicKey: { json: Json } }) {
      const answer = authenticator.get(publicKey.json);
      // A browser whose authenticators hold no allowed credential rejects once the user gives up.
      if (!answer) throw new DOMException("No passkey for this request.", "NotAllowedError");
      return credential(answer);
    },
  };
  const global = globalThis as Record<string, unknown>;
  const before = {
    PublicKeyCredential: Object.getOwnPropertyDescriptor(global, "PublicKeyCredential"),
    navigator: Object.getOwnPropertyDescriptor(global, "navigator"),
  };
  const navigator = Object.create((global.navigator as object | undefined) ?? null, {
    credentials: { value: credentials, configurable: true },
  });
  Object.defineProperty(global, "PublicKeyCredential", { value: FakePublicKeyCredential, configurable: true, writable: true });
  Object.defineProperty(global, "navigator", { value: navigator, configurable: true, writable: true });
  return () => {
    for (const [name, descriptor] of Object.entries(before)) {
      if (descriptor) Object.defineProperty(global, name, descriptor);
      else delete global[name];
    }
  };
}
