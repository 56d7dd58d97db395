// The `volly-signaling` CLI: `start` through the bin on plain Node, and tokens from `volly-signaling token`
// accepted by a running server, with and without a token-bound post-quantum key (way a, full handshake).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { decodeJwt } from "jose";
import { checkEncapsulationKey } from "../../src/protocol/pq/kem.js";
import { runCli } from "../../src/cli/main.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { makeToken } from "../helpers/tokens.js";
import { joinWithToken } from "./helpers/join-with-token.js";
import { runBin, startBinServer, type BinServer } from "./helpers/bin-process.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

interface CliRun {
  code: number | undefined;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, { env, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

interface JsonTokenOutput {
  token: string;
  apiKey: string;
  expiresAt: number;
  pq?: { algorithm: "ML-KEM-768" | "X25519MLKEM768"; publicKey: string; secretKey: string; keyExpiry: number };
}

describe("volly-signaling bin on plain Node", () => {
  let server: BinServer;
  before(async () => {
    server = await startBinServer();
  });
  after(async () => {
    if (server.child.exitCode === null) await server.stop();
  });

  test("no command starts the server: /healthz on both ports", async () => {
    for (const port of [server.port, server.apiPort]) {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: "ok" });
    }
  });

  test("`token` output joins a room on the running server (way b handshake over WebSocket)", async () => {
    const out = await runBin(["token", "--room", "cli-room", "--identity", "cli-alice", "--name", "Alice"]);
    assert.equal(out.code, 0, out.stderr);
    const token = out.stdout.trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, "stdout is the token alone");
    const validate = await fetch(`http://127.0.0.1:${server.port}/rtc/validate?access_token=${token}`);
    assert.equal(validate.status, 200, await validate.text());
    const c = await joinWithToken({ kind: "ws-protobuf", port: server.port, token, pq: "ML-KEM-768" });
    assert.equal(c.first.message.case, "join");
    if (c.first.message.case !== "join") return;
    assert.equal(c.first.message.value.participant?.identity, "cli-alice");
    assert.equal(c.first.message.value.participant?.name, "Alice");
    assert.equal(c.first.message.value.room?.name, "cli-room");
    c.channel.kill();
  });

  test("`token --pq --json`: the printed key pair completes a way (a) handshake (token-bound key, gRPC)", async () => {
    const out = await runBin(["token", "--room", "cli-room", "--identity", "cli-bob", "--pq", "--json", "--ttl", "1h"]);
    assert.equal(out.code, 0, out.stderr);
    const parsed = JSON.parse(out.stdout) as JsonTokenOutput;
    assert.ok(parsed.pq);
    const claims = decodeJwt(parsed.token);
    assert.equal(claims.pqAlgorithm, "ML-KEM-768");
    assert.equal(claims.pqPublicKey, parsed.pq.publicKey);
    assert.equal(claims.pqKeyExpiry, parsed.pq.keyExpiry);
    assert.ok(Math.abs(Number(claims.exp) - Date.now() / 1000 - 3600) < 10, "--ttl 1h");
    const publicKey = new Uint8Array(Buffer.from(parsed.pq.publicKey, "base64"));
    assert.equal(publicKey.length, 1184);
    checkEncapsulationKey(publicKey);
    const secretKey = new Uint8Array(Buffer.from(parsed.pq.secretKey, "base64"));
    assert.equal(secretKey.length, 2400);

    const validate = await fetch(`http://127.0.0.1:${server.port}/rtc/validate?access_token=${parsed.token}`);
    assert.equal(validate.status, 200, await validate.text());
    const c = await joinWithToken({
      kind: "grpc-js",
      port: server.port,
      token: parsed.token,
      pq: "ML-KEM-768",
      tokenKeyPair: { algorithm: "ML-KEM-768", publicKey, mlkemSecretKey: secretKey },
    });
    assert.equal(c.first.message.case, "join");
    if (c.first.message.case === "join") assert.equal(c.first.message.value.participant?.identity, "cli-bob");
    c.channel.kill();
  });

  test("`token --pq` text output lists the token and the key pair", async () => {
    const out = await runBin(["token", "--room", "r", "--identity", "i", "--pq-algorithm", "X25519MLKEM768"]);
    assert.equal(out.code, 0, out.stderr);
    const fields = Object.fromEntries(out.stdout.trim().split("\n").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]));
    assert.deepEqual(Object.keys(fields), ["token", "pq_algorithm", "pq_public_key", "pq_secret_key", "pq_key_expiry"]);
    assert.equal(fields.pq_algorithm, "X25519MLKEM768");
    assert.equal(Buffer.from(fields.pq_public_key ?? "", "base64").length, 1216);
    assert.equal(Buffer.from(fields.pq_secret_key ?? "", "base64").length, 2432);
    const validate = await fetch(`http://127.0.0.1:${server.port}/rtc/validate?access_token=${fields.token}`);
    assert.equal(validate.status, 200, await validate.text());
  });

  test("--help for the bin and each command; bad flags exit 2", async () => {
    for (const args of [["--help"], ["token", "--help"], ["start", "--help"], ["help", "token"]]) {
      const out = await runBin(args);
      assert.equal(out.code, 0, `${args.join(" ")}: ${out.stderr}`);
      assert.match(out.stdout, /^Usage: volly-signaling/);
    }
    const bad = await runBin(["token", "--room", "r", "--identity", "i", "--bogus"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Unknown option '--bogus'/);
    assert.match(bad.stderr, /volly-signaling token --help/);
    assert.equal(bad.stdout, "");
  });

  test("SIGTERM shuts the bin's server down cleanly (exit 0)", async () => {
    assert.equal(await server.stop(), 0);
    assert.ok(server.lines.some((l) => l.includes('"shutting down"')));
  });
});

describe("the one-core launch in docs/operations.md", () => {
  test("`node --single-threaded bin/volly-signaling.mjs start` serves a PQ join and drains on SIGTERM", async () => {
    const server = await startBinServer({}, { nodeArgs: ["--single-threaded"], args: ["start"] });
    let code;
    try {
      const res = await fetch(`http://127.0.0.1:${server.apiPort}/healthz`);
      assert.equal(res.status, 200);
      const out = await runBin(["token", "--room", "one-core", "--identity", "solo"]);
      assert.equal(out.code, 0, out.stderr);
      const c = await joinWithToken({ kind: "ws-protobuf", port: server.port, token: out.stdout.trim(), pq: "ML-KEM-768" });
      assert.equal(c.first.message.case, "join");
      c.channel.kill();
    } finally {
      code = await server.stop();
    }
    assert.equal(code, 0, server.lines.join("\n"));
  });
});

describe("volly-signaling token (in process)", () => {
  let server: TestServer;
  const secret = "an-operator-secret-of-at-least-32-chars";
  before(async () => {
    server = await startTestServer({ LIVEKIT_KEYS: `ops-key: ${secret}`, VOLLY_PQ_ENABLED: "false" });
  });
  after(() => server.close());

  const validate = async (token: string): Promise<number> =>
    (await fetch(`${server.httpUrl}/rtc/validate?access_token=${encodeURIComponent(token)}`)).status;

  test("keys come from LIVEKIT_KEYS like the server's, or from --key/--secret", async () => {
    const fromEnv = await cli(["token", "--room", "r", "--identity", "env"], { LIVEKIT_KEYS: `ops-key: ${secret}` });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.equal(await validate(fromEnv.stdout.trim()), 200);
    const fromFlags = await cli(["token", "--room", "r", "--identity", "flags", "--key", "ops-key", "--secret", secret]);
    assert.equal(fromFlags.code, 0);
    assert.equal(await validate(fromFlags.stdout.trim()), 200);
    const dev = await cli(["token", "--room", "r", "--identity", "dev"]);
    assert.equal(decodeJwt(dev.stdout.trim()).iss, "volly-dev-key");
    assert.equal(await validate(dev.stdout.trim()), 401, "the dev key is not configured on this server");
    const wrong = await cli(["token", "--room", "r", "--identity", "w", "--key", "ops-key", "--secret", "not-the-secret"]);
    assert.equal(await validate(wrong.stdout.trim()), 401);
  });

  test("a PQ-off server joins a CLI token right away", async () => {
    const out = await cli(["token", "--room", "plain", "--identity", "carol", "--key", "ops-key", "--secret", secret]);
    const c = await joinWithToken({ kind: "ws-json", port: server.port, token: out.stdout.trim(), pq: false });
    assert.equal(c.first.message.case, "join");
    c.channel.kill();
  });

  test("claims follow LiveKit's layout", async () => {
    const out = await cli(["token", "--room", "r1", "--identity", "id1", "--metadata", "{\"a\":1}", "--ttl", "90s", "--json"]);
    const { token, expiresAt } = JSON.parse(out.stdout) as JsonTokenOutput;
    const claims = decodeJwt(token);
    assert.equal(claims.sub, "id1");
    assert.equal(claims.metadata, "{\"a\":1}");
    assert.deepEqual(claims.video, { roomJoin: true, room: "r1", canPublish: true, canSubscribe: true, canPublishData: true, canUpdateOwnMetadata: true });
    assert.equal(Number(claims.exp) - Number(claims.nbf), 90);
    assert.equal(expiresAt, Number(claims.exp) * 1000);
    assert.equal(claims.pqPublicKey, undefined);
  });

  test("the seed's troubleshooting command decodes a CLI token as written", async () => {
    const out = await cli(["token", "--room", "seed-room", "--identity", "seed-user"]);
    const token = out.stdout.trim();
    // README/seed: node -e "console.log(require('jsonwebtoken').decode('your-token-here'))", run in the checkout.
    const r = spawnSync(process.execPath, ["-e", `console.log(require('jsonwebtoken').decode('${token}'))`], { cwd: root, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /sub: 'seed-user'/);
    assert.match(r.stdout, /room: 'seed-room'/);
  });

  test("usage errors exit 2 with a reason; bad configuration exits 78", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["token", "--identity", "i"], /--room is required/],
      [["token", "--room", "r"], /--identity is required/],
      [["token", "--room", "--identity", "i"], /--room needs a value, but --identity follows it/],
      [["token", "--room", "-x", "--identity", "i"], /--room needs a value; write --room=-x for a value that starts with "-"/],
      [["token", "--identity", "i", "--room"], /--room needs a value$/m],
      [["token", "--room", "r", "--identity", "i", "--ttl", "soon"], /--ttl must be a positive duration of at most a year, such as 3600, 30m, 6h or 1d, not "soon"/],
      [["token", "--room", "r", "--identity", "i", "--ttl", "0"], /--ttl must be a positive duration .*, not "0"/],
      [["token", "--room", "r", "--identity", "i", "--ttl", "-5"], /--ttl must be a positive duration .*, not "-5"/],
      [["token", "--room", "r", "--identity", "i", "--ttl=-5"], /--ttl must be a positive duration .*, not "-5"/],
      [["token", "--room", "r", "--identity", "i", "--ttl", "400d"], /--ttl must be a positive duration of at most a year/],
      [["token", "--room", "r", "--identity", "i", "--ttl"], /--ttl needs a value: a positive duration/],
      [["token", "--room", "a\nb", "--identity", "i"], /--room: room name must be 1-256 characters without control characters/],
      [["token", "--room", "x".repeat(300), "--identity", "i"], /--room: room name must be 1-256 characters/],
      [["token", "--room", "r", "--identity", "x".repeat(300)], /--identity: identity must be at most 256 characters, without control characters/],
      [["token", "--room", "r", "--identity", "tab\there"], /--identity: identity must be at most 256 characters/],
      [["token", "--room", "r", "--identity", "i", "--pq-algorithm", "ML-KEM-512"], /--pq-algorithm must be/],
      [["token", "--room", "r", "--identity", "i", "--key", "other"], /no secret is configured for --key "other"/],
      [["token", "extra"], /Unexpected argument/],
      [["tokn"], /unknown command "tokn"/],
      [["constructor"], /unknown command "constructor"/],
      [["start", "--port", "1"], /Unknown option '--port'/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(" ")} → ${r.code} ${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
      assert.equal(r.stdout, "");
    }
    const prod = await cli(["token", "--room", "r", "--identity", "i"], { NODE_ENV: "production" });
    assert.equal(prod.code, 78);
    assert.match(prod.stderr, /refused when NODE_ENV=production/);
  });

  test("help wins over every other mistake on the line", async () => {
    for (const args of [["token", "-h", "--room"], ["token", "--room", "--help"], ["token", "--bogus", "-h"], ["start", "--port", "1", "-h"]]) {
      const r = await cli(args);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stdout, /^Usage: volly-signaling/);
      assert.equal(r.stderr, "");
    }
  });

  test("half a key pair in the environment is refused like the server refuses it; --secret completes it", async () => {
    const halfPairs: Array<Record<string, string>> = [{ LIVEKIT_API_KEY: "k" }, { NODE_ENV: "production", LIVEKIT_API_KEY: "k" }];
    for (const env of halfPairs) {
      const r = await cli(["token", "--room", "r", "--identity", "i"], env);
      assert.equal(r.code, 78, r.stderr);
      assert.match(r.stderr, /LIVEKIT_API_KEY is set but LIVEKIT_API_SECRET is missing/);
      assert.doesNotMatch(r.stderr, /development key/);
    }
    const secretOnly = await cli(["token", "--room", "r", "--identity", "i"], { LIVEKIT_API_SECRET: "s" });
    assert.equal(secretOnly.code, 78);
    assert.match(secretOnly.stderr, /LIVEKIT_API_SECRET is set but LIVEKIT_API_KEY is missing/);
    const completed = await cli(["token", "--room", "r", "--identity", "i", "--secret", secret], { LIVEKIT_API_KEY: "ops-key" });
    assert.equal(completed.code, 0, completed.stderr);
    assert.equal(await validate(completed.stdout.trim()), 200);
  });

  test("the CLI refuses exactly the identities and rooms the server refuses", async () => {
    // On both sides of each limit of src/session/authorize-connection.ts, which src/cli/participant-names.ts
    // restates: the server's verdict on a token with these names, and the CLI's on the same names.
    const cases: Array<[string, string]> = [
      ["x".repeat(256), "r"], ["x".repeat(257), "r"], ["i", "x".repeat(256)], ["i", "x".repeat(257)],
      ["é".repeat(256), "r"], ["i", "😀".repeat(128)], ["i", "😀".repeat(129)],
      ["new\nline", "r"], ["i", "new\nline"], ["i", "del\u007f"], ["i", "nul\u0000"], ["i", "unit\u001f"],
      ["spaces are fine", "r"], ["i", "room/with:punctuation{}"], ["i", "\u0080c1-control"],
    ];
    for (const [identity, room] of cases) {
      const serverStatus = await validate(await makeToken({ identity, room, key: "ops-key", secret }));
      const r = await cli(["token", "--room", room, "--identity", identity, "--key", "ops-key", "--secret", secret]);
      const label = `identity ${JSON.stringify(identity.slice(0, 20))} (${identity.length}), room ${JSON.stringify(room.slice(0, 20))} (${room.length})`;
      assert.ok(serverStatus === 200 || serverStatus === 400, `${label}: server said ${serverStatus}`);
      assert.equal(r.code, serverStatus === 200 ? 0 : 2, `${label}: server ${serverStatus}, CLI ${r.code} ${r.stderr}`);
      if (r.code === 0) assert.equal(await validate(r.stdout.trim()), 200, label);
    }
  });
});

describe("the CLI's checks in a real process (bin on plain Node)", () => {
  test("a room with a newline, a 300-character identity, --ttl -5: exit 2 with the reason, nothing on stdout", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["token", "--room", "a\nb", "--identity", "i"], /--room: room name must be 1-256 characters without control characters/],
      [["token", "--room", "r", "--identity", "x".repeat(300)], /--identity: identity must be at most 256 characters/],
      [["token", "--room", "r", "--identity", "i", "--ttl", "-5"], /--ttl must be a positive duration .* such as 3600, 30m, 6h or 1d, not "-5"/],
    ];
    for (const [args, message] of cases) {
      const out = await runBin(args);
      assert.equal(out.code, 2, `${args.join(" ").slice(0, 60)}: ${out.stderr}`);
      assert.match(out.stderr, message);
      assert.equal(out.stdout, "");
    }
  });

  test("`token -h --room` prints the help and exits 0", async () => {
    const out = await runBin(["token", "-h", "--room"]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^Usage: volly-signaling token --room <room> --identity <identity>/);
    assert.equal(out.stderr, "");
  });

  test("LIVEKIT_API_KEY without its secret: exit 78 naming the missing variable", async () => {
    const out = await runBin(["token", "--room", "r", "--identity", "i"], { LIVEKIT_API_KEY: "my-key", NODE_ENV: "production" });
    assert.equal(out.code, 78);
    assert.match(out.stderr, /LIVEKIT_API_KEY is set but LIVEKIT_API_SECRET is missing/);
    assert.equal(out.stdout, "");
  });
});
