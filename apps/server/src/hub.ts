// Which EventHub this process uses: PostgreSQL LISTEN/NOTIFY when storage is
// PostgreSQL (instances share events the way they share rows), else the
// in-process hub (one process is all there is).
import { InProcessHub, type EventHub, type HubEvent, type Logger } from "@tutor/core";
import { PgEventHub, hubEventKind } from "@tutor/store";
import type { Metrics } from "./metrics.js";

export interface HubHandle {
  hub: EventHub;
  kind: "in_process" | "postgres";
  /** For /readyz: false while the listening connection is down (events from other instances are not heard). */
  connected(): boolean;
  /**
   * Calls `fn` after events may have been missed (the listening connection
   * came back): open connections should re-read what they show. Never called
   * by the in-process hub.
   */
  onResync(fn: () => void): () => void;
  close(): Promise<void>;
}

export async function createHub(databaseUrl: string | undefined, logger: Logger, metrics: Metrics): Promise<HubHandle> {
  const observer = metrics.hubObserver();
  if (!databaseUrl) {
    const local = new InProcessHub();
    metrics.hubConnected.set(1);
    const hub: EventHub = {
      publish(userId: string, event: HubEvent) {
        observer.published?.(hubEventKind(event));
        local.publish(userId, event);
      },
      subscribe: (userId, listener) => local.subscribe(userId, listener),
    };
    return { hub, kind: "in_process", connected: () => true, onResync: () => () => undefined, close: async () => undefined };
  }
  const hub = new PgEventHub({ url: databaseUrl, logger, observer });
  await hub.start();
  return {
    hub,
    kind: "postgres",
    connected: () => hub.status().connected,
    onResync: (fn) => hub.onResync(fn),
    close: () => hub.close(),
  };
}
