/** What the client keeps between requests (and, with localStorageTokenStore, between visits). */
export interface Tokens {
  /** JWT for `Authorization: Bearer`. */
  accessToken: string;
  /** RFC 3339 time at which the access token stops working. */
  accessTokenExpiresAt: string;
  /** Opaque token for refreshSession; rotates on every refresh. */
  refreshToken: string;
}

/** Where the client keeps its tokens. Synchronous, so that every request sees the latest. */
export interface TokenStore {
  get(): Tokens | null;
  set(tokens: Tokens | null): void;
  /**
   * Set by stores that every tab of the origin reads (localStorageTokenStore: its key). The
   * clients of those tabs then tell each other about sign-in, refresh and sign-out (see
   * `TodoqlClient.onAuthStateChange`) and take turns to refresh. Unset: the store is private to
   * its client (memoryTokenStore), unless the client's `broadcastChannel` option names a channel.
   */
  readonly sharedAs?: string;
}

/** Tokens in memory: gone when the page or process goes. */
export function memoryTokenStore(initial: Tokens | null = null): TokenStore {
  let tokens = initial;
  return {
    get: () => tokens,
    set: (next) => {
      tokens = next;
    },
  };
}

/** The part of the Web Storage API the store needs (localStorage, sessionStorage). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Tokens in `localStorage` (or any Web Storage), shared by the tabs of one origin. Anything a
 * script on the page can read, an XSS can read too: keep the page free of untrusted scripts.
 *
 * `sharedByTabs` (default: whether `storage` is the global localStorage) tells the client that
 * every tab reads the same entry; give `false` for a per-tab storage such as sessionStorage.
 */
export function localStorageTokenStore(
  key = "todoql.tokens",
  storage: StorageLike = (globalThis as { localStorage?: StorageLike }).localStorage as StorageLike,
  { sharedByTabs = storage === (globalThis as { localStorage?: StorageLike }).localStorage }: { sharedByTabs?: boolean } = {},
): TokenStore {
  if (!storage) throw new Error("localStorageTokenStore: no localStorage here; pass a storage");
  return {
    sharedAs: sharedByTabs ? key : undefined,
    get() {
      const raw = storage.getItem(key);
      if (!raw) return null;
      try {
        const parsed = JSON.parse(raw) as Partial<Tokens>;
        if (
          typeof parsed.accessToken === "string" &&
          typeof parsed.accessTokenExpiresAt === "string" &&
          typeof parsed.refreshToken === "string"
        ) {
          return {
            accessToken: parsed.accessToken,
            accessTokenExpiresAt: parsed.accessTokenExpiresAt,
            refreshToken: parsed.refreshToken,
          };
        }
      } catch {
        // a damaged entry is as good as none
      }
      return null;
    },
    set(tokens) {
      if (tokens) storage.setItem(key, JSON.stringify(tokens));
      else storage.removeItem(key);
    },
  };
}
