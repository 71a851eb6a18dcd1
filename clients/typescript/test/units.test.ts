// Pieces that need no server: operation names, error parsing, the token stores, and the test SMTP
// sink's MIME decoding.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse, print, type DocumentNode } from "graphql";
import {
  SignInDocument,
  TodoqlError,
  TodosDocument,
  documentText,
  localStorageTokenStore,
  operationNameOf,
  type StorageLike,
} from "../dist/index.js";
import * as api from "../dist/index.js";
import { codeAndLink } from "./helpers.js";
import { parseMessage } from "../../test-support/smtp-sink.mjs";

describe("documents", () => {
  it("are parsed documents (TypedDocumentNode), not strings", () => {
    assert.equal(SignInDocument.kind, "Document");
    assert.equal(typeof SignInDocument, "object");
    assert.ok(!(SignInDocument instanceof String));
  });

  it("name their operation, parsed or as text", () => {
    assert.equal(operationNameOf(SignInDocument), "SignIn");
    assert.equal(operationNameOf(TodosDocument), "Todos");
    assert.equal(operationNameOf(parse("fragment F on User { id } query Named { me { ...F } }")), "Named");
    assert.equal(operationNameOf("mutation SignOut { signOut }"), "SignOut");
    assert.equal(operationNameOf(new String("query Me { me { id } }")), "Me");
    assert.equal(operationNameOf(parse("{ me { id } }")), undefined);
    assert.equal(operationNameOf("{ me { id } }"), undefined);
  });

  it("print to the text the client sends, with their fragments", () => {
    const text = documentText(SignInDocument);

    assert.equal(text, print(SignInDocument));
    assert.match(text, /^mutation SignIn\(\$input: SignInInput!\)/);
    assert.match(text, /fragment AuthPayloadFields on AuthPayload/);
    assert.deepEqual(parse(text).definitions.length, SignInDocument.definitions.length);
    assert.equal(documentText("query Me { me { id } }"), "query Me { me { id } }");
  });

  it("print every generated document as graphql-js prints it", () => {
    const documents = Object.entries(api).filter(([name]) => name.endsWith("Document"));

    assert.ok(documents.length > 20, `${documents.length} documents`);
    for (const [name, document] of documents) {
      assert.equal(documentText(document as DocumentNode), print(document as DocumentNode), name);
    }
  });

  it("print once: the text of a document is cached", () => {
    const document = structuredClone(parse("query First { me { id } }")) as DocumentNode & {
      definitions: Array<{ name?: { value: string } }>;
    };
    const first = documentText(document);
    document.definitions[0]!.name!.value = "Second";

    assert.equal(first, "query First {\n  me {\n    id\n  }\n}");
    assert.equal(documentText(document), first);
    assert.equal(documentText(structuredClone(document)), "query Second {\n  me {\n    id\n  }\n}");
  });
});

describe("TodoqlError", () => {
  it("knows REAUTHENTICATION_REQUIRED and reads its maxAge", () => {
    const error = new TodoqlError([
      { message: "Sign in again", extensions: { code: "REAUTHENTICATION_REQUIRED", maxAge: 600 } },
    ]);
    assert.equal(error.code, "REAUTHENTICATION_REQUIRED");
    assert.equal(error.maxAge, 600);
    assert.equal(error.retryAfter, undefined);
  });
});

describe("localStorageTokenStore", () => {
  function fakeStorage(): StorageLike & { items: Map<string, string> } {
    const items = new Map<string, string>();
    return {
      items,
      getItem: (k) => items.get(k) ?? null,
      setItem: (k, v) => void items.set(k, v),
      removeItem: (k) => void items.delete(k),
    };
  }

  it("keeps tokens under its key and forgets them on null", () => {
    const storage = fakeStorage();
    const store = localStorageTokenStore("k", storage);
    const tokens = { accessToken: "a", accessTokenExpiresAt: "2030-01-01T00:00:00Z", refreshToken: "r" };

    store.set(tokens);
    const read = localStorageTokenStore("k", storage).get();
    store.set(null);

    assert.deepEqual(read, tokens);
    assert.equal(storage.items.size, 0);
    assert.equal(store.get(), null);
  });

  it("reads a damaged entry as no tokens", () => {
    const storage = fakeStorage();
    storage.setItem("k", "{not json");
    assert.equal(localStorageTokenStore("k", storage).get(), null);
    storage.setItem("k", JSON.stringify({ accessToken: 1 }));
    assert.equal(localStorageTokenStore("k", storage).get(), null);
  });
});

describe("the test SMTP sink", () => {
  it("decodes quoted-printable and base64 parts and finds the code and link", () => {
    const raw = [
      "From: todoql <no-reply@todoql.localhost>",
      "To: ada@example.com",
      "Subject: =?utf-8?b?VmVyaWZ5IHlvdXIgZW1haWwg4pyT?=",
      "MIME-Version: 1.0",
      'Content-Type: multipart/alternative; boundary="XYZ"',
      "",
      "--XYZ",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      "Your code is:",
      "",
      "123456",
      "",
      "Or open this link:",
      "http://localhost:5173/verify-email?token=3D=",
      "abc_DEF-123",
      "--XYZ",
      "Content-Type: text/html; charset=utf-8",
      "Content-Transfer-Encoding: base64",
      "",
      Buffer.from("<p>123456</p>").toString("base64"),
      "--XYZ--",
      "",
    ].join("\r\n");

    const mail = parseMessage(raw, { from: "no-reply@todoql.localhost", to: ["ada@example.com"] });

    assert.equal(mail.subject, "Verify your email ✓");
    assert.equal(mail.html, "<p>123456</p>");
    const { code, link, token } = codeAndLink(mail);
    assert.equal(code, "123456");
    assert.equal(link, "http://localhost:5173/verify-email?token=abc_DEF-123");
    assert.equal(token, "abc_DEF-123");
  });
});
