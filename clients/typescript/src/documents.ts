import { print } from "@0no-co/graphql.web";
import type { DocumentTypeDecoration, TypedDocumentNode } from "@graphql-typed-document-node/core";
import type { DocumentNode } from "graphql";

/**
 * A document `TodoqlClient.request` can send: a parsed `TypedDocumentNode` (the generated
 * `…Document`s, `gql`, GraphQL Code Generator's `graphql()`), or typed text such as the client
 * preset's `TypedDocumentString` in `documentMode: "string"`.
 */
export type TodoqlDocument<TResult, TVariables> =
  | TypedDocumentNode<TResult, TVariables>
  | (DocumentTypeDecoration<TResult, TVariables> & String);

/** The text of each parsed document sent so far: printing happens once per document. */
const printed = new WeakMap<DocumentNode, string>();

function isParsed(document: DocumentNode | String): document is DocumentNode {
  return typeof document === "object" && !(document instanceof String) && document.kind === "Document";
}

/**
 * The GraphQL text of a document, printed once per parsed document and then cached. The printer
 * is urql's (@0no-co/graphql.web): it prints graphql-js documents like graphql-js does, for
 * 0.7 kB of a browser bundle (gzip) instead of 3.4 kB.
 */
export function documentText(document: DocumentNode | String): string {
  if (!isParsed(document)) return document.toString();
  let text = printed.get(document);
  if (text === undefined) {
    text = print(document);
    printed.set(document, text);
  }
  return text;
}

const OPERATION_NAME = /\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/;

/** The name of the first named operation of a document (parsed or text), if any. */
export function operationNameOf(document: DocumentNode | String): string | undefined {
  if (isParsed(document)) {
    for (const definition of document.definitions) {
      if (definition.kind === "OperationDefinition") return definition.name?.value;
    }
    return undefined;
  }
  return OPERATION_NAME.exec(document.toString())?.[1];
}
