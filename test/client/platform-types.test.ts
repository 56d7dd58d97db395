import assert from "node:assert/strict";
import { test } from "node:test";
import WebSocket from "ws";
import { RTCPeerConnection as WeriftPeerConnection } from "werift";
import type { PeerConnectionConstructor } from "../../src/client/webrtc-types.js";
import type { WebSocketConstructor } from "../../src/client/websocket-types.js";

// Compile-time proof (tsc runs before the tests) that the browser globals of the DOM lib fit the SDK's
// structural types without casts; the assignments below prove the same for the Node implementations.
type BrowserPeerFits = typeof globalThis.RTCPeerConnection extends PeerConnectionConstructor ? true : false;
type BrowserSocketFits = typeof globalThis.WebSocket extends WebSocketConstructor ? true : false;

test("werift's RTCPeerConnection and ws fit the SDK's structural types, and so do the browser's", () => {
  const peer: PeerConnectionConstructor = WeriftPeerConnection;
  const socket: WebSocketConstructor = WebSocket;
  const browserPeer: BrowserPeerFits = true;
  const browserSocket: BrowserSocketFits = true;
  assert.equal(typeof peer, "function");
  assert.equal(typeof socket, "function");
  assert.ok(browserPeer && browserSocket);
});
