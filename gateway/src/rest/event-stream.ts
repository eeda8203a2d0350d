import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FormattedExecutionResult, GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../../../lib/errors.js';
import type { OperationDoor } from '../http/operation-door.js';
import type { HttpStreams, StreamFraming } from '../subscriptions/http-streams.js';
import { problem, problemOfErrors, PROBLEM_CONTENT_TYPE, sendProblem, type Problem } from './problem.js';
import { answerOf, type CompiledOperation } from './answer.js';

/**
 * Subscriptions whose events have ids a client can resume after (`Last-Event-ID`), with the list
 * operation of their route: log entries (UUIDv7 ids, ordered as written; `logs(filter: {since})`).
 */
export const resumableRoots: ReadonlySet<string> = new Set(['logTail']);

/** Entries replayed at most on a reconnect: the newest ones when more were missed. */
export const MAX_REPLAYED_ENTRIES = 1000;
/** The list's page size while replaying (its maximum). */
const REPLAY_PAGE = 100;
/** Live events held while the missed ones are fetched; past it the stream ends, and the client resumes again. */
const MAX_HELD_EVENTS = 1000;

/** A UUIDv7 (RFC 9562), the ids the platform log gives entries: 48 bits of Unix milliseconds first. */
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const uuidV7Time = (id: string) => new Date(parseInt(id.slice(0, 8) + id.slice(9, 13), 16));

/** A read of missed entries that failed, with the problem to end the stream with. */
class ReplayFailed extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
}

const errorEvent = (body: Problem) => `event: error\ndata: ${JSON.stringify(body)}\n\n`;
const COMPLETE = 'event: complete\ndata:\n\n';

/**
 * Each event's frame, by operation: the JSON of an event is one string shared by every subscriber
 * of a shared subscription, so consecutive subscribers of one event frame it once.
 */
const lastFrames = new Map<string, { json: string; frame: string; id: string | undefined }>();

type Framed = { frame: string; id: string | undefined } | { problem: Problem };

function frameOf(operation: CompiledOperation, json: string, withIds: boolean): Framed {
  const cached = lastFrames.get(operation.name);
  if (cached?.json === json) return cached;
  const result = JSON.parse(json) as FormattedExecutionResult;
  if (result.errors?.length) return { problem: problemOfErrors(result.errors) };
  const answer = answerOf(operation, result.data);
  if ('problem' in answer) return answer;
  const id = withIds ? (answer.value as { id?: unknown }).id : undefined;
  const framed = {
    json,
    id: typeof id === 'string' ? id : undefined,
    frame: `event: ${operation.http.event}\n${typeof id === 'string' ? `id: ${id}\n` : ''}data: ${JSON.stringify(answer.value)}\n\n`,
  };
  lastFrames.set(operation.name, framed);
  return framed;
}

export type EventStreamOptions = {
  req: IncomingMessage;
  res: ServerResponse;
  operation: CompiledOperation;
  variables: Record<string, unknown>;
  streams: HttpStreams;
  door: OperationDoor;
  /** The list operation of the route (resumable subscriptions): what a reconnect's missed entries are read with. */
  resumeWith: CompiledOperation | undefined;
};

/**
 * A subscription as Server-Sent Events: `event: <name>` with the root field's value as `data`
 * (and its `id` as the event's id when resumable), `event: error` with a problem, `event:
 * complete` when the subscription completes. It runs through the subscription server like every
 * HTTP stream (its caps, sharing, heartbeats and endings: a restart cuts the stream, and the
 * client reconnects). A state stream (@replayLatest, as predictionProgress) holds its head until
 * its first event, so an error there (not found) is the answer's status.
 *
 * Resuming (`Last-Event-ID`, log entries): the subscription opens first, its events are held; the
 * entries after that id are read with the route's list (newest first, from the id's millisecond
 * on, at most MAX_REPLAYED_ENTRIES) and sent oldest first, then the held events not among them.
 */
export async function createEventStream(options: EventStreamOptions): Promise<void> {
  const { req, res, operation, resumeWith } = options;
  const header = req.headers['last-event-id'];
  const lastEventId = typeof header === 'string' && header.trim() !== '' ? header.trim().toLowerCase() : undefined;
  if (lastEventId !== undefined && resumeWith && !UUID_V7.test(lastEventId)) {
    const body = problem(ErrorCode.BAD_USER_INPUT, 'Last-Event-ID is not the id of a log entry', {
      argument: 'Last-Event-ID',
    });
    body.errors = [{ in: 'header', name: 'Last-Event-ID', detail: 'is not the id of a log entry' }];
    return sendProblem(res, body);
  }
  const resuming = lastEventId !== undefined && resumeWith !== undefined;
  const withIds = resumeWith !== undefined;
  const holdHead = operation.holdHead;
  /** Events held while a reconnect's missed entries are read. */
  let held: string[] | null = resuming ? [] : null;
  let failed = false;
  let first = true;

  /** A problem where an event was: the answer itself while its head is held, else an `error` event. */
  function failWith(body: Problem): string {
    failed = true;
    if (holdHead && first && !res.headersSent) {
      res.statusCode = body.status;
      res.setHeader('content-type', `${PROBLEM_CONTENT_TYPE}; charset=utf-8`);
      res.setHeader('cache-control', 'no-store');
      res.removeHeader('x-accel-buffering');
      return JSON.stringify(body);
    }
    return errorEvent(body);
  }

  const framing: StreamFraming = {
    contentType: 'text/event-stream; charset=utf-8',
    start: ':\n\n',
    next(json) {
      if (failed) return '';
      if (held) {
        if (held.length >= MAX_HELD_EVENTS) {
          // The client resumes from what it got.
          res.end();
          return '';
        }
        held.push(json);
        return '';
      }
      const framed = frameOf(operation, json, withIds);
      const text = 'problem' in framed ? failWith(framed.problem) : framed.frame;
      first = false;
      return text;
    },
    heartbeat: ':\n\n',
    get complete() {
      return failed ? '' : COMPLETE;
    },
    // A stream the gateway ends to be resumed (a restart, a new supergraph) is cut: the client
    // reconnects (with Last-Event-ID). One that must not be (a revoked token) ends with its problem.
    fail: (error: GraphQLFormattedError, retry: boolean) => (retry ? '' : failWith(problemOfErrors([error]))),
  };

  await options.streams.stream(
    req,
    res,
    { query: operation.query, operationName: operation.name, variables: options.variables },
    {
      framing,
      holdHead,
      refuse: (response, errors, status) => sendProblem(response, problemOfErrors(errors, status)),
      opened: resuming ? () => void replay() : undefined,
    },
  );

  async function replay(): Promise<void> {
    let text = '';
    try {
      const missed = await missedEntries(options, resumeWith!, lastEventId!);
      const replayed = new Set<string>();
      for (const entry of missed) {
        replayed.add(entry.id);
        text += `event: ${operation.http.event}\nid: ${entry.id}\ndata: ${JSON.stringify(entry)}\n\n`;
      }
      for (const json of held ?? []) {
        const framed = frameOf(operation, json, true);
        if ('problem' in framed) {
          text += failWith(framed.problem);
          break;
        }
        if (framed.id !== undefined && (replayed.has(framed.id) || framed.id <= lastEventId!)) continue;
        text += framed.frame;
      }
    } catch (error) {
      text += failWith(
        error instanceof ReplayFailed
          ? error.problem
          : problem(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error'),
      );
    }
    held = null;
    if (!res.writableEnded && text !== '') res.write(text);
    if (failed && !res.writableEnded) res.end();
  }
}

/** The entries after `lastId` (oldest first), read with the route's list operation as the caller. */
async function missedEntries(
  options: EventStreamOptions,
  list: CompiledOperation,
  lastId: string,
): Promise<Array<{ id: string }>> {
  const variables: Record<string, unknown> = {};
  for (const input of list.inputs)
    if (input.name in options.variables) variables[input.name] = options.variables[input.name];
  variables.since = uuidV7Time(lastId).toISOString();
  variables.first = REPLAY_PAGE;
  const newestFirst: Array<{ id: string }> = [];
  let after: string | undefined;
  while (newestFirst.length < MAX_REPLAYED_ENTRIES) {
    const { status, result } = await options.door(options.req, {
      query: list.query,
      operationName: list.name,
      variables: after ? { ...variables, after } : variables,
    });
    if (result.errors?.length) throw new ReplayFailed(problemOfErrors(result.errors, status));
    const answer = answerOf(list, result.data);
    if ('problem' in answer) throw new ReplayFailed(answer.problem);
    const page = answer.value as {
      nodes: Array<{ id: string }>;
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
    for (const node of page.nodes) {
      if (node.id.toLowerCase() <= lastId) return newestFirst.reverse();
      newestFirst.push(node);
      if (newestFirst.length >= MAX_REPLAYED_ENTRIES) break;
    }
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) break;
    after = page.pageInfo.endCursor;
  }
  return newestFirst.reverse();
}
