// Answers written straight onto a socket (a refused WebSocket upgrade) are built in one place
// (src/http/raw-response.ts): the status line has the status's own reason phrase, the body says why in
// plain text, and the CORS headers are there as on every other answer.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { errors } from "../../src/errors.js";
import { makeToken } from "../helpers/tokens.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

interface Refusal {
  readonly statusLine: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

/** The answer to a WebSocket upgrade of `path` the server refuses, as the `ws` client reads it. */
function refusedUpgrade(port: number, path: string): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ statusLine: `${res.statusCode} ${res.statusMessage}`, headers: res.headers, body }));
    });
    ws.on("open", () => {
      ws.close();
      reject(new Error(`${path} was upgraded`));
    });
    ws.on("error", () => {});
  });
}

/** The whole answer to `raw`, sent over a fresh TCP connection, read until the server closes it. */
function rawAnswer(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(raw));
    let data = "";
    socket.on("data", (d) => (data += d.toString("latin1")));
    socket.on("error", (e) => (data === "" ? reject(e) : resolve(data)));
    socket.on("close", () => resolve(data));
  });
}

describe("raw answers on a socket", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_AUTO_CREATE_ROOMS: "false" });
  });
  after(() => srv.close());

  test("a refused upgrade whose status the bridge had no phrase for (409) goes out with its own, not \"Error\"", async () => {
    const { store } = srv.server.services;
    const getRoom = store.getRoom;
    // A store that answers change_busy (aborted, 409) is what reaches that status before the upgrade.
    store.getRoom = () => Promise.reject(errors.changeBusy("room"));
    try {
      const token = await makeToken({ identity: "phrase", room: "raw-answers" });
      const refusal = await refusedUpgrade(srv.port, `/rtc?access_token=${token}`);
      assert.equal(refusal.statusLine, "409 Conflict");
      assert.equal(refusal.body, errors.changeBusy("room").rawMessage);
      assert.equal(refusal.headers["access-control-allow-origin"], "*");
      assert.equal(refusal.headers["content-type"], "text/plain; charset=utf-8");
    } finally {
      store.getRoom = getRoom;
    }
  });

  test("an upgrade of a path nobody serves is a 404 that says so, with the CORS headers", async () => {
    const refusal = await refusedUpgrade(srv.port, "/not-a-signal-path");
    assert.equal(refusal.statusLine, "404 Not Found");
    assert.equal(refusal.body, "not found");
    assert.equal(refusal.headers["access-control-allow-origin"], "*");
  });

  test("an upgrade whose request target is no path is the catalogue's malformed_target", async () => {
    const answer = await rawAnswer(srv.port, "GET * HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(answer, /\r\naccess-control-allow-origin: \*\r\n/i);
    assert.ok(answer.endsWith(`\r\n\r\n${errors.malformedTarget().rawMessage}`), answer);
  });
});
