export { TodoqlClient, operationNameOf } from "./client.js";
export type { TodoqlClientOptions, RequestOptions, VariablesOf } from "./client.js";
export { TodoqlError, TodoqlNetworkError, isTodoqlError, ERROR_CODES } from "./errors.js";
export type { ErrorCode, GraphQLErrorItem } from "./errors.js";
export { memoryTokenStore, localStorageTokenStore } from "./storage.js";
export type { Tokens, TokenStore, StorageLike } from "./storage.js";
// Every generated type and document (SignInDocument, TodoFieldsFragment, CreateTodoInput, …).
export * from "./generated/graphql.js";
