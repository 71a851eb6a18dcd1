// The generated documents, exactly as the package exports them, through the clients people use:
// Apollo Client 3 and urql, against a real server. A query and a mutation through each, and the
// server's error code as each of them reports it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ApolloClient, ApolloError, HttpLink, InMemoryCache } from "@apollo/client/core/index.js";
import { Client, cacheExchange, fetchExchange } from "@urql/core";
import type { DocumentTypeDecoration } from "@graphql-typed-document-node/core";
import { AuthConfigDocument, MeDocument, SignUpDocument, TodoqlClient, type AuthConfigQuery } from "../dist/index.js";
import { PASSWORD, startTodoql, uniqueEmail, type TodoqlServer } from "./helpers.js";

describe("the generated documents in other clients", () => {
  let server: TodoqlServer;
  before(async () => {
    server = await startTodoql();
  });
  after(async () => {
    await server?.stop();
  });

  describe("Apollo Client 3", () => {
    const apollo = (headers: Record<string, string> = {}) =>
      new ApolloClient({ link: new HttpLink({ uri: server.graphqlUrl, headers }), cache: new InMemoryCache() });

    it("runs a query: client.query({ query: AuthConfigDocument })", async () => {
      const result = await apollo().query({ query: AuthConfigDocument });

      // The result is typed from the document: this line does not compile otherwise.
      const passwordSignIn: boolean = result.data.authConfig.passwordSignIn;
      assert.equal(passwordSignIn, true);
      assert.equal(result.error, undefined);
    });

    it("runs a mutation (SignUp), then a signed-in query (Me) with its token", async () => {
      const email = uniqueEmail("apollo");

      const signedUp = await apollo().mutate({
        mutation: SignUpDocument,
        variables: { input: { email, password: PASSWORD, username: "Apollo" } },
      });
      const payload = signedUp.data?.signUp;
      assert.ok(payload, "signUp returned no payload");
      const me = await apollo({ authorization: `Bearer ${payload.accessToken}` }).query({ query: MeDocument });

      assert.equal(payload.user.email, email);
      assert.equal(me.data.me?.email, email);
      assert.equal(me.data.me?.username, "Apollo");
    });

    it("reports the server's error code and field", async () => {
      const failed = apollo().mutate({
        mutation: SignUpDocument,
        variables: { input: { email: uniqueEmail("apollo"), password: "short" } },
      });

      await assert.rejects(failed, (error: unknown) => {
        assert.ok(error instanceof ApolloError, String(error));
        assert.equal(error.graphQLErrors[0]?.extensions?.code, "BAD_USER_INPUT");
        assert.equal(error.graphQLErrors[0]?.extensions?.field, "password");
        return true;
      });
    });
  });

  describe("TodoqlClient.request", () => {
    /** What GraphQL Code Generator's client preset emits with documentMode "string". */
    class TypedDocumentString<TResult, TVariables> extends String implements DocumentTypeDecoration<TResult, TVariables> {
      __apiType?: (variables: TVariables) => TResult;
    }

    it("still takes typed text documents (the client preset's string mode)", async () => {
      const document = new TypedDocumentString<{ authConfig: { passwordSignIn: boolean } }, Record<string, never>>(
        "query AuthConfigText { authConfig { passwordSignIn } }",
      );
      let sent: { query?: string; operationName?: string } = {};
      const client = new TodoqlClient({
        url: server.graphqlUrl,
        fetch: (input, init) => {
          sent = JSON.parse(String(init?.body));
          return fetch(input, init);
        },
      });

      const data = await client.request(document, {}, { anonymous: true });

      assert.equal(data.authConfig.passwordSignIn, true);
      assert.equal(sent.query, "query AuthConfigText { authConfig { passwordSignIn } }");
      assert.equal(sent.operationName, "AuthConfigText");
    });
  });

  describe("urql", () => {
    const urql = (headers: Record<string, string> = {}) =>
      new Client({ url: server.graphqlUrl, exchanges: [cacheExchange, fetchExchange], fetchOptions: { headers } });

    it("runs a query: client.query(AuthConfigDocument, {})", async () => {
      const result = await urql().query(AuthConfigDocument, {}).toPromise();

      assert.equal(result.error, undefined);
      const data: AuthConfigQuery | undefined = result.data;
      assert.equal(data?.authConfig.passwordSignIn, true);
    });

    it("runs a mutation (SignUp), then a signed-in query (Me) with its token", async () => {
      const email = uniqueEmail("urql");

      const signedUp = await urql()
        .mutation(SignUpDocument, { input: { email, password: PASSWORD, username: "Urql" } })
        .toPromise();
      assert.equal(signedUp.error, undefined);
      const payload = signedUp.data?.signUp;
      assert.ok(payload, "signUp returned no payload");
      const me = await urql({ authorization: `Bearer ${payload.accessToken}` }).query(MeDocument, {}).toPromise();

      assert.equal(me.error, undefined);
      assert.equal(me.data?.me?.email, email);
      assert.equal(me.data?.me?.username, "Urql");
    });

    it("reports the server's error code and field", async () => {
      const result = await urql()
        .mutation(SignUpDocument, { input: { email: uniqueEmail("urql"), password: "short" } })
        .toPromise();

      assert.equal(result.data?.signUp ?? null, null);
      assert.equal(result.error?.graphQLErrors[0]?.extensions?.code, "BAD_USER_INPUT");
      assert.equal(result.error?.graphQLErrors[0]?.extensions?.field, "password");
    });
  });
});
