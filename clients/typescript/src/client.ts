import { AuthChannel, pickTokens, type AuthEvent, type AuthStateListener } from "./auth-state.js";
import { documentText, operationNameOf, type TodoqlDocument } from "./documents.js";
import { TodoqlError, TodoqlNetworkError, type GraphQLErrorItem } from "./errors.js";
import * as ops from "./generated/graphql.js";
import { mfaRequiredFrom, type SignedIn, type SignInResult, type VerifyMfaArgs } from "./mfa.js";
import {
  assertPasskeysSupported,
  createCredential,
  getCredential,
  type RegisterPasskeyOptions,
  type SignInWithPasskeyOptions,
} from "./passkeys.js";
import {
  subscribeToTodoChanges,
  type SubscribeToTodoChangesOptions,
  type TodoChangeListener,
  type TodoChangesSubscription,
} from "./live.js";
import { defaultVerifierStorage, keepVerifier, newVerifierPair, takeVerifier } from "./oauth-verifier.js";
import { memoryTokenStore, type StorageLike, type TokenStore, type Tokens } from "./storage.js";
import { defaultTabLock, type TabLock } from "./tab-lock.js";

/** How long news from another tab waits for this tab's view of a shared store to show it. */
const STORE_CATCH_UP_MS = 1000;

/** Variables as a rest parameter: optional when every variable of the operation is. */
export type VariablesOf<TVariables> = Record<string, never> extends TVariables
  ? [variables?: TVariables]
  : [variables: TVariables];

export interface TodoqlClientOptions {
  /** The GraphQL endpoint, e.g. "http://127.0.0.1:8000/graphql". */
  url: string;
  /** Where the tokens live. Default: memory. In a browser, `localStorageTokenStore()`. */
  tokenStore?: TokenStore;
  /**
   * Refresh the access token when it expires within this many seconds (default 60). The margin
   * is capped at half the token's lifetime, so short-lived tokens are not refreshed on every call.
   */
  refreshMarginSeconds?: number;
  /** fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** The clock, in milliseconds (default Date.now); tests move it. */
  now?: () => number;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
  /**
   * Called whenever the tokens change: sign-in, refresh, sign-out (null), here or in another
   * tab. `onAuthStateChange()` tells also what happened.
   */
  onTokensChange?: (tokens: Tokens | null) => void;
  /**
   * Called when this client learns that the session ended on the server (its refresh token was
   * refused): sign in again. Another tab's discovery arrives as a SESSION_ENDED auth change.
   */
  onSessionEnded?: (error: TodoqlError) => void;
  /**
   * Where startOAuth keeps each flow's code verifier until completeOAuth. Default:
   * `sessionStorage` (this tab), or memory where there is none.
   */
  oauthVerifierStorage?: StorageLike;
  /**
   * The BroadcastChannel on which the clients of this origin's tabs announce sign-in, refresh
   * and sign-out to each other (see `onAuthStateChange`). Default: the token store's `sharedAs`
   * (localStorageTokenStore sets it to its key), so tabs that share tokens also share news;
   * a memory store is private. Naming a channel with a memory store makes tabs copy each
   * other's tokens. `false`: no channel.
   */
  broadcastChannel?: string | false;
  /**
   * The WebSocket URL of live changes (`subscribeToTodoChanges`). Default: `url` with http(s)
   * turned into ws(s): the server serves graphql-transport-ws on its GraphQL URL.
   */
  webSocketUrl?: string;
  /**
   * The WebSocket class for live changes. Default: the global `WebSocket` (browsers, Node >= 22).
   * On Node 20, pass the `ws` package's: `import WebSocket from "ws"`.
   */
  webSocketImpl?: unknown;
  /**
   * How tabs take turns to refresh (default: the Web Locks API, `navigator.locks`, where there
   * is one; else a lock within this JavaScript realm). Only used with a broadcast channel.
   */
  lock?: TabLock;
}

/** Per-call options. */
export interface RequestOptions {
  /** Send no Authorization header, refresh nothing (sign-in, sign-up, public queries). */
  anonymous?: boolean;
  /** Aborts the request. */
  signal?: AbortSignal;
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: GraphQLErrorItem[];
}

/** Seconds from `iat` to `exp` of a JWT, or undefined when it is not readable. */
function lifetimeSeconds(jwt: string): number | undefined {
  const payload = jwt.split(".")[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const json = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "="))) as {
      iat?: unknown;
      exp?: unknown;
    };
    return typeof json.iat === "number" && typeof json.exp === "number" ? json.exp - json.iat : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A small GraphQL client for todoql on top of fetch.
 *
 * - `request(document, variables)` runs any generated document and returns its typed data, or
 *   throws `TodoqlError` (with `code` from `extensions.code`) or `TodoqlNetworkError`.
 * - It keeps the tokens of the sign-in methods (signUp, signIn, signInWithCode, completeOAuth,
 *   signInWithPasskey, verifyMfa, changePassword) in its token store and sends `Authorization: Bearer` on every
 *   request. signIn, signInWithCode and completeOAuth resolve to a `SignInResult`: SIGNED_IN, or
 *   MFA_REQUIRED when the account has a second factor (then `verifyMfa` finishes the sign-in).
 * - It refreshes the access token shortly before it expires, and once more when the server
 *   answers UNAUTHENTICATED to a request that carried a token; then it retries that request.
 * - Refreshes are single-flight: however many requests need a new token at once, exactly one
 *   refreshSession is sent and all of them wait for it. (The refresh token rotates and the
 *   server treats a replaced token presented late as stolen, so racing refreshes would end the
 *   session.) Tabs that share a token store take turns under a lock, and a tab that waited
 *   uses the tokens the other one got.
 * - `onAuthStateChange` reports sign-in, refresh, sign-out and an ended session, from this
 *   client and from the clients of other tabs (over a BroadcastChannel).
 */
export class TodoqlClient {
  readonly url: string;
  private readonly store: TokenStore;
  private readonly marginSeconds: number;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private readonly headers: Record<string, string>;
  private readonly onSessionEnded: ((error: TodoqlError) => void) | undefined;
  private readonly oauthVerifiers: StorageLike;
  private readonly listeners = new Set<AuthStateListener>();
  /** The channel to the other tabs' clients, if any. */
  private readonly channel: AuthChannel | undefined;
  /** The name of the lock around refreshes (with a channel only). */
  private readonly refreshLockName: string | undefined;
  private readonly lock: TabLock;
  private readonly webSocketUrl: string | undefined;
  private readonly webSocketImpl: unknown;
  private refreshing: Promise<Tokens | null> | null = null;

  constructor(options: TodoqlClientOptions) {
    this.url = options.url;
    this.store = options.tokenStore ?? memoryTokenStore();
    this.marginSeconds = options.refreshMarginSeconds ?? 60;
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (!fetchImpl) throw new Error("TodoqlClient: no fetch available; pass options.fetch");
    this.fetchImpl = fetchImpl.bind(globalThis);
    this.now = options.now ?? Date.now;
    this.headers = options.headers ?? {};
    this.onSessionEnded = options.onSessionEnded;
    this.oauthVerifiers = options.oauthVerifierStorage ?? defaultVerifierStorage();
    const onTokensChange = options.onTokensChange;
    if (onTokensChange) this.listeners.add((_event, tokens) => onTokensChange(tokens));

    const channelName = options.broadcastChannel ?? this.store.sharedAs;
    // A store that every tab reads is shared by default; only an explicit name insists.
    if (channelName && (AuthChannel.isSupported || options.broadcastChannel)) {
      this.channel = new AuthChannel(`todoql-auth:${channelName}`, (event, tokens) =>
        this.changedInOtherTab(event, tokens),
      );
      this.refreshLockName = `todoql-refresh:${channelName}`;
    }
    this.lock = options.lock ?? defaultTabLock();
    this.webSocketUrl = options.webSocketUrl;
    this.webSocketImpl = options.webSocketImpl;
  }

  /** Stops listening to other tabs (a client with a broadcast channel holds one open). */
  close(): void {
    this.channel?.close();
    this.listeners.clear();
  }

  // --- auth state --------------------------------------------------------------------------

  /**
   * Calls `listener(event, tokens, { fromOtherTab })` on every sign-in, refresh, sign-out and
   * ended session, of this client and of the clients of other tabs. Returns the unsubscribe
   * function.
   */
  onAuthStateChange(listener: AuthStateListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private emit(event: AuthEvent, tokens: Tokens | null, fromOtherTab: boolean): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event, tokens && { ...tokens }, { fromOtherTab });
      } catch (error) {
        // One failing listener must not stop the others, nor the sign-in that told them.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Stores the tokens, tells the listeners and the other tabs. */
  private change(event: AuthEvent, payload: Tokens | null): void {
    const tokens = payload && pickTokens(payload);
    const before = this.store.get();
    this.store.set(tokens);
    // Signing out twice is one sign-out.
    if (before === null && tokens === null) return;
    this.emit(event, tokens, false);
    this.channel?.post(event, tokens);
  }

  /** Another tab's client signed in, refreshed or out: follow it. */
  private changedInOtherTab(event: AuthEvent, tokens: Tokens | null): void {
    if (!this.store.sharedAs) {
      this.store.set(tokens);
      this.emit(event, tokens, true);
      return;
    }
    // A store every tab reads holds the other tab's tokens (perhaps newer ones than this
    // message's), so it is never written here. But a browser may pass that write between tab
    // processes after the message (Chromium does): listeners that act on the news (load the
    // list, open a socket) would still read the old tokens. So the news is told once this tab's
    // store shows the announced tokens or has changed since, or after a second at the latest.
    const announced = tokens?.refreshToken ?? null;
    const atMessage = this.store.get()?.refreshToken ?? null;
    const caughtUp = () => {
      const now = this.store.get()?.refreshToken ?? null;
      return now === announced || now !== atMessage;
    };
    if (caughtUp()) {
      this.emit(event, tokens, true);
      return;
    }
    const deadline = Date.now() + STORE_CATCH_UP_MS;
    const wait = () => {
      if (caughtUp() || Date.now() >= deadline) this.emit(event, tokens, true);
      else setTimeout(wait, 10);
    };
    setTimeout(wait, 10);
  }

  // --- tokens ------------------------------------------------------------------------------

  /** The stored tokens, or null when signed out. */
  get tokens(): Tokens | null {
    return this.store.get();
  }

  /** Whether the client holds tokens (it may still learn that the session has ended). */
  get isSignedIn(): boolean {
    return this.store.get() !== null;
  }

  /**
   * Replaces the stored tokens, e.g. after a sign-in through your own document (SIGNED_IN), or
   * null to forget them without asking the server (SIGNED_OUT).
   */
  setTokens(tokens: Tokens | null): void {
    this.change(tokens ? "SIGNED_IN" : "SIGNED_OUT", tokens);
  }

  /** Keeps the tokens of an auth payload. */
  private keep<T extends Tokens>(payload: T, event: AuthEvent = "SIGNED_IN"): T {
    this.change(event, payload);
    return payload;
  }

  /**
   * Runs a first factor: SIGNED_IN (tokens kept), or MFA_REQUIRED (nothing kept: the server
   * made no session yet). Every other error is thrown as it is.
   */
  private async firstFactor(signIn: () => Promise<ops.AuthPayloadFieldsFragment>): Promise<SignInResult> {
    let payload: ops.AuthPayloadFieldsFragment;
    try {
      payload = await signIn();
    } catch (error) {
      const mfa = mfaRequiredFrom(error);
      if (mfa) return mfa;
      throw error;
    }
    return { ...this.keep(payload), kind: "SIGNED_IN" };
  }

  /** Whether the access token expires within the refresh margin. */
  private expiresSoon(tokens: Tokens): boolean {
    const expiresAt = Date.parse(tokens.accessTokenExpiresAt);
    if (Number.isNaN(expiresAt)) return true;
    const lifetime = lifetimeSeconds(tokens.accessToken);
    const margin = Math.min(this.marginSeconds, lifetime === undefined ? Infinity : lifetime / 2);
    return expiresAt - this.now() <= margin * 1000;
  }

  /**
   * Trades the refresh token for new tokens, now. Concurrent callers share one refreshSession;
   * when another tab refreshed meanwhile, its tokens are the answer and nothing is sent.
   * Resolves to null (and clears the tokens) when the server refuses the refresh token.
   */
  refresh(): Promise<Tokens | null> {
    if (!this.refreshing) {
      this.refreshing = this.runRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async runRefresh(): Promise<Tokens | null> {
    const seen = this.store.get();
    if (!seen) return null;
    if (!this.refreshLockName) return this.refreshNow(seen);
    return this.lock(this.refreshLockName, async () => {
      const current = this.store.get();
      // Another tab refreshed (or signed out, or in anew) while this one waited for the lock:
      // spending `seen` again would only be answered by the grace window, or look like theft.
      if (!current || current.refreshToken !== seen.refreshToken) return current;
      return this.refreshNow(current);
    });
  }

  private async refreshNow(current: Tokens): Promise<Tokens | null> {
    // Network trouble throws from here and keeps the tokens: a later call tries again.
    const { response, status } = await this.send(
      ops.RefreshSessionDocument,
      { refreshToken: current.refreshToken },
      undefined,
      undefined,
    );
    // The tokens changed while the request was out (a sign-out or sign-in here, another tab's
    // refresh): that change is newer than this answer, and a sign-out must not be undone.
    const now = this.store.get();
    if (now?.refreshToken !== current.refreshToken) return now;
    const payload = response.data?.refreshSession;
    if (payload && !response.errors?.length) {
      this.keep(payload, "TOKEN_REFRESHED");
      return this.store.get();
    }
    const error = new TodoqlError(response.errors ?? [], { operationName: "RefreshSession", status });
    if (error.code === "INVALID_TOKEN" || error.code === "UNAUTHENTICATED") {
      this.change("SESSION_ENDED", null);
      this.onSessionEnded?.(error);
      return null;
    }
    throw error;
  }

  /** The access token to send now: refreshed first when it expires soon; null when signed out. */
  private async currentAccessToken(): Promise<string | null> {
    const tokens = this.store.get();
    if (!tokens) return null;
    return (this.expiresSoon(tokens) ? await this.refresh() : tokens)?.accessToken ?? null;
  }

  /**
   * A token to use instead of `refused` (the server said it is expired or unknown): the stored
   * one when another call refreshed meanwhile, else a refresh. Null when the session ended.
   */
  private async replacementFor(refused: string): Promise<string | null> {
    const latest = this.store.get();
    if (latest && latest.accessToken !== refused) return latest.accessToken;
    return (await this.refresh())?.accessToken ?? null;
  }

  // --- live changes --------------------------------------------------------------------------

  /**
   * Live changes to the caller's todos and trash over a WebSocket (graphql-ws), in revision
   * order, from every device. Starts with the changes after `since` (the `revision` of the
   * `todos()` page the app shows), then goes live. Reconnects by itself, each time with `since`
   * = the last revision delivered, so the app sees no gap and no duplicate: after the server
   * closes with 4403 (token expired: refreshes first), 1012 (restart) or a network drop.
   * `listener` gets CHANGE, CONNECTED and DISCONNECTED events, and at most one final
   * RESYNC_REQUIRED (reload the list, subscribe again) or ERROR (e.g. the session ended).
   */
  subscribeToTodoChanges(options: SubscribeToTodoChangesOptions, listener: TodoChangeListener): TodoChangesSubscription {
    return subscribeToTodoChanges(
      {
        url: this.webSocketUrl ?? webSocketUrlOf(this.url),
        webSocketImpl: this.webSocketImpl,
        accessToken: () => this.currentAccessToken(),
        replaceAccessToken: (refused) => this.replacementFor(refused),
      },
      options,
      listener,
    );
  }

  // --- requests ----------------------------------------------------------------------------

  /**
   * Runs `document` and returns its data. Throws TodoqlError when the response has errors
   * (even with partial data), TodoqlNetworkError when there is no GraphQL response.
   */
  async request<TResult, TVariables>(
    document: TodoqlDocument<TResult, TVariables>,
    ...args: [...VariablesOf<TVariables>, RequestOptions?]
  ): Promise<TResult> {
    const [variables, options] = args as unknown as [TVariables | undefined, RequestOptions | undefined];
    const operationName = operationNameOf(document);
    if (options?.anonymous) {
      return this.unwrap(await this.send(document, variables, undefined, options.signal), operationName);
    }

    let tokens = this.store.get();
    if (tokens && this.expiresSoon(tokens)) {
      tokens = await this.refresh();
    }
    const first = await this.send(document, variables, tokens?.accessToken, options?.signal);
    if (!tokens || !isUnauthenticated(first.response)) return this.unwrap(first, operationName);

    // The token was refused (expired early, clock skew, server restarted with a new key):
    // refresh once, unless another call already did, and try again.
    const latest = this.store.get();
    const fresh = latest && latest.accessToken !== tokens.accessToken ? latest : await this.refresh();
    if (!fresh) {
      throw new TodoqlError(
        [{ message: "The session has ended; sign in again.", extensions: { code: "UNAUTHENTICATED" } }],
        { operationName, status: first.status },
      );
    }
    return this.unwrap(await this.send(document, variables, fresh.accessToken, options?.signal), operationName);
  }

  private unwrap<T>(result: { response: GraphQLResponse<T>; status: number }, operationName?: string): T {
    const { response, status } = result;
    if (response.errors?.length) {
      throw new TodoqlError(response.errors, { operationName, status });
    }
    if (response.data === undefined || response.data === null) {
      throw new TodoqlNetworkError(`${operationName ?? "operation"}: the response has no data`, { status });
    }
    return response.data;
  }

  private async send<TResult, TVariables>(
    document: TodoqlDocument<TResult, TVariables>,
    variables: TVariables | undefined,
    accessToken: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ response: GraphQLResponse<TResult>; status: number }> {
    const query = documentText(document);
    const headers: Record<string, string> = {
      ...this.headers,
      "content-type": "application/json",
      accept: "application/graphql-response+json, application/json",
    };
    if (accessToken) headers.authorization = `Bearer ${accessToken}`;
    let res: Response;
    try {
      res = await this.fetchImpl(this.url, {
        method: "POST",
        headers,
        body: JSON.stringify({ query, variables: variables ?? {}, operationName: operationNameOf(document) }),
        signal,
      });
    } catch (cause) {
      throw new TodoqlNetworkError(`Cannot reach ${this.url}`, { cause });
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (cause) {
      throw new TodoqlNetworkError(`${this.url} answered ${res.status} without GraphQL JSON`, {
        status: res.status,
        cause,
      });
    }
    if (!body || typeof body !== "object" || (!("data" in body) && !("errors" in body))) {
      throw new TodoqlNetworkError(`${this.url} answered ${res.status} without a GraphQL response`, {
        status: res.status,
      });
    }
    return { response: body as GraphQLResponse<TResult>, status: res.status };
  }

  // --- the API, one method per operation ---------------------------------------------------

  /** What sign-in methods the server offers. */
  async authConfig() {
    return (await this.request(ops.AuthConfigDocument, {}, { anonymous: true })).authConfig;
  }
  /** The signed-in user, or null. */
  async me() {
    return (await this.request(ops.MeDocument)).me;
  }
  /** The caller's active sessions, newest first. */
  async sessions() {
    return (await this.request(ops.SessionsDocument)).sessions;
  }
  /**
   * The caller's security log (sign-ins, failed sign-ins, credential and session changes),
   * newest first: `first` events (server default 20) after the cursor `after` (the previous
   * page's `pageInfo.endCursor`), only the `types` given when set.
   */
  async securityEvents(variables: ops.SecurityEventsQueryVariables = {}) {
    return (await this.request(ops.SecurityEventsDocument, variables)).securityEvents;
  }
  /** Creates an account and signs in (keeps the tokens). */
  async signUp(input: ops.SignUpInput) {
    return this.keep((await this.request(ops.SignUpDocument, { input }, { anonymous: true })).signUp);
  }
  /**
   * Signs in with email and password: SIGNED_IN (tokens kept) or MFA_REQUIRED (finish with
   * verifyMfa). Wrong credentials throw TodoqlError INVALID_CREDENTIALS.
   */
  async signIn(input: ops.SignInInput): Promise<SignInResult> {
    return this.firstFactor(async () => (await this.request(ops.SignInDocument, { input }, { anonymous: true })).signIn);
  }
  /**
   * The second step of a sign-in that answered MFA_REQUIRED: the mfaToken with a code of the
   * authenticator app (`totpCode`) or a recovery code (`recoveryCode`). Keeps the tokens
   * (SIGNED_IN). A wrong code throws TodoqlError INVALID_TOKEN; the mfaToken survives 4 of them.
   */
  async verifyMfa(input: VerifyMfaArgs) {
    return this.keep((await this.request(ops.VerifyMfaDocument, { input }, { anonymous: true })).verifyMfa);
  }
  /**
   * Starts turning on TOTP: a new secret (base32, for manual entry) and its otpauth:// URI (for a
   * QR code). Inactive until confirmTotpEnrollment. Needs a verified address and a recent sign-in
   * (else REAUTHENTICATION_REQUIRED), and a server with TODOQL_ENCRYPTION_KEY (`authConfig().totp`).
   */
  async startTotpEnrollment() {
    return (await this.request(ops.StartTotpEnrollmentDocument)).startTotpEnrollment;
  }
  /**
   * Turns TOTP on with a current code of the authenticator app. Resolves to the 10 recovery codes:
   * show them now, the server never shows them again. The user's other sessions end.
   */
  async confirmTotpEnrollment(code: string) {
    return (await this.request(ops.ConfirmTotpEnrollmentDocument, { code })).confirmTotpEnrollment.codes;
  }
  /** Turns TOTP off with a current authenticator code or a recovery code. */
  async disableTotp(code: string) {
    return (await this.request(ops.DisableTotpDocument, { code })).disableTotp;
  }
  /** New recovery codes for a current authenticator code; the old ones stop working. */
  async regenerateRecoveryCodes(code: string) {
    return (await this.request(ops.RegenerateRecoveryCodesDocument, { code })).regenerateRecoveryCodes.codes;
  }
  /**
   * Adds a passkey to the signed-in user: startPasskeyRegistration, then the browser's dialog
   * (navigator.credentials.create), then finishPasskeyRegistration with the credential's
   * toJSON(). Resolves to the new passkey. Needs a recent sign-in (else TodoqlError
   * REAUTHENTICATION_REQUIRED) and a browser with WebAuthn's JSON helpers (else
   * PasskeysUnsupportedError, before any request). A dismissed dialog rejects with the
   * browser's DOMException (NotAllowedError); an authenticator that already holds one of the
   * user's passkeys is refused by the browser (InvalidStateError).
   */
  async registerPasskey(options: RegisterPasskeyOptions = {}) {
    assertPasskeysSupported();
    const ceremony = (await this.request(ops.StartPasskeyRegistrationDocument)).startPasskeyRegistration;
    const credential = await createCredential(ceremony.options, options.signal);
    const input = { ceremonyId: ceremony.ceremonyId, credential, name: options.name ?? null };
    return (await this.request(ops.FinishPasskeyRegistrationDocument, { input })).finishPasskeyRegistration;
  }
  /**
   * Signs in with a passkey: startPasskeySignIn (for `email`'s passkeys, or any discoverable one
   * without it), then the browser's dialog (navigator.credentials.get, `mediation` as given),
   * then finishPasskeySignIn. Keeps the tokens (SIGNED_IN) and resolves to SIGNED_IN: a passkey
   * sign-in needs no second factor. A refused answer throws TodoqlError INVALID_TOKEN.
   */
  async signInWithPasskey(options: SignInWithPasskeyOptions = {}): Promise<SignedIn> {
    assertPasskeysSupported();
    const email = options.email?.trim() || null;
    const ceremony = (await this.request(ops.StartPasskeySignInDocument, { email }, { anonymous: true }))
      .startPasskeySignIn;
    const credential = await getCredential(ceremony.options, options);
    const input = { ceremonyId: ceremony.ceremonyId, credential };
    const payload = (await this.request(ops.FinishPasskeySignInDocument, { input }, { anonymous: true }))
      .finishPasskeySignIn;
    return { ...this.keep(payload), kind: "SIGNED_IN" };
  }
  /** The signed-in user's passkeys, oldest first. */
  async passkeys() {
    const me = (await this.request(ops.PasskeysDocument)).me;
    if (!me) {
      // `me` is null, not an error, without a valid token; a list of none would be a lie.
      throw new TodoqlError([{ message: "Sign in to list passkeys.", extensions: { code: "UNAUTHENTICATED" } }], {
        operationName: "Passkeys",
      });
    }
    return me.passkeys;
  }
  /** Renames one of the user's passkeys (1 to 64 characters, trimmed). */
  async renamePasskey(id: string, name: string) {
    return (await this.request(ops.RenamePasskeyDocument, { id, name })).renamePasskey;
  }
  /** Deletes one of the user's passkeys; TodoqlError CONFLICT when it is their last way to sign in. */
  async deletePasskey(id: string) {
    return (await this.request(ops.DeletePasskeyDocument, { id })).deletePasskey;
  }
  /** Revokes the current session and forgets the tokens (also when the session had already ended). */
  async signOut(): Promise<boolean> {
    try {
      return this.isSignedIn ? (await this.request(ops.SignOutDocument)).signOut : false;
    } catch (error) {
      if (!(error instanceof TodoqlError && error.code === "UNAUTHENTICATED")) throw error;
      return false;
    } finally {
      this.setTokens(null);
    }
  }
  async revokeSession(id: string) {
    return (await this.request(ops.RevokeSessionDocument, { id })).revokeSession;
  }
  async revokeOtherSessions() {
    return (await this.request(ops.RevokeOtherSessionsDocument)).revokeOtherSessions;
  }
  /** Changes the password; the server issues new tokens for this session (kept). */
  async changePassword(input: ops.ChangePasswordInput) {
    return this.keep((await this.request(ops.ChangePasswordDocument, { input })).changePassword, "TOKEN_REFRESHED");
  }
  async updateProfile(input: ops.UpdateProfileInput) {
    return (await this.request(ops.UpdateProfileDocument, { input })).updateProfile;
  }
  /** Deletes the account and forgets the tokens. */
  async deleteAccount(input: ops.DeleteAccountInput) {
    const deleted = (await this.request(ops.DeleteAccountDocument, { input })).deleteAccount;
    if (deleted) this.setTokens(null);
    return deleted;
  }
  async sendVerificationEmail() {
    return (await this.request(ops.SendVerificationEmailDocument)).sendVerificationEmail;
  }
  /** Verifies with {email, code} or {token}; works signed in or out. */
  async verifyEmail(input: ops.VerifyEmailInput) {
    return (await this.request(ops.VerifyEmailDocument, { input })).verifyEmail;
  }
  async requestSignInCode(email: string) {
    return (await this.request(ops.RequestSignInCodeDocument, { email }, { anonymous: true })).requestSignInCode;
  }
  /** Signs in with {email, code} or {token}: SIGNED_IN (tokens kept) or MFA_REQUIRED (see signIn). */
  async signInWithCode(input: ops.SignInWithCodeInput): Promise<SignInResult> {
    return this.firstFactor(
      async () => (await this.request(ops.SignInWithCodeDocument, { input }, { anonymous: true })).signInWithCode,
    );
  }
  async requestPasswordReset(email: string) {
    return (await this.request(ops.RequestPasswordResetDocument, { email }, { anonymous: true })).requestPasswordReset;
  }
  /** Sets a new password with the emailed token. Every session of the user ends. */
  async resetPassword(input: ops.ResetPasswordInput) {
    return (await this.request(ops.ResetPasswordDocument, { input }, { anonymous: true })).resetPassword;
  }
  async requestEmailChange(input: ops.RequestEmailChangeInput) {
    return (await this.request(ops.RequestEmailChangeDocument, { input })).requestEmailChange;
  }
  async confirmEmailChange(input: ops.ConfirmEmailChangeInput) {
    return (await this.request(ops.ConfirmEmailChangeDocument, { input })).confirmEmailChange;
  }
  /**
   * Starts OAuth: send the browser to `authorizationUrl`. Makes a random code verifier, sends
   * only its S256 challenge, and keeps the verifier (sessionStorage, by state) for
   * completeOAuth: only this browser can finish the flow (no login CSRF).
   */
  async startOAuth(provider: string, redirectUri: string) {
    const { verifier, challenge } = await newVerifierPair();
    const started = (await this.request(ops.StartOAuthDocument, { provider, redirectUri, codeChallenge: challenge }))
      .startOAuth;
    keepVerifier(this.oauthVerifiers, started.state, verifier);
    return started;
  }
  /**
   * Finishes OAuth with the `code` and `state` of the callback URL and the verifier startOAuth
   * kept for that state: SIGNED_IN (tokens kept) or MFA_REQUIRED (see signIn). Signed in, it
   * links the provider account instead. A callback this browser did not start is refused
   * (INVALID_TOKEN).
   */
  async completeOAuth(
    input: Omit<ops.CompleteOAuthInput, "codeVerifier"> & { codeVerifier?: string },
  ): Promise<SignInResult> {
    // Forgotten whatever the answer: the server allows one try per state.
    const kept = takeVerifier(this.oauthVerifiers, input.state);
    const codeVerifier = input.codeVerifier ?? kept ?? "";
    return this.firstFactor(
      async () => (await this.request(ops.CompleteOAuthDocument, { input: { ...input, codeVerifier } })).completeOAuth,
    );
  }
  async unlinkAccount(provider: string) {
    return (await this.request(ops.UnlinkAccountDocument, { provider })).unlinkAccount;
  }
  async todo(id: string) {
    return (await this.request(ops.TodoDocument, { id })).todo;
  }
  async todos(variables: ops.TodosQueryVariables = {}) {
    return (await this.request(ops.TodosDocument, variables)).todos;
  }
  /**
   * The change log after revision `since`, oldest first, `first` at a time (default 50): offline
   * sync. Pass the answer's `revision` as the next `since` while `hasMore`. (Not the server's
   * default of 100: with the full todo and trash entry, 25 fields a change, 100 changes cost more
   * than the server's default complexity limit of 2000.)
   */
  async todoChanges(since: number, first = 50) {
    return (await this.request(ops.TodoChangesDocument, { since, first })).todoChanges;
  }
  async deletedTodos(variables: ops.DeletedTodosQueryVariables = {}) {
    return (await this.request(ops.DeletedTodosDocument, variables)).deletedTodos;
  }
  async createTodo(input: ops.CreateTodoInput) {
    return (await this.request(ops.CreateTodoDocument, { input })).createTodo;
  }
  async updateTodo(id: string, input: ops.UpdateTodoInput) {
    return (await this.request(ops.UpdateTodoDocument, { id, input })).updateTodo;
  }
  async setTodoCompleted(id: string, completed: boolean) {
    return (await this.request(ops.SetTodoCompletedDocument, { id, completed })).setTodoCompleted;
  }
  async deleteTodo(id: string) {
    return (await this.request(ops.DeleteTodoDocument, { id })).deleteTodo;
  }
  async restoreTodo(id: string) {
    return (await this.request(ops.RestoreTodoDocument, { id })).restoreTodo;
  }
}

/** ws(s):// for http(s):// (a relative URL resolves against the page, in a browser). */
function webSocketUrlOf(url: string): string {
  const base = typeof location === "undefined" ? undefined : location.href;
  const ws = new URL(url, base);
  ws.protocol = ws.protocol === "https:" ? "wss:" : ws.protocol === "http:" ? "ws:" : ws.protocol;
  return ws.href;
}

function isUnauthenticated(response: GraphQLResponse<unknown>): boolean {
  return response.errors?.some((e) => e.extensions?.code === "UNAUTHENTICATED") ?? false;
}
