// A minimal todoql web app in plain TypeScript on @todoql/client: every page is a function
// that renders into <main>. The client keeps the tokens in localStorage and refreshes them.
import {
  PasskeysUnsupportedError,
  TodoqlClient,
  TodoqlError,
  TodoqlNetworkError,
  localStorageTokenStore,
  passkeysSupported,
  type DeletedTodoFieldsFragment,
  type MfaRequired,
  type PasskeyFieldsFragment,
  type SecurityEventFieldsFragment,
  type SecurityEventType,
  type SessionFieldsFragment,
  type SignInResult,
  type TodoChange,
  type TodoChangesSubscription,
  type TodoFieldsFragment,
  type UserFieldsFragment,
} from "@todoql/client";
import "./style.css";
// The pages that the links in mails open ({app}/verify-email?token=…). The server builds those
// links from the same file, so a page renamed there is renamed here.
import mailLinkPages from "../../../crates/domain/src/mail/messages/pages.json";

/** The paths of the pages that mail links open. */
const MAIL_PAGE = {
  verifyEmail: `/${mailLinkPages.verifyEmail}`,
  signIn: `/${mailLinkPages.signIn}`,
  resetPassword: `/${mailLinkPages.resetPassword}`,
  confirmEmail: `/${mailLinkPages.confirmEmail}`,
} as const;

const API_URL: string = import.meta.env.VITE_TODOQL_URL ?? "http://127.0.0.1:8000/graphql";

// The tokens live in localStorage, so every tab of the app shares them, and the tabs' clients
// tell each other about sign-in, refresh and sign-out.
const client = new TodoqlClient({
  url: API_URL,
  tokenStore: localStorageTokenStore("todoql.example.tokens"),
});

client.onAuthStateChange((event, _tokens, { fromOtherTab }) => {
  if (event === "SESSION_ENDED") {
    user = null;
    navigate(MAIL_PAGE.signIn, "Your session has ended. Sign in again.");
  } else if (fromOtherTab && event === "SIGNED_OUT") {
    user = null;
    navigate(MAIL_PAGE.signIn, "You signed out in another tab.");
  } else if (fromOtherTab && event === "SIGNED_IN") {
    user = null;
    flash = "You signed in in another tab.";
    navigate("/");
  } else {
    // This tab's own sign-in and sign-out navigate where they happen; a refresh changes nothing
    // on screen.
    renderNav();
  }
});

/** The signed-in user, once known. */
let user: UserFieldsFragment | null = null;
/** A message for the next page (after a redirect). */
let flash: string | null = null;

// --- tiny DOM helpers --------------------------------------------------------------------

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | boolean | ((event: Event) => void) | undefined>;

function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(key.replace(/^on/, "").toLowerCase(), value);
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}

const app = document.getElementById("app")!;
const nav = document.getElementById("nav")!;

/** What the current page must stop when another one replaces it (e.g. its live subscription). */
let leaving: Array<() => void> = [];

function onLeave(stop: () => void): void {
  leaving.push(stop);
}

function render(...children: Child[]): void {
  for (const stop of leaving.splice(0)) stop();
  app.replaceChildren();
  if (flash) {
    app.append(h("p", { class: "notice", role: "status" }, flash));
    flash = null;
  }
  for (const child of children) if (child) app.append(child);
}

function link(path: string, text: string): HTMLElement {
  return h(
    "a",
    {
      href: path,
      onclick: (event) => {
        event.preventDefault();
        navigate(path);
      },
    },
    text,
  );
}

/** A form whose submit runs `action`, showing its error above the fields. */
function form(className: string, action: (data: FormData) => Promise<void>, ...fields: Child[]): HTMLFormElement {
  const alert = h("p", { class: "alert", role: "alert", hidden: true });
  const element = h("form", { class: className }, alert, ...fields) as HTMLFormElement;
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = [...element.querySelectorAll("button")];
    buttons.forEach((b) => (b.disabled = true));
    alert.hidden = true;
    try {
      await action(new FormData(element));
    } catch (error) {
      alert.textContent = describe(error);
      alert.hidden = false;
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  });
  return element;
}

function field(label: string, name: string, attrs: Attrs = {}): HTMLElement {
  return h("label", {}, label, h("input", { name, ...attrs }));
}

function text(data: FormData, name: string): string {
  return String(data.get(name) ?? "").trim();
}

/** What to tell a person about an error. */
function describe(error: unknown): string {
  if (error instanceof TodoqlError) {
    switch (error.code) {
      case "RATE_LIMITED":
        return `Too many attempts. Try again in ${error.retryAfter ?? 60} seconds.`;
      case "INVALID_CREDENTIALS":
        return "Wrong email or password.";
      case "INVALID_TOKEN":
        return "This code or link is wrong, expired or already used.";
      case "REAUTHENTICATION_REQUIRED":
        return "For your safety this needs a recent sign-in: sign out, sign in again, and retry.";
      case "INTERNAL_SERVER_ERROR":
        return "Something went wrong on the server. Try again.";
      default:
        return error.message;
    }
  }
  if (error instanceof TodoqlNetworkError) return `Cannot reach the todoql server (${API_URL}).`;
  if (error instanceof PasskeysUnsupportedError) return "This browser cannot use passkeys.";
  // What the browser's WebAuthn dialog rejects with.
  if (error instanceof DOMException && error.name === "NotAllowedError") {
    return "The passkey request was cancelled or timed out.";
  }
  if (error instanceof DOMException && error.name === "InvalidStateError") {
    return "This device already holds a passkey for your account.";
  }
  return error instanceof Error ? error.message : String(error);
}

function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : "";
}

// --- navigation --------------------------------------------------------------------------

const routes: Record<string, () => Promise<void> | void> = {
  "/": home,
  "/sign-up": signUpPage,
  [MAIL_PAGE.signIn]: signInPage,
  "/sign-in-code": signInCodePage,
  [MAIL_PAGE.verifyEmail]: verifyEmailPage,
  "/forgot-password": forgotPasswordPage,
  [MAIL_PAGE.resetPassword]: resetPasswordPage,
  [MAIL_PAGE.confirmEmail]: confirmEmailPage,
  "/todos": todosPage,
  "/sessions": sessionsPage,
  "/security": securityPage,
  "/account": accountPage,
};

function navigate(path: string, message?: string): void {
  if (message) flash = message;
  history.pushState(null, "", path);
  void route();
}

async function route(): Promise<void> {
  renderNav();
  const page = routes[location.pathname] ?? home;
  try {
    await page();
  } catch (error) {
    if (error instanceof TodoqlError && error.code === "EMAIL_NOT_VERIFIED") {
      navigate(MAIL_PAGE.verifyEmail, "Verify your email address first.");
      return;
    }
    if (error instanceof TodoqlError && error.code === "UNAUTHENTICATED") {
      navigate(MAIL_PAGE.signIn, "Sign in to continue.");
      return;
    }
    render(h("h1", {}, "Something went wrong"), h("p", { class: "alert", role: "alert" }, describe(error)));
  }
}

window.addEventListener("popstate", () => void route());

function renderNav(): void {
  if (client.isSignedIn) {
    nav.replaceChildren(
      link("/todos", "Todos"),
      link("/sessions", "Sessions"),
      link("/security", "Security"),
      link("/account", "Account"),
      h("span", { class: "who" }, user?.email ?? ""),
      h("button", { class: "link", type: "button", onclick: () => void signOut() }, "Sign out"),
    );
  } else {
    nav.replaceChildren(link(MAIL_PAGE.signIn, "Sign in"), link("/sign-up", "Sign up"));
  }
}

async function signOut(): Promise<void> {
  await client.signOut();
  user = null;
  navigate(MAIL_PAGE.signIn, "Signed out.");
}

/** The user, fetched once per page load; null when signed out. */
async function currentUser(): Promise<UserFieldsFragment | null> {
  if (!client.isSignedIn) return (user = null);
  if (!user) user = await client.me();
  renderNav();
  return user;
}

/** Where to go after signing in. */
async function afterSignIn(signedIn: UserFieldsFragment): Promise<void> {
  user = signedIn;
  const config = await client.authConfig();
  if (!signedIn.emailVerified && config.requireVerifiedEmail) {
    navigate(MAIL_PAGE.verifyEmail, `We sent a 6-digit code to ${signedIn.email}.`);
  } else {
    navigate("/todos");
  }
}

/**
 * After a first factor (password, emailed code or link): on to the app, or, when the account
 * has two-factor authentication, to the second step.
 */
async function finishSignIn(result: SignInResult): Promise<void> {
  if (result.kind === "MFA_REQUIRED") secondFactorPage(result);
  else await afterSignIn(result.user);
}

// --- pages -------------------------------------------------------------------------------

async function home(): Promise<void> {
  navigate((await currentUser()) ? "/todos" : MAIL_PAGE.signIn);
}

function signUpPage(): void {
  render(
    h("h1", {}, "Create an account"),
    form(
      "stack",
      async (data) => {
        const payload = await client.signUp({
          email: text(data, "email"),
          password: String(data.get("password") ?? ""),
          username: text(data, "username") || null,
        });
        await afterSignIn(payload.user);
      },
      field("Email", "email", { type: "email", required: true, autocomplete: "email" }),
      field("Name (optional)", "username", { type: "text", autocomplete: "nickname" }),
      field("Password", "password", { type: "password", required: true, minlength: "8", autocomplete: "new-password" }),
      h("button", { type: "submit" }, "Create account"),
    ),
    h("p", {}, "Already have an account? ", link(MAIL_PAGE.signIn, "Sign in")),
  );
}

async function signInPage(): Promise<void> {
  const token = new URLSearchParams(location.search).get("token");
  if (token) {
    // The link of a sign-in mail: {app}/sign-in?token=…
    render(h("p", {}, "Signing you in…"));
    try {
      await finishSignIn(await client.signInWithCode({ token }));
    } catch (error) {
      render(h("h1", {}, "Sign in"), h("p", { class: "alert", role: "alert" }, describe(error)), link(MAIL_PAGE.signIn, "Back"));
    }
    return;
  }
  // A server that is down still gets its sign-in page; the passkey button then stays away.
  const config = await client.authConfig().catch(() => null);
  const passwordForm = form(
    "stack",
    async (data) => {
      await finishSignIn(await client.signIn({ email: text(data, "email"), password: String(data.get("password") ?? "") }));
    },
    field("Email", "email", { type: "email", required: true, autocomplete: "email" }),
    field("Password", "password", { type: "password", required: true, autocomplete: "current-password" }),
    h("button", { type: "submit" }, "Sign in"),
  );
  // With the address typed, the browser offers that account's passkeys; without, any passkey of
  // this site that the device keeps.
  const passkeyForm =
    config?.passkeys &&
    passkeysSupported() &&
    form(
      "stack",
      async () => {
        const email = (passwordForm.querySelector('input[name="email"]') as HTMLInputElement).value;
        let signedIn;
        try {
          signedIn = await client.signInWithPasskey({ email });
        } catch (error) {
          // The server's words fit a refused passkey better than describe()'s "code or link".
          if (error instanceof TodoqlError && error.code === "INVALID_TOKEN") throw new Error(error.message);
          throw error;
        }
        await finishSignIn(signedIn);
      },
      h("button", { type: "submit", class: "secondary" }, "Sign in with a passkey"),
    );
  render(
    h("h1", {}, "Sign in"),
    passwordForm,
    passkeyForm,
    h(
      "p",
      {},
      link("/sign-in-code", "Sign in with an emailed code"),
      " · ",
      link("/forgot-password", "Forgot your password?"),
      " · ",
      link("/sign-up", "Create an account"),
    ),
  );
}

/**
 * The second step of a sign-in: a code of the authenticator app, or a recovery code. Not a route:
 * the mfaToken lives only in this page (5 minutes); a reload starts the sign-in over.
 */
function secondFactorPage(challenge: MfaRequired, useRecoveryCode = false): void {
  const { mfaToken } = challenge;
  const canSwitch = challenge.methods.includes("TOTP") && challenge.methods.includes("RECOVERY_CODE");
  const recovery = useRecoveryCode || !challenge.methods.includes("TOTP");
  render(
    h("h1", {}, "Two-factor authentication"),
    h(
      "p",
      {},
      recovery
        ? "Enter one of your recovery codes. Each one works once."
        : "Enter the 6-digit code that your authenticator app shows for this account.",
    ),
    form(
      "stack",
      async (data) => {
        const code = text(data, "code");
        const payload = await client.verifyMfa(recovery ? { mfaToken, recoveryCode: code } : { mfaToken, totpCode: code });
        await afterSignIn(payload.user);
      },
      recovery
        ? field("Recovery code", "code", { type: "text", required: true, autocomplete: "off", spellcheck: "false" })
        : field("Authenticator code", "code", { inputmode: "numeric", autocomplete: "one-time-code", required: true, pattern: "\\d{6}" }),
      h("button", { type: "submit" }, "Verify"),
    ),
    h(
      "p",
      {},
      canSwitch &&
        h(
          "button",
          { type: "button", class: "link", onclick: () => secondFactorPage(challenge, !recovery) },
          recovery ? "Use your authenticator app instead" : "Use a recovery code instead",
        ),
      canSwitch && " · ",
      link(MAIL_PAGE.signIn, "Start over"),
    ),
  );
}

function signInCodePage(): void {
  const askForCode = (email: string) =>
    render(
      h("h1", {}, "Sign in with a code"),
      h("p", { class: "notice", role: "status" }, `If ${email} can sign in, a 6-digit code is on its way.`),
      form(
        "stack",
        async (data) => {
          await finishSignIn(await client.signInWithCode({ email, code: text(data, "code") }));
        },
        field("Code", "code", { inputmode: "numeric", autocomplete: "one-time-code", required: true, pattern: "\\d{6}" }),
        h("button", { type: "submit" }, "Sign in"),
      ),
    );
  render(
    h("h1", {}, "Sign in with a code"),
    h("p", {}, "We email you a 6-digit code; no password needed. New here? This creates your account."),
    form(
      "stack",
      async (data) => {
        const email = text(data, "email");
        await client.requestSignInCode(email);
        askForCode(email);
      },
      field("Email", "email", { type: "email", required: true, autocomplete: "email" }),
      h("button", { type: "submit" }, "Email me a code"),
    ),
  );
}

/**
 * Where to go once the address is verified. Verified signed out, a first verification removes a
 * password set before it (someone else may have set it): the way in is then an emailed code.
 */
function afterVerification(verified: { email: string; hasPassword: boolean }): void {
  if (client.isSignedIn) navigate("/todos", `${verified.email} is verified.`);
  else if (verified.hasPassword) navigate(MAIL_PAGE.signIn, `${verified.email} is verified.`);
  else navigate("/sign-in-code", `${verified.email} is verified. Sign in with a code we email you.`);
}

async function verifyEmailPage(): Promise<void> {
  const token = new URLSearchParams(location.search).get("token");
  if (token) {
    // The link of a verification mail: {app}/verify-email?token=…
    const verified = await client.verifyEmail({ token });
    if (user && user.id === verified.id) user = verified;
    afterVerification(verified);
    return;
  }
  const me = await currentUser();
  if (me?.emailVerified) {
    navigate("/todos");
    return;
  }
  render(
    h("h1", {}, "Verify your email"),
    h("p", {}, "Enter the 6-digit code from the mail we sent, or open the link in it."),
    form(
      "stack",
      async (data) => {
        const verified = await client.verifyEmail({ email: text(data, "email"), code: text(data, "code") });
        user = client.isSignedIn ? verified : null;
        afterVerification(verified);
      },
      field("Email", "email", { type: "email", required: true, value: me?.email ?? "" }),
      field("Code", "code", { inputmode: "numeric", autocomplete: "one-time-code", required: true, pattern: "\\d{6}" }),
      h("button", { type: "submit" }, "Verify"),
    ),
    me &&
      form(
        "stack",
        async () => {
          await client.sendVerificationEmail();
          flash = `A new code is on its way to ${me.email}.`;
          await verifyEmailPage();
        },
        h("button", { type: "submit", class: "secondary" }, "Send a new code"),
      ),
  );
}

function forgotPasswordPage(): void {
  render(
    h("h1", {}, "Forgot your password?"),
    form(
      "stack",
      async (data) => {
        const email = text(data, "email");
        await client.requestPasswordReset(email);
        render(
          h("h1", {}, "Check your mail"),
          h("p", { class: "notice", role: "status" }, `If an account exists for ${email}, we sent it a link to set a new password.`),
        );
      },
      field("Email", "email", { type: "email", required: true, autocomplete: "email" }),
      h("button", { type: "submit" }, "Email me a link"),
    ),
  );
}

function resetPasswordPage(): void {
  const token = new URLSearchParams(location.search).get("token");
  render(
    h("h1", {}, "Set a new password"),
    form(
      "stack",
      async (data) => {
        await client.resetPassword({ token: token ?? text(data, "token"), newPassword: String(data.get("password") ?? "") });
        // Every session of the account ended, this one too.
        client.setTokens(null);
        user = null;
        navigate(MAIL_PAGE.signIn, "Your password is changed. Sign in with the new one.");
      },
      !token && field("Token from the mail", "token", { type: "text", required: true }),
      field("New password", "password", { type: "password", required: true, minlength: "8", autocomplete: "new-password" }),
      h("button", { type: "submit" }, "Set password"),
    ),
  );
}

async function confirmEmailPage(): Promise<void> {
  const token = new URLSearchParams(location.search).get("token");
  if (!token) return navigate("/");
  const changed = await client.confirmEmailChange({ token });
  user = client.isSignedIn ? changed : null;
  navigate(client.isSignedIn ? "/todos" : MAIL_PAGE.signIn, `Your address is now ${changed.email}.`);
}

/** Todos per page of the list ("Load more" shows this many more). */
const TODOS_PAGE_SIZE = 20;

/**
 * The todo list, live: loaded once (`todos` and the trash), then kept current by the changes of
 * every device (`subscribeToTodoChanges` from the list's revision), this tab's own included, so
 * a change shows the same way wherever it was made. Nothing here reloads after an action.
 */
async function todosPage(): Promise<void> {
  if (!(await currentUser())) return navigate(MAIL_PAGE.signIn, "Sign in to see your todos.");

  const list = h("ul", { class: "items", "aria-label": "Todos" });
  const trash = h("ul", { class: "items", "aria-label": "Recently deleted" });
  const count = h("p", { class: "muted" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const alert = h("p", { class: "alert", role: "alert", hidden: true });
  const liveStatus = h("p", { class: "muted live", role: "status", "data-live": "connecting" }, "Connecting…");
  const trashHeading = h("h2", { hidden: true }, "Recently deleted");

  // What the page shows: the first `shown` todos (oldest first) and the trash, at `revision`.
  let shown = TODOS_PAGE_SIZE;
  const todos = new Map<string, TodoFieldsFragment>();
  const deleted = new Map<string, DeletedTodoFieldsFragment>();
  let total = 0;
  let hasMore = false;
  /** Todos whose row is an open editor: a change updates `todos` but not the row. */
  const editing = new Set<string>();
  let live: TodoChangesSubscription | null = null;

  const act = async (action: () => Promise<unknown>) => {
    alert.hidden = true;
    try {
      await action();
    } catch (error) {
      alert.textContent = describe(error);
      alert.hidden = false;
    }
  };

  const setLive = (state: string, words: string) => {
    liveStatus.dataset.live = state;
    liveStatus.textContent = words;
  };

  const todoItem = (todo: TodoFieldsFragment): HTMLElement => {
    const title = h("span", { class: "title" }, todo.title);
    const item = h(
      "li",
      { class: todo.isCompleted ? "done" : "", "data-todo-id": todo.id },
      h("input", {
        type: "checkbox",
        "aria-label": `Complete ${todo.title}`,
        checked: todo.isCompleted,
        onchange: (event) => void act(() => client.setTodoCompleted(todo.id, (event.target as HTMLInputElement).checked)),
      }),
      h("span", { class: "grow" }, title, todo.dueDate ? h("span", { class: "muted" }, ` · due ${when(todo.dueDate)}`) : null),
      h("button", { type: "button", class: "secondary", "aria-label": `Edit ${todo.title}`, onclick: () => edit() }, "Edit"),
      h("button", { type: "button", class: "danger", "aria-label": `Delete ${todo.title}`, onclick: () => void act(() => client.deleteTodo(todo.id)) }, "Delete"),
    );
    const edit = () => {
      editing.add(todo.id);
      const close = () => {
        editing.delete(todo.id);
        showTodos();
      };
      const editor = form(
        "inline grow",
        async (data) => {
          await client.updateTodo(todo.id, { title: text(data, "title") });
          // The row shows the new title when its change arrives (at once, from this tab too).
          close();
        },
        h("input", { name: "title", value: todo.title, "aria-label": `New title for ${todo.title}`, required: true }),
        h("button", { type: "submit" }, "Save"),
        h("button", { type: "button", class: "secondary", onclick: close }, "Cancel"),
      );
      item.replaceChildren(editor);
      editor.querySelector("input")?.focus();
    };
    return item;
  };

  const deletedItem = (todo: DeletedTodoFieldsFragment): HTMLElement =>
    h(
      "li",
      { "data-deleted-id": todo.id },
      h("span", { class: "grow" }, todo.title, h("span", { class: "muted" }, ` · deleted ${when(todo.deletedAt)}`)),
      h("button", { type: "button", class: "secondary", "aria-label": `Restore ${todo.title}`, onclick: () => void act(() => client.restoreTodo(todo.id)) }, "Restore"),
    );

  /** The list in the server's order (oldest first), keeping the rows that are being edited. */
  const showTodos = () => {
    const rows = new Map([...list.children].map((row) => [(row as HTMLElement).dataset.todoId, row]));
    const sorted = [...todos.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    list.replaceChildren(...sorted.map((todo) => (editing.has(todo.id) && rows.get(todo.id)) || todoItem(todo)));
    const done = sorted.filter((todo) => todo.isCompleted).length;
    count.textContent = `${total} todos, ${done} done on this page`;
    more.hidden = !hasMore;
    const entries = [...deleted.values()].sort((a, b) => b.deletedAt.localeCompare(a.deletedAt));
    trash.replaceChildren(...entries.map(deletedItem));
    trashHeading.hidden = entries.length === 0;
  };

  /** Whether a todo falls within the loaded stretch of the list (the rest comes with "Load more"). */
  const withinLoaded = (todo: TodoFieldsFragment) => {
    if (!hasMore || todos.has(todo.id)) return true;
    const last = [...todos.values()].reduce<string | null>((max, t) => (max === null || t.createdAt > max ? t.createdAt : max), null);
    return last !== null && todo.createdAt <= last;
  };

  /** One change, applied as the API says: in revision order, each kind its own way. */
  const apply = (change: TodoChange) => {
    if (change.kind === "CREATED" || change.kind === "RESTORED") total += 1;
    if (change.kind === "DELETED") total -= 1;
    if (change.kind === "DELETED") {
      todos.delete(change.todoId);
      editing.delete(change.todoId);
      if (change.deletedTodo) deleted.set(change.todoId, change.deletedTodo);
    } else if (change.kind === "PURGED") {
      deleted.delete(change.todoId);
    } else if (change.todo) {
      // CREATED, UPDATED, RESTORED: the todo as it is now (null: a later change says where it went).
      deleted.delete(change.todoId);
      if (withinLoaded(change.todo)) todos.set(change.todoId, change.todo);
    }
    showTodos();
  };

  const subscribe = (since: number) => {
    live?.unsubscribe();
    live = client.subscribeToTodoChanges({ since }, (event) => {
      switch (event.type) {
        case "CHANGE":
          return apply(event.change);
        case "CONNECTED":
          return setLive("connected", "Live: changes from your other devices show up here.");
        case "DISCONNECTED":
          return setLive("reconnecting", "Reconnecting…");
        case "RESYNC_REQUIRED":
          // Away longer than the server keeps its history: load the list afresh.
          return void act(() => load());
        case "ERROR":
          // A session that ended sends this tab to the sign-in page (SESSION_ENDED).
          return setLive("stopped", `Live updates stopped: ${describe(event.error)} Reload the page to try again.`);
      }
    });
    onLeave(() => live?.unsubscribe());
  };

  /** The list and the trash as they are now, then the changes after them. */
  const load = async () => {
    // The list first, the trash after: the trash is then read at the list's revision or later,
    // and replaying the changes after the list's revision re-applies those (each sets a state,
    // so applying it twice changes nothing).
    const page = await client.todos({ first: shown, orderBy: { field: "CREATED_AT", direction: "ASC" } });
    const trashPage = await client.deletedTodos({ first: 20 });
    todos.clear();
    for (const edge of page.edges) todos.set(edge.node.id, edge.node);
    deleted.clear();
    for (const edge of trashPage.edges) deleted.set(edge.node.id, edge.node);
    total = page.totalCount;
    hasMore = page.pageInfo.hasNextPage;
    editing.clear();
    showTodos();
    subscribe(page.revision);
  };
  more.addEventListener("click", () => {
    shown += TODOS_PAGE_SIZE;
    void act(() => load());
  });

  render(
    h("h1", {}, "Your todos"),
    liveStatus,
    alert,
    form(
      "inline",
      async (data) => {
        await client.createTodo({ title: text(data, "title") });
        (app.querySelector('input[name="title"]') as HTMLInputElement).value = "";
      },
      h("input", { name: "title", placeholder: "What needs doing?", "aria-label": "New todo", required: true, maxlength: "255" }),
      h("button", { type: "submit" }, "Add"),
    ),
    count,
    list,
    more,
    trashHeading,
    trash,
  );
  await load();
}

async function sessionsPage(): Promise<void> {
  if (!(await currentUser())) return navigate(MAIL_PAGE.signIn, "Sign in to see your sessions.");
  const sessions = await client.sessions();
  const item = (session: SessionFieldsFragment) =>
    h(
      "li",
      { "data-session-id": session.id, "data-current": String(session.current) },
      h(
        "span",
        { class: "grow" },
        session.current ? h("span", { class: "badge" }, "This device") : null,
        " ",
        session.userAgent ?? "Unknown device",
        h("br"),
        h("span", { class: "muted" }, `${session.ipAddress ?? "unknown address"} · signed in ${when(session.createdAt)} · expires ${when(session.expiresAt)}`),
      ),
      session.current
        ? h("button", { type: "button", class: "secondary", onclick: () => void signOut() }, "Sign out")
        : h(
            "button",
            {
              type: "button",
              class: "danger",
              onclick: async () => {
                await client.revokeSession(session.id);
                flash = "Session revoked.";
                await sessionsPage();
              },
            },
            "Revoke",
          ),
    );
  render(
    h("h1", {}, "Your sessions"),
    h("p", { class: "muted" }, `${sessions.length} active`),
    h("ul", { class: "items", "aria-label": "Sessions" }, ...sessions.map(item)),
    sessions.length > 1 &&
      h(
        "button",
        {
          type: "button",
          class: "danger",
          onclick: async () => {
            const revoked = await client.revokeOtherSessions();
            flash = `Signed out ${revoked} other session${revoked === 1 ? "" : "s"}.`;
            await sessionsPage();
          },
        },
        "Sign out everywhere else",
      ),
  );
}

/** What each type of security event means, in words (every type of the API: the compiler checks). */
const EVENT_LABEL: Record<SecurityEventType, string> = {
  SIGNED_UP: "Account created",
  SIGNED_IN: "Signed in",
  SIGN_IN_FAILED: "Failed sign-in",
  MFA_FAILED: "Failed second-factor check",
  SIGNED_OUT: "Signed out",
  SESSION_REVOKED: "Session ended",
  REFRESH_TOKEN_REUSED: "Old session token reused: session ended",
  PASSWORD_CHANGED: "Password changed",
  PASSWORD_RESET: "Password reset by email link",
  EMAIL_VERIFIED: "Email address verified",
  EMAIL_CHANGED: "Email address changed",
  OAUTH_LINKED: "Sign-in provider linked",
  OAUTH_UNLINKED: "Sign-in provider unlinked",
  TOTP_ENABLED: "Two-factor authentication turned on",
  TOTP_DISABLED: "Two-factor authentication turned off",
  RECOVERY_CODES_REGENERATED: "New recovery codes",
  RECOVERY_CODE_USED: "Recovery code used",
  PASSKEY_ADDED: "Passkey added",
  PASSKEY_REMOVED: "Passkey removed",
};

/** Events a person should look at twice. */
const ALARMING: ReadonlySet<SecurityEventType> = new Set(["SIGN_IN_FAILED", "MFA_FAILED", "REFRESH_TOKEN_REUSED"]);

/** How a sign-in was made (`method` is a string in the API: an unknown one shows as it is). */
const METHOD_LABEL: Record<string, string> = {
  PASSWORD: "password",
  EMAIL_CODE: "emailed code",
  OAUTH: "OAuth",
  PASSKEY: "passkey",
  TOTP: "authenticator code",
  RECOVERY_CODE: "recovery code",
};

/** Events per page of the security log. */
const SECURITY_PAGE_SIZE = 20;

async function securityPage(): Promise<void> {
  if (!(await currentUser())) return navigate(MAIL_PAGE.signIn, "Sign in to see your security log.");

  const list = h("ul", { class: "items", "aria-label": "Security events" });
  const count = h("p", { class: "muted" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more") as HTMLButtonElement;
  const alert = h("p", { class: "alert", role: "alert", hidden: true });
  let after: string | null = null;

  const item = (event: SecurityEventFieldsFragment): HTMLElement => {
    const how = [
      event.method && `with ${METHOD_LABEL[event.method] ?? event.method}`,
      event.provider && `via ${event.provider}`,
    ].filter(Boolean);
    return h(
      "li",
      { "data-event-id": event.id, "data-event-type": event.type },
      h(
        "span",
        { class: "grow" },
        h("strong", { class: ALARMING.has(event.type) ? "warning" : undefined }, EVENT_LABEL[event.type] ?? event.type),
        how.length > 0 ? ` ${how.join(" ")}` : null,
        h("br"),
        h(
          "span",
          { class: "muted" },
          `${event.ipAddress ?? "unknown address"} · ${event.userAgent ?? "unknown device"} · `,
          h("time", { datetime: event.createdAt }, when(event.createdAt)),
        ),
      ),
    );
  };

  const load = async (append: boolean) => {
    const page = await client.securityEvents({ first: SECURITY_PAGE_SIZE, after: append ? after : null });
    if (!append) list.replaceChildren();
    list.append(...page.edges.map((edge) => item(edge.node)));
    after = page.pageInfo.endCursor;
    more.hidden = !page.pageInfo.hasNextPage;
    count.textContent = `${page.totalCount} event${page.totalCount === 1 ? "" : "s"}, newest first`;
  };
  more.addEventListener("click", async () => {
    more.disabled = true;
    alert.hidden = true;
    try {
      await load(true);
    } catch (error) {
      alert.textContent = describe(error);
      alert.hidden = false;
    } finally {
      more.disabled = false;
    }
  });

  render(
    h("h1", {}, "Security log"),
    h("p", {}, "Sign-ins, failed attempts, and changes to your password, address and sessions."),
    alert,
    count,
    list,
    more,
  );
  await load(false);
}


// --- account: two-factor authentication ----------------------------------------------------

/** The secret in groups of 4, as people type it into an authenticator app. */
const grouped = (secret: string) => secret.replace(/(.{4})(?=.)/g, "$1 ");

async function accountPage(): Promise<void> {
  if (!client.isSignedIn) return navigate(MAIL_PAGE.signIn, "Sign in to see your account.");
  // Always fresh: 2FA and the recovery codes left change on this page.
  const [me, config] = await Promise.all([client.me(), client.authConfig()]);
  user = me;
  if (!me) return navigate(MAIL_PAGE.signIn, "Sign in to see your account.");
  renderNav();

  const passkeys = passkeysSection(me.passkeys, config.passkeys);
  const status = me.totpEnabled
    ? `Two-factor authentication is on. ${me.recoveryCodesLeft} recovery code${me.recoveryCodesLeft === 1 ? "" : "s"} left.`
    : "Two-factor authentication is off.";
  render(
    h("h1", {}, "Account"),
    h("p", {}, `Signed in as ${me.email}.`),
    passkeys,
    h("h2", {}, "Two-factor authentication"),
    h("p", { class: "status", "data-totp": String(me.totpEnabled) }, status),
    !config.totp && !me.totpEnabled && h("p", { class: "muted" }, "This server does not offer two-factor authentication."),
    config.totp &&
      !me.totpEnabled &&
      form(
        "stack",
        async () => enrollmentPage(await client.startTotpEnrollment()),
        h("button", { type: "submit" }, "Turn on two-factor authentication"),
      ),
    me.totpEnabled &&
      form(
        "stack",
        async (data) => recoveryCodesPage(await client.regenerateRecoveryCodes(text(data, "code")), "Your old recovery codes no longer work."),
        h("h3", {}, "New recovery codes"),
        field("Authenticator code", "code", { inputmode: "numeric", autocomplete: "one-time-code", required: true, pattern: "\\d{6}" }),
        h("button", { type: "submit", class: "secondary" }, "Get new recovery codes"),
      ),
    me.totpEnabled &&
      form(
        "stack",
        async (data) => {
          await client.disableTotp(text(data, "code"));
          flash = "Two-factor authentication is off.";
          await accountPage();
        },
        h("h3", {}, "Turn it off"),
        field("Authenticator or recovery code", "code", { type: "text", autocomplete: "off", required: true }),
        h("button", { type: "submit", class: "danger" }, "Turn off two-factor authentication"),
      ),
  );
}

// --- account: passkeys --------------------------------------------------------------------

/** The account page's passkeys: the list (rename, delete) and "Add a passkey". */
function passkeysSection(passkeys: PasskeyFieldsFragment[], offered: boolean): HTMLElement {
  const alert = h("p", { class: "alert", role: "alert", hidden: true });
  const act = async (action: () => Promise<unknown>, done: string) => {
    alert.hidden = true;
    try {
      await action();
      flash = done;
      await accountPage();
    } catch (error) {
      // E.g. CONFLICT: the server refuses to delete the last way to sign in, and says why.
      alert.textContent = describe(error);
      alert.hidden = false;
    }
  };
  const item = (passkey: PasskeyFieldsFragment): HTMLElement => {
    const row = h(
      "li",
      { "data-passkey-id": passkey.id },
      h(
        "span",
        { class: "grow" },
        h("span", { class: "title" }, passkey.name),
        h("br"),
        h("span", { class: "muted" }, `added ${when(passkey.createdAt)} · ${passkey.lastUsedAt ? `last used ${when(passkey.lastUsedAt)}` : "never used to sign in"}`),
      ),
      h("button", { type: "button", class: "secondary", "aria-label": `Rename ${passkey.name}`, onclick: () => rename() }, "Rename"),
      h(
        "button",
        { type: "button", class: "danger", "aria-label": `Delete ${passkey.name}`, onclick: () => void act(() => client.deletePasskey(passkey.id), `${passkey.name} is deleted.`) },
        "Delete",
      ),
    );
    const rename = () => {
      const editor = form(
        "inline grow",
        async (data) => {
          await client.renamePasskey(passkey.id, text(data, "name"));
          flash = "Passkey renamed.";
          await accountPage();
        },
        h("input", { name: "name", value: passkey.name, "aria-label": `New name for ${passkey.name}`, required: true, maxlength: "64" }),
        h("button", { type: "submit" }, "Save"),
        h("button", { type: "button", class: "secondary", onclick: () => row.replaceWith(item(passkey)) }, "Cancel"),
      );
      row.replaceChildren(editor);
      editor.querySelector("input")?.focus();
    };
    return row;
  };

  const section = h(
    "section",
    { "aria-labelledby": "passkeys-heading" },
    h("h2", { id: "passkeys-heading" }, "Passkeys"),
    h("p", {}, "Sign in with your fingerprint, face or screen lock instead of a password."),
    alert,
    passkeys.length > 0
      ? h("ul", { class: "items", "aria-label": "Passkeys" }, ...passkeys.map(item))
      : h("p", { class: "muted" }, "No passkeys yet."),
  );
  if (!offered) section.append(h("p", { class: "muted" }, "This server does not offer passkeys."));
  else if (!passkeysSupported()) section.append(h("p", { class: "muted" }, "This browser cannot use passkeys."));
  else {
    section.append(
      form(
        "stack",
        async (data) => {
          const added = await client.registerPasskey({ name: text(data, "name") || null });
          flash = `${added.name} is added: you can sign in with it.`;
          await accountPage();
        },
        field("Name (optional)", "name", { type: "text", maxlength: "64", placeholder: "e.g. Work laptop" }),
        h("button", { type: "submit" }, "Add a passkey"),
      ),
    );
  }
  return section;
}

/** Enrollment: the QR code (drawn here from the otpauth:// URI), the key, and a code to confirm. */
function enrollmentPage(enrollment: { secret: string; otpauthUri: string }): void {
  const canvas = h("canvas", { class: "qr", role: "img", "aria-label": "QR code for your authenticator app" }) as HTMLCanvasElement;
  render(
    h("h1", {}, "Turn on two-factor authentication"),
    h("p", {}, "Scan this QR code with an authenticator app, or type the key into it."),
    canvas,
    h("p", {}, "Key: ", h("code", { class: "secret", "aria-label": "Secret key" }, grouped(enrollment.secret))),
    form(
      "stack",
      async (data) => recoveryCodesPage(await client.confirmTotpEnrollment(text(data, "code")), "Two-factor authentication is on."),
      field("Code from the app", "code", { inputmode: "numeric", autocomplete: "one-time-code", required: true, pattern: "\\d{6}" }),
      h("button", { type: "submit" }, "Turn on"),
      h("button", { type: "button", class: "secondary", onclick: () => navigate("/account") }, "Cancel"),
    ),
  );
  // In the browser, from the URI: the secret goes to no image service. The QR encoder is loaded
  // here (a chunk of its own), so the pages that never show a QR code do not carry it.
  import("qrcode")
    .then(({ toCanvas }) => toCanvas(canvas, enrollment.otpauthUri, { width: 208, margin: 2 }))
    .catch(() => canvas.replaceWith(h("p", { class: "alert", role: "alert" }, "The QR code could not be drawn: type the key instead.")));
}

/**
 * The recovery codes, shown once: they live only in this page, and the server keeps only their
 * hashes, so leaving the page loses them.
 */
function recoveryCodesPage(codes: string[], headline: string): void {
  user = null;
  render(
    h("h1", {}, "Save your recovery codes"),
    h("p", { class: "notice", role: "status" }, headline),
    h(
      "p",
      {},
      "If you lose your authenticator, each of these codes signs you in once. Keep them somewhere safe: this is the only time they are shown.",
    ),
    h("ul", { class: "codes", "aria-label": "Recovery codes" }, ...codes.map((code) => h("li", {}, h("code", {}, code)))),
    h("button", { type: "button", onclick: () => navigate("/account") }, "I have saved them"),
  );
}

void route();
