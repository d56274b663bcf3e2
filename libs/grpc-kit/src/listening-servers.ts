import type { Http2Server } from 'node:http2';
import type { Server as NetServer } from 'node:net';
import type { Server } from '@grpc/grpc-js';
import type { Logger } from './logger';

/**
 * The node servers a bound grpc-js server listens with. grpc-js keeps them in a private map and
 * gives node no settings but the streams a connection may open, so the bounds on connections,
 * headers, encodings, deadlines and finished streams are set on them here; if a later grpc-js
 * moves the map, the bound that needed it is reported missing (`missing` says which) instead of
 * the server failing to start.
 */
export function listeningServers(server: Server, logger: Logger, missing: string): Array<Http2Server & NetServer> {
  const listening = (server as unknown as { http2Servers?: Map<NetServer, unknown> }).http2Servers;
  if (!(listening instanceof Map) || listening.size === 0) {
    logger.warn(`${missing}: this grpc-js keeps its listening servers elsewhere`);
    return [];
  }
  return [...listening.keys()] as Array<Http2Server & NetServer>;
}
