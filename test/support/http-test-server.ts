import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Requests received so far. */
  requests: number;
  /** Connections accepted so far, and the most open at once. */
  connections: number;
  maxOpenConnections: number;
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 and a free port, for the fetcher's tests: it counts requests
 * and sockets, and `close()` ends every connection it still holds.
 */
export async function startTestServer(
  handler: (request: IncomingMessage, response: ServerResponse, server: TestServer) => void,
): Promise<TestServer> {
  let open = 0;
  const server = createServer();
  const state: TestServer = {
    origin: '',
    requests: 0,
    connections: 0,
    maxOpenConnections: 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', (socket) => {
    open += 1;
    state.connections += 1;
    state.maxOpenConnections = Math.max(state.maxOpenConnections, open);
    socket.on('close', () => (open -= 1));
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    state.requests += 1;
    handler(request, response, state);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
