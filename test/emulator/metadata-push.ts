/**
 * What Heat sends a server's agent besides answering its polls: for
 * POLL_TEMP_URL it PUTs the server's whole metadata to the Swift object of
 * the server's temp URL, and for ZAQAR_MESSAGE posts it to the server's
 * queue, at the server's create (with no deployments yet) and again on
 * every change of the metadata (server_base's
 * `_populate_deployments_metadata`, the engine's
 * `_push_metadata_software_deployments`). The emulator composes the metadata
 * as it is served, so `publish` compares it with what was last sent after
 * anything that may have changed it, and sends it when it differs.
 */
import { createHash } from 'node:crypto';
import { type MetadataEnv, metadataObjectPath, serverMetadata } from './deployment-metadata';
import { pyJsonDumps } from './heat-format';
import type { Model, ServerState, StackState } from './model';
import type { ZaqarQueues } from './zaqar';

/** zaqarclient's DEFAULT_TTL, Heat's message ttl. */
export const HEAT_MESSAGE_TTL = 3600;

/** An object of the emulator's Swift: the metadata as Heat PUT it. */
export interface SwiftObject {
  body: string;
  /** md5 of the body, as Swift's Etag. */
  etag: string;
  /** Whole seconds, as Swift keeps Last-Modified. */
  lastModified: number;
}

export class MetadataPush {
  /** By object path `/v1/AUTH_<project>/<container>/<object>`. */
  private readonly objects = new Map<string, SwiftObject>();
  /** The JSON last sent per server. */
  private readonly sent = new Map<string, string>();

  constructor(
    private readonly model: Model,
    private readonly queues: ZaqarQueues,
    private readonly now: () => number,
    private readonly env: () => MetadataEnv,
  ) {}

  clear(): void {
    this.objects.clear();
    this.sent.clear();
  }

  /** The metadata object at a Swift path, if Heat wrote one there. */
  object(path: string): SwiftObject | undefined {
    return this.objects.get(path);
  }

  /** Sends each POLL_TEMP_URL and ZAQAR_MESSAGE server's metadata that changed since it was last sent. */
  publish(): void {
    const env = this.env();
    for (const { stack, res, server } of this.model.servers()) {
      if (server.transport !== 'POLL_TEMP_URL' && server.transport !== 'ZAQAR_MESSAGE') continue;
      const key = `${stack.stackId}/${res.name}`;
      const current = serverMetadata(stack, res, this.model.software.all(), env);
      if (!this.sent.has(key)) {
        // At the server's create Heat sends its metadata before any deployment exists.
        this.send(stack, server, serverMetadata(stack, res, [], env));
        this.sent.set(key, JSON.stringify(serverMetadata(stack, res, [], env)));
      }
      const text = JSON.stringify(current);
      if (this.sent.get(key) === text) continue;
      this.sent.set(key, text);
      this.send(stack, server, current);
    }
  }

  private send(stack: StackState, server: ServerState, metadata: Record<string, unknown>): void {
    if (server.transport === 'ZAQAR_MESSAGE') {
      this.queues.post(server.user!.projectId, server.physicalName, [{ ttl: HEAT_MESSAGE_TTL, body: metadata }], 'heat-engine');
      return;
    }
    const body = pyJsonDumps(metadata);
    this.objects.set(metadataObjectPath(stack, server), { body, etag: createHash('md5').update(body).digest('hex'), lastModified: Math.floor(this.now() / 1000) });
  }
}
