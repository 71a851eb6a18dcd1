/**
 * Runs `task` while holding the lock `name`, exclusively among every holder of that name: the
 * tabs of one origin take turns to refresh, so that one refresh token is never spent twice.
 */
export type TabLock = <T>(name: string, task: () => Promise<T>) => Promise<T>;

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** The Web Locks API (every current browser; shared by the tabs and workers of an origin). */
function webLocks(): LockManagerLike | undefined {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  return typeof locks?.request === "function" ? locks : undefined;
}

/** The tail of each lock's queue, for realms without Web Locks. */
const queues = new Map<string, Promise<unknown>>();

/**
 * A lock that serializes the tasks of this JavaScript realm only: what is left where there is
 * no Web Locks API (Node 18 to 20 at least, old browsers). Tabs then rely on the server's refresh
 * grace window, which answers a token presented twice in quick succession with the same
 * successor.
 */
export const realmLock: TabLock = (name, task) => {
  const previous = queues.get(name) ?? Promise.resolve();
  const run = previous.then(task, task);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  queues.set(name, tail);
  void tail.then(() => {
    if (queues.get(name) === tail) queues.delete(name);
  });
  return run;
};

/** `navigator.locks` where there is one, otherwise the realm's lock. */
export function defaultTabLock(): TabLock {
  const locks = webLocks();
  return locks ? (name, task) => locks.request(name, task) : realmLock;
}
