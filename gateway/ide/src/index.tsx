import 'graphiql/graphiql.css';
import './page.css';
import { GraphiQL } from 'graphiql';
import { StrictMode, useSyncExternalStore } from 'react';
import { createRoot } from 'react-dom/client';
import { DEFAULT_QUERY } from './default-query.js';
import { createFetcher } from './fetcher.js';
import { signInHint } from './sign-in-hint.js';

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

/** The hint under the response, from the latest outcome (each run replaces it, or clears it). */
const hint = {
  current: undefined as string | undefined,
  listeners: new Set<() => void>(),
  set(value: string | undefined) {
    if (value === hint.current) return;
    hint.current = value;
    for (const listener of hint.listeners) listener();
  },
  subscribe(listener: () => void) {
    hint.listeners.add(listener);
    return () => hint.listeners.delete(listener);
  },
};
// Made once: a new fetcher would make GraphiQL fetch the schema again.
const fetcher = createFetcher(endpoint.toString(), wsEndpoint.toString(), (outcome) => hint.set(signInHint(outcome)));

function Ide() {
  const text = useSyncExternalStore(hint.subscribe, () => hint.current);
  return (
    <GraphiQL
      fetcher={fetcher}
      defaultQuery={DEFAULT_QUERY}
      defaultEditorToolsVisibility="headers"
      isHeadersEditorEnabled
    >
      {text ? (
        <GraphiQL.Footer>
          <p className="ai-code-hint" role="status">
            {text}
          </p>
        </GraphiQL.Footer>
      ) : null}
    </GraphiQL>
  );
}

container.textContent = '';
createRoot(container).render(
  <StrictMode>
    <Ide />
  </StrictMode>,
);
