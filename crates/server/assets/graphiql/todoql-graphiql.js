// todoql's GraphiQL start-up (our own file, not vendored). It reads its settings from the JSON
// in <script id="todoql-graphiql-config"> so that the page needs no inline script (the page's
// Content-Security-Policy allows scripts from this server only).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("todoql-graphiql-config").textContent);
  var endpoint = new URL(config.endpoint, window.location.href).href;
  var options = { url: endpoint };
  if (config.subscriptionEndpoint) {
    var ws = new URL(config.subscriptionEndpoint, window.location.href);
    ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";
    // Subscriptions go over graphql-ws (bundled in GraphiQL) to this URL. For each one GraphiQL
    // opens a socket whose connection_init payload is the Headers tab's JSON, so the
    // {"Authorization": "Bearer …"} typed there signs the socket in: a browser's WebSocket
    // carries no Authorization header, and the server reads the token from that payload.
    options.subscriptionUrl = ws.href;
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
