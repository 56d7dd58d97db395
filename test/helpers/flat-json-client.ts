import WebSocket from "ws";
import type { TestServer } from "./test-server.js";
import { makeToken } from "./tokens.js";

/** A flat-JSON message as a client sees it, with the fields these tests read. */
export interface Flat {
  type: string;
  reason?: string;
  request_id?: number;
}

export interface FlatClient {
  readonly ws: WebSocket;
  /** Everything after `join`, in order of arrival. */
  readonly messages: Flat[];
  /** The close, once it comes. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

/**
 * A raw WebSocket client speaking the flat JSON form (PQ off), joined to `room` as `identity` when it
 * resolves: for tests that must write frames exactly as they choose, which the SDK and TestClient never would.
 */
export async function joinFlat(srv: TestServer, identity: string, room: string): Promise<FlatClient> {
  const token = await makeToken({ identity, room });
  const ws = new WebSocket(`${srv.wsUrl}/rtc?access_token=${token}`);
  const messages: Flat[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    ws.on("message", (data) => {
      const m = JSON.parse(String(data)) as Flat;
      if (m.type === "join") resolve();
      else messages.push(m);
    });
    ws.once("error", reject);
  });
  return { ws, messages, closed };
}
