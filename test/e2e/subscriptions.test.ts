import { describeSubscriptions } from './subscriptions.suite.js';

// The client sockets in the gateway's own process.
describeSubscriptions(0);
