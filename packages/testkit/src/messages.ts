// What a test client (WebSocket, LiveKit data channel) has received, and
// waiting for a message that may have arrived already or is still to come.
export class MessageLog<M extends { type: string; request_id?: unknown }> {
  readonly messages: M[] = [];
  #waiters: { pred: (m: M) => boolean; resolve: (m: M) => void }[] = [];

  push(m: M): void {
    this.messages.push(m);
    this.#waiters = this.#waiters.filter((w) => (w.pred(m) ? (w.resolve(m), false) : true));
  }

  /** The first message from index `from` on (already received or future) matching `pred`. */
  waitFor(pred: (m: M) => boolean, timeoutMs: number, from = 0): Promise<M> {
    const seen = this.messages.slice(from).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting; got ${JSON.stringify(this.messages.map((m) => m.type))}`)), timeoutMs);
      this.#waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  /** Messages carrying this request id, in arrival order. */
  replies(requestId: string): M[] {
    return this.messages.filter((m) => m.request_id === requestId);
  }
}
