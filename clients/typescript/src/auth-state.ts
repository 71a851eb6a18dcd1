import type { Tokens } from "./storage.js";

/**
 * What happened to the session (the names follow Supabase's `onAuthStateChange`):
 * - `SIGNED_IN`: new tokens from a sign-in (signUp, signIn, signInWithCode, completeOAuth,
 *   setTokens);
 * - `TOKEN_REFRESHED`: new tokens for the same session (refreshSession, changePassword);
 * - `SIGNED_OUT`: signOut, deleteAccount or setTokens(null);
 * - `SESSION_ENDED`: the server refused the refresh token (revoked, expired, password reset,
 *   reuse detected): sign in again.
 */
export type AuthEvent = "SIGNED_IN" | "TOKEN_REFRESHED" | "SIGNED_OUT" | "SESSION_ENDED";

export const AUTH_EVENTS: readonly AuthEvent[] = ["SIGNED_IN", "TOKEN_REFRESHED", "SIGNED_OUT", "SESSION_ENDED"];

/** Where an auth change came from. */
export interface AuthChangeDetails {
  /** True when another tab (another client on the same channel) made the change. */
  fromOtherTab: boolean;
}

/** Called with every auth change; `tokens` is null after SIGNED_OUT and SESSION_ENDED. */
export type AuthStateListener = (event: AuthEvent, tokens: Tokens | null, details: AuthChangeDetails) => void;

/** What one tab tells the others. Versioned, so that a future format is ignored, not misread. */
interface AuthMessage {
  todoqlAuth: 1;
  event: AuthEvent;
  tokens: Tokens | null;
}

function isTokens(value: unknown): value is Tokens {
  if (!value || typeof value !== "object") return false;
  const t = value as Record<string, unknown>;
  return (
    typeof t.accessToken === "string" &&
    typeof t.accessTokenExpiresAt === "string" &&
    typeof t.refreshToken === "string"
  );
}

/**
 * A message another tab sent, or undefined when it is not one (any script of the origin can
 * post on the channel: a malformed message is ignored, never half-applied).
 */
function readMessage(data: unknown): { event: AuthEvent; tokens: Tokens | null } | undefined {
  if (!data || typeof data !== "object") return undefined;
  const message = data as Partial<AuthMessage>;
  if (message.todoqlAuth !== 1 || !AUTH_EVENTS.includes(message.event as AuthEvent)) return undefined;
  const signedIn = message.event === "SIGNED_IN" || message.event === "TOKEN_REFRESHED";
  if (signedIn && !isTokens(message.tokens)) return undefined;
  if (!signedIn && message.tokens !== null) return undefined;
  const tokens = signedIn ? pickTokens(message.tokens as Tokens) : null;
  return { event: message.event as AuthEvent, tokens };
}

/** Only the three token fields, whatever else the object carries. */
export function pickTokens(tokens: Tokens): Tokens {
  return {
    accessToken: tokens.accessToken,
    accessTokenExpiresAt: tokens.accessTokenExpiresAt,
    refreshToken: tokens.refreshToken,
  };
}

interface BroadcastChannelLike {
  postMessage(message: unknown): void;
  close(): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  unref?: () => void;
}

function channelConstructor(): (new (name: string) => BroadcastChannelLike) | undefined {
  return (globalThis as { BroadcastChannel?: new (name: string) => BroadcastChannelLike }).BroadcastChannel;
}

/**
 * The auth changes of the clients of one origin that use the same channel name, over a
 * BroadcastChannel (same origin only; in Node, the same process and its workers). A message
 * never reaches the channel object that sent it.
 */
export class AuthChannel {
  private readonly channel: BroadcastChannelLike;

  /** Whether this runtime has BroadcastChannel (browsers, Node >= 18, Deno, Bun). */
  static get isSupported(): boolean {
    return typeof channelConstructor() === "function";
  }

  constructor(name: string, onChange: (event: AuthEvent, tokens: Tokens | null) => void) {
    const Channel = channelConstructor();
    if (!Channel) throw new Error("TodoqlClient: this runtime has no BroadcastChannel");
    this.channel = new Channel(name);
    this.channel.onmessage = ({ data }) => {
      const message = readMessage(data);
      if (message) onChange(message.event, message.tokens);
    };
    // Node: an open channel must not keep the process alive.
    this.channel.unref?.();
  }

  post(event: AuthEvent, tokens: Tokens | null): void {
    const message: AuthMessage = { todoqlAuth: 1, event, tokens: tokens && pickTokens(tokens) };
    this.channel.postMessage(message);
  }

  close(): void {
    this.channel.onmessage = null;
    this.channel.close();
  }
}
