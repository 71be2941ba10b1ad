import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import "graphiql/style.css";

// Served from the wheel: the endpoint comes from the page's query (or the server's config), and
// the token from the fragment, which never reaches the server's logs.
declare global { interface Window { __RAPPORT_GRAPHIQL__?: { endpoint: string; title: string } } }
const params = new URLSearchParams(window.location.search);
const endpoint = window.__RAPPORT_GRAPHIQL__?.endpoint ?? params.get("endpoint") ?? "/graphql";
const token = new URLSearchParams(window.location.hash.slice(1)).get("token");
if (token) history.replaceState(null, "", window.location.pathname + window.location.search);
const headers = JSON.stringify({ Authorization: "Bearer " + (token ?? "PASTE-A-TOKEN-FROM `rapport token issue`") }, null, 2);
const fetcher = createGraphiQLFetcher({ url: endpoint, headers: { Accept: "application/graphql-response+json, application/json" } });
createRoot(document.getElementById("graphiql")!).render(
  <GraphiQL fetcher={fetcher} defaultHeaders={headers} headers={token ? headers : undefined} shouldPersistHeaders defaultEditorToolsVisibility />,
);
