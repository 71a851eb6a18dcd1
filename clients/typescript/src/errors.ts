import { ERROR_CODES } from "./generated/error-codes.js";

export { ERROR_CODES };

/** One of the error codes of the API. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A GraphQL error as the server sends it. */
export interface GraphQLErrorItem {
  message: string;
  path?: ReadonlyArray<string | number>;
  locations?: ReadonlyArray<{ line: number; column: number }>;
  extensions?: {
    code?: string;
    field?: string;
    retryAfter?: number;
    maxAge?: number;
    [key: string]: unknown;
  };
}

function toCode(code: unknown): ErrorCode {
  return (ERROR_CODES as readonly unknown[]).includes(code) ? (code as ErrorCode) : "INTERNAL_SERVER_ERROR";
}

/**
 * The server answered with GraphQL errors. `code` is the first error's `extensions.code`
 * (an unknown code reads as INTERNAL_SERVER_ERROR; the raw errors are in `errors`).
 */
export class TodoqlError extends Error {
  override readonly name = "TodoqlError";
  /** `extensions.code` of the first error. */
  readonly code: ErrorCode;
  /** `extensions.field` (BAD_USER_INPUT): the input field that was refused, e.g. "title". */
  readonly field: string | undefined;
  /** `extensions.retryAfter` (RATE_LIMITED): seconds to wait before trying again. */
  readonly retryAfter: number | undefined;
  /**
   * `extensions.maxAge` (REAUTHENTICATION_REQUIRED): the change needs a sign-in younger than this
   * many seconds. Sign the user in again, then retry.
   */
  readonly maxAge: number | undefined;
  /** Every error of the response. */
  readonly errors: readonly GraphQLErrorItem[];
  /** The operation that failed. */
  readonly operationName: string | undefined;
  /** The HTTP status of the response (200 for most GraphQL errors). */
  readonly status: number | undefined;

  constructor(
    errors: readonly GraphQLErrorItem[],
    details: { operationName?: string; status?: number; cause?: unknown } = {},
  ) {
    const first = errors[0] ?? { message: "Unknown error" };
    super(first.message, details.cause === undefined ? undefined : { cause: details.cause });
    this.errors = errors;
    this.code = toCode(first.extensions?.code);
    this.field = typeof first.extensions?.field === "string" ? first.extensions.field : undefined;
    this.retryAfter = typeof first.extensions?.retryAfter === "number" ? first.extensions.retryAfter : undefined;
    this.maxAge = typeof first.extensions?.maxAge === "number" ? first.extensions.maxAge : undefined;
    this.operationName = details.operationName;
    this.status = details.status;
  }

  /** Whether any error of the response has this code. */
  has(code: ErrorCode): boolean {
    return this.errors.some((e) => toCode(e.extensions?.code) === code);
  }
}

/** The server could not be reached, or answered with something that is not GraphQL JSON. */
export class TodoqlNetworkError extends Error {
  override readonly name = "TodoqlNetworkError";
  /** The HTTP status, when there was a response. */
  readonly status: number | undefined;

  constructor(message: string, details: { status?: number; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
  }
}

/** Narrows `error` to a TodoqlError, optionally with a given code. */
export function isTodoqlError(error: unknown, code?: ErrorCode): error is TodoqlError {
  return error instanceof TodoqlError && (code === undefined || error.code === code);
}
