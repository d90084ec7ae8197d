// The server's end of a WebSocket, in memory, for tests: records what the app
// sends and lets the test push server messages.
import type { ClientMessage, ServerMessage } from "@tutor/protocol";

export class FakeSocket {
  static all: FakeSocket[] = [];
  sent: ClientMessage[] = [];
  /** Binary frames (microphone audio), as 16-bit samples. */
  audio: Int16Array[] = [];
  binaryType = "blob";
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  static get last(): FakeSocket {
    return FakeSocket.all.at(-1)!;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  send(data: string | ArrayBuffer): void {
    if (typeof data !== "string") {
      this.audio.push(new Int16Array(data.slice(0)));
      return;
    }
    this.sent.push(JSON.parse(data) as ClientMessage);
  }
  close(): void {
    this.readyState = 3;
    this.onclose?.({});
  }
  /** The server drops the connection. */
  drop(): void {
    this.close();
  }
  push(msg: ServerMessage): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  lastOf<T extends ClientMessage["type"]>(type: T): Extract<ClientMessage, { type: T }> {
    const m = [...this.sent].reverse().find((x) => x.type === type);
    if (!m) throw new Error(`no ${type} sent; sent: ${this.sent.map((x) => x.type).join(", ")}`);
    return m as Extract<ClientMessage, { type: T }>;
  }
}
