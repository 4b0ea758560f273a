/** Where the emulator's servers listen: 127.0.0.1 only, on `port` (0: a free one); a taken port rejects. */
import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export async function listenLocal(server: http.Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
