/** One connected participant as the load generator drives it, whatever the server. */
export interface BenchPeer {
  /** Sends `payload` to the peer named `to`: an SDP offer or an ICE candidate. */
  send(to: string, kind: "offer" | "candidate", payload: string): void;
  /** Sets the function called for every message relayed to this peer. */
  onMessage(handler: MessageHandler): void;
  close(): void;
  /** Does what an idle client of this server does periodically (Volly: ping, acknowledging its messages). */
  settle?(): void;
}

export type MessageHandler = (from: string, kind: "offer" | "candidate", payload: string) => void;
