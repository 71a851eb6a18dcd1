export { TodoqlClient } from "./client.js";
export type { TodoqlClientOptions, RequestOptions, VariablesOf } from "./client.js";
export { documentText, operationNameOf } from "./documents.js";
export type { TodoqlDocument } from "./documents.js";
export { AUTH_EVENTS } from "./auth-state.js";
export type { AuthEvent, AuthChangeDetails, AuthStateListener } from "./auth-state.js";
export { TodoqlError, TodoqlNetworkError, isTodoqlError, ERROR_CODES } from "./errors.js";
export type { ErrorCode, GraphQLErrorItem } from "./errors.js";
export { mfaRequiredFrom } from "./mfa.js";
export type { MfaMethod, MfaRequired, SignedIn, SignInResult, VerifyMfaArgs } from "./mfa.js";
export { PasskeysUnsupportedError, passkeysSupported } from "./passkeys.js";
export type { CredentialJSON, RegisterPasskeyOptions, SignInWithPasskeyOptions } from "./passkeys.js";
export type {
  SubscribeToTodoChangesOptions,
  TodoChange,
  TodoChangeEvent,
  TodoChangeListener,
  TodoChangesSubscription,
} from "./live.js";
export { memoryTokenStore, localStorageTokenStore } from "./storage.js";
export type { Tokens, TokenStore, StorageLike } from "./storage.js";
export { realmLock } from "./tab-lock.js";
export type { TabLock } from "./tab-lock.js";
// Every generated type and document (SignInDocument, TodoFieldsFragment, CreateTodoInput, …),
// as TypedDocumentNode: Apollo Client, urql and graphql-request take them as they are.
export * from "./generated/graphql.js";
