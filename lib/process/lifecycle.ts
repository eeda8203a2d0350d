import type { Logger } from '../logger.js';

/**
 * Stops the process cleanly on SIGINT/SIGTERM: runs `stop` once (closing servers, then
 * connections), exits 0, or 1 if stopping fails or takes longer than `timeoutMs`. The default
 * leaves room for a server's drain (10 s, see createServiceServer) and stays under Kubernetes'
 * default 30 s termination grace period.
 */
export function stopOnSignals(logger: Logger, stop: () => Promise<void>, timeoutMs = 25_000): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown timed out');
      process.exit(1);
    }, timeoutMs).unref();
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Closes each in turn, in the order given: servers first, then what they use (a log after its writers). */
export async function closeInOrder(resources: ReadonlyArray<{ close(): unknown } | undefined>): Promise<void> {
  for (const resource of resources) await resource?.close();
}

/** SIGHUP reloads what can be reloaded in place (the TLS certificate), as daemons do; a failure is logged, the process runs on. */
export function reloadOnSighup(logger: Logger, reload: () => Promise<void>): void {
  process.on('SIGHUP', () => {
    reload().catch((error: unknown) => logger.warn({ err: error }, 'reload on SIGHUP failed; nothing was changed'));
  });
}
