// Request targets that are paths but not what `new URL(path, base)` reads as one (`//` is a host-less URL, and
// threw on the upgrade path, ending the process), absolute-form targets, and the plain answers around them:
// on a node of its own (a crash must not take the test runner with it), logging at debug so that a token
// reaching the logs would show.
import assert from "node:assert/strict";
import * as http from "node:http";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { NodeProcess } from "../helpers/node-process.js";
import { makeToken } from "../helpers/tokens.js";

/** Sends `raw` over a fresh TCP connection and resolves with the head of the answer (status line and headers). */
function rawHead(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(raw));
    let data = "";
    socket.on("data", (d) => {
      data += d.toString("latin1");
      if (data.includes("\r\n\r\n")) {
        resolve(data.slice(0, data.indexOf("\r\n\r\n")));
        socket.destroy();
      }
    });
    // The server may cut the rest of a request it refused: what it answered is what counts.
    socket.on("error", (e) => (data === "" ? reject(e) : resolve(data)));
    socket.on("close", () => resolve(data));
  });
}

async function rawStatusLine(port: number, raw: string): Promise<string> {
  return (await rawHead(port, raw)).split("\r\n")[0] ?? "";
}

/** The HTTP status a WebSocket upgrade to `path` is refused with (0: the socket was cut without one). */
function upgradeStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("open", () => {
      resolve(101);
      ws.close();
    });
    ws.on("error", () => resolve(0));
  });
}

describe("request targets and plain answers", () => {
  let node: NodeProcess;
  let token: string;
  before(async () => {
    node = await NodeProcess.start({ LOG_LEVEL: "debug" }, "targets");
    token = await makeToken({ identity: "target-secret-holder", room: "targets" });
  });
  after(() => node.kill());

  test("upgrades and requests to // (with a token), /\\ and //healthz are refused plainly; the node stays up and logs no token", async () => {
    for (const path of ["//", `//?access_token=${token}`, "/\\", "//rtc"]) {
      assert.equal(await upgradeStatus(node.port, path), 404, path);
    }
    for (const port of [node.port, node.apiPort]) {
      for (const path of ["//", `//?access_token=${token}`, "//healthz"]) {
        assert.equal((await rawStatusLine(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).split(" ")[1], "404", `${port} ${path}`);
      }
    }
    assert.equal((await fetch(`${node.httpUrl}/healthz`)).status, 200);
    const exited = await Promise.race([node.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 200))]);
    assert.equal(exited, false, node.log);
    assert.ok(!node.log.includes(token.slice(-20)), "the token is not in the logs");
  });

  test("an absolute-form target is served by its path; `*` and a bare word are a 400", async () => {
    assert.equal(await rawStatusLine(node.port, `GET http://127.0.0.1:${node.port}/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`), "HTTP/1.1 200 OK");
    assert.equal(await rawStatusLine(node.apiPort, "GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), "HTTP/1.1 400 Bad Request");
  });

  test("GET answers keep the connection open; a request Node's parser refuses (431) still carries the CORS headers", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    for (const url of [`${node.apiUrl}/healthz`, `${node.apiUrl}/volly/sessions/stats`, `${node.apiUrl}/healthz`]) {
      await new Promise<void>((resolve, reject) => {
        http.get(url, { agent }, (res) => {
          sockets.add(res.socket);
          assert.notEqual(res.headers.connection, "close", url);
          res.resume();
          res.on("end", resolve);
        }).on("error", reject);
      });
    }
    assert.equal(sockets.size, 1, "one connection for the three requests");
    agent.destroy();
    const head = await rawHead(node.port, `GET /rtc/validate?access_token=${"x".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.match(head, /^HTTP\/1\.1 431 /);
    assert.match(head, /\r\naccess-control-allow-origin: \*\r\n/i);
  });
});
