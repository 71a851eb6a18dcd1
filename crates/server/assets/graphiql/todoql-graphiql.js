// todoql's GraphiQL start-up (our own file, not vendored). It reads its settings from the JSON
// in <script id="todoql-graphiql-config"> so that the page needs no inline script (the page's
// Content-Security-Policy allows scripts from this server only).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("todoql-graphiql-config").textContent);
  var endpoint = new URL(config.endpoint, window.location.href).href;
  var options = { url: endpoint };
  if (config.subscriptionEndpoint && window.graphqlWs) {
    var ws = new URL(config.subscriptionEndpoint, window.location.href);
    ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";
    // Wired only when the schema has a Subscription type (the server then serves graphql-ws
    // at this endpoint). A websocket carries no Authorization header: a subscription that needs
    // a user would read it from the connection_init payload.
    options.wsClient = window.graphqlWs.createClient({ url: ws.href, lazy: true });
  }
  var fetcher = window.GraphiQL.createFetcher(options);
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(window.GraphiQL, {
      fetcher: fetcher,
      defaultQuery: config.defaultQuery,
      defaultHeaders: config.defaultHeaders,
      defaultEditorToolsVisibility: "headers",
      shouldPersistHeaders: false,
    })
  );
})();
