// HTTP/1.1 lets a client send requests ahead of reading the answers (pipelining). Node parses
// every request of a read at once and queues an answer for each: 8 connections sending
// `GET /metrics` thousands of times over without reading took an acceptor from 68 to 155 MB.
// A connection with more answers waiting than any browser or scraper leaves (they send one
// request at a time) is closed instead.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Answers one connection may have that are not yet written out to it. */
export const PIPELINED_ANSWERS_MAX = 8;

/**
 * Returns the check each request handler makes first: false, and the connection closed, when its
 * connection has more than `max` answers waiting (the handler then answers nothing).
 */
export function pipelinedAnswersBound(max = PIPELINED_ANSWERS_MAX): (req: IncomingMessage, res: ServerResponse) => boolean {
  const waiting = new WeakMap<Socket, number>();
  return (req, res) => {
    const socket = req.socket;
    const n = (waiting.get(socket) ?? 0) + 1;
    waiting.set(socket, n);
    if (n > max) {
      socket.destroy();
      return false;
    }
    res.once('close', () => waiting.set(socket, (waiting.get(socket) ?? 1) - 1));
    return true;
  };
}
