/**
 * What a service's HTTP server allows slow or greedy clients: each process reads them from its
 * environment (HEADERS_TIMEOUT_MS, REQUEST_BODY_TIMEOUT_MS, MAX_CONNECTIONS_PER_IP); the defaults
 * are these.
 */
export type HttpLimits = {
  /** Time a client has to send a request's headers, from its first byte; then 408 and the connection closes. */
  headersTimeoutMs: number;
  /** A request body that makes no progress for this long is cut with 408 and its connection closed. */
  bodyTimeoutMs: number;
  /**
   * Open connections from one peer address (the socket's, never X-Forwarded-For); past it, new ones
   * are closed as they are accepted. 0: no cap.
   */
  maxConnectionsPerIp: number;
};

export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;
/**
 * Well above what one browser or CLI opens (a handful, plus a WebSocket), and above the 50–100
 * connections the benchmarks drive from one address; low enough that one address cannot take
 * the process's file descriptors.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 256;

/** Least pace of a model upload: slower, it is cut with 408 and nothing is stored. */
export type UploadPace = {
  /** Least average rate over each window, bytes per second; 0 turns the check off. */
  minBytesPerSecond: number;
  /** The rate is averaged over consecutive windows of this length from the start of the body (the first is the grace period). */
  windowMs: number;
};

/** 16 KiB/s: a 512 MiB model at the minimum takes about 9 hours; a client dripping bytes cannot hold a connection for free. */
export const DEFAULT_UPLOAD_PACE: UploadPace = { minBytesPerSecond: 16 * 1024, windowMs: 10_000 };
