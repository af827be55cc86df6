import type { Server } from 'node:net';

/**
 * Past `max` open connections a new socket is closed at once, before anything on it is parsed: no
 * answer, and nothing held for it. `dropped` is called for each one (for a counter). Counted here
 * rather than with server.maxConnections: in a node:cluster worker Node 20 hands a connection
 * refused that way back to the primary, which offers it to the workers again and again, spinning
 * while it waits (docs/design/ingest.md, "Connections").
 */
export function boundConnections(server: Server, max: number, dropped: () => void): void {
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`connections max must be a positive integer, got ${max}`);
  let open = 0;
  server.on('connection', (socket) => {
    if (open >= max) {
      dropped();
      socket.destroy();
      return;
    }
    open += 1;
    socket.once('close', () => {
      open -= 1;
    });
  });
}
