import { describeSubscriptions } from './subscriptions.suite.js';

// The same suite with the client sockets held by two socket owner processes (lib/http/socket-owners.ts).
describeSubscriptions(2);
