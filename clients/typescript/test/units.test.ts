// Pieces that need no server: operation names, error parsing, the token stores, and the test SMTP
// sink's MIME decoding.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  SignInDocument,
  TodoqlError,
  TodosDocument,
  localStorageTokenStore,
  operationNameOf,
  type StorageLike,
} from "../dist/index.js";
import { codeAndLink } from "./helpers.js";
import { parseMessage } from "../../test-support/smtp-sink.mjs";

describe("operation names", () => {
  it("come from the generated documents", () => {
    assert.equal(operationNameOf(SignInDocument.toString()), "SignIn");
    assert.equal(operationNameOf(TodosDocument.toString()), "Todos");
    assert.equal(operationNameOf("{ me { id } }"), undefined);
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
