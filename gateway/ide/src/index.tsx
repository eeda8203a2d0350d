import 'graphiql/graphiql.css';
import './page.css';
import { GraphiQL } from 'graphiql';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { DEFAULT_QUERY } from './default-query.js';
import { createFetcher } from './fetcher.js';

declare global {
  // Read by get-nonce, through which GraphiQL's dialogs (react-remove-scroll) add their <style>.
  var __webpack_nonce__: string | undefined;
}

const container = document.getElementById('graphiql');
if (!container) throw new Error('the IDE page has no #graphiql element');
globalThis.__webpack_nonce__ = container.dataset.styleNonce;

// The endpoint is the page's own URL: whatever path a proxy serves it under, GraphQL is there too.
const endpoint = new URL(window.location.pathname, window.location.href);
const wsEndpoint = new URL(endpoint);
wsEndpoint.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';

container.textContent = '';
createRoot(container).render(
  <StrictMode>
    <GraphiQL
      fetcher={createFetcher(endpoint.toString(), wsEndpoint.toString())}
      defaultQuery={DEFAULT_QUERY}
      defaultEditorToolsVisibility="headers"
      isHeadersEditorEnabled
    />
  </StrictMode>,
);
