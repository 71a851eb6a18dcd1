// The browser's half of binding an OAuth flow to the browser that started it (RFC 7636 S256,
// used against login CSRF as RFC 6749 §10.12 asks): startOAuth sends only the challenge and
// keeps the verifier here; completeOAuth presents it. A callback URL made in another browser
// (say, an attacker's, for their own provider account) finds no verifier here, and the server
// refuses to finish it.
import type { StorageLike } from "./storage.js";

const KEY_PREFIX = "todoql.oauth.verifier.";

/** A verifier (43 characters of base64url: 32 random bytes) and its S256 challenge. */
export interface VerifierPair {
  verifier: string;
  challenge: string;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function webCrypto(): Crypto {
  const crypto = (globalThis as { crypto?: Crypto }).crypto;
  if (!crypto?.subtle || !crypto.getRandomValues) {
    // crypto.subtle exists only in secure contexts: https, or http://localhost.
    throw new Error("OAuth needs Web Crypto (crypto.subtle): serve the app over https (or from localhost)");
  }
  return crypto;
}

/** A fresh random verifier and base64url(SHA-256(verifier)). */
export async function newVerifierPair(): Promise<VerifierPair> {
  const crypto = webCrypto();
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return { verifier, challenge: base64url(new Uint8Array(digest)) };
}

function memoryStorage(): StorageLike {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

/**
 * `sessionStorage` when the page has one: it belongs to this tab and this origin, lives as
 * long as the tab, and survives the round trip to the provider. Elsewhere (Node, a sandboxed
 * frame that may not touch it), memory of this one client.
 */
export function defaultVerifierStorage(): StorageLike {
  try {
    const storage = (globalThis as { sessionStorage?: StorageLike }).sessionStorage;
    if (storage) {
      storage.getItem(KEY_PREFIX); // throws where access is denied
      return storage;
    }
  } catch {
    // access denied: fall through
  }
  return memoryStorage();
}

/** Keeps the verifier of the flow with `state`. */
export function keepVerifier(storage: StorageLike, state: string, verifier: string): void {
  storage.setItem(KEY_PREFIX + state, verifier);
}

/** The verifier of the flow with `state`, removed as it is read (a state works once); null when this browser did not start that flow. */
export function takeVerifier(storage: StorageLike, state: string): string | null {
  const key = KEY_PREFIX + state;
  const verifier = storage.getItem(key);
  storage.removeItem(key);
  return verifier;
}
