import { decodeJwt } from "jose";
import { ConfigError, loadConfig } from "../config.js";
import { DEFAULT_PQ_ALGORITHM, PQ_ALGORITHMS, parsePqAlgorithm, type PqAlgorithm } from "../protocol/pq/algorithms.js";
import { UsageError, optionalString, parseFlags, requireString } from "./cli-args.js";
import { EXIT, type CliIo } from "./cli-io.js";
import { parseDuration } from "./duration.js";
import { participantNamesProblem } from "./participant-names.js";
import { generateRawPqKeyPair } from "./pq-key-pair.js";
import { generateVollyAccessToken } from "../client/access-token.js";

/** `volly-signaling token --help`. */
export const TOKEN_USAGE = `Usage: volly-signaling token --room <room> --identity <identity> [options]

Prints an access token (HS256, LiveKit layout) that joins <room> as <identity>.

Options:
  --room <room>             room to join (required)
  --identity <identity>     participant identity (required)
  --name <name>             display name
  --metadata <text>         participant metadata
  --ttl <duration>          lifetime: seconds (3600) or units (6h, 30m, 1d, 1h30m); default 6h
  --pq                      also generate a client key pair, bind its public key in the token
                            (pqPublicKey, pqAlgorithm, pqKeyExpiry = token expiry) and print the pair
  --pq-algorithm <alg>      ML-KEM-768 (default) or X25519MLKEM768; implies --pq
  --key <api key>           API key (iss); default: LIVEKIT_KEYS' first key, LIVEKIT_API_KEY, or volly-dev-key
  --secret <api secret>     its secret; default: from LIVEKIT_KEYS / LIVEKIT_API_SECRET, or the dev secret
  --json                    print one JSON object instead of text
  -h, --help                show this help

Output: the token alone on stdout; with --pq, "name: value" lines (token, pq_algorithm, pq_public_key,
pq_secret_key, pq_key_expiry), keys in standard base64. The secret key is the expanded FIPS 203 ML-KEM-768
decapsulation key (2400 bytes), followed for X25519MLKEM768 by the raw X25519 private key (32 bytes).
The client SDK takes the pair as printed: tokenKeyPair = await importPqKeyPair(json.pq) with --json, or
importPqKeyPair({ algorithm, publicKey, secretKey }) from the text lines.
`;

const OPTIONS = {
  room: { type: "string" },
  identity: { type: "string" },
  name: { type: "string" },
  metadata: { type: "string" },
  ttl: { type: "string" },
  pq: { type: "boolean" },
  "pq-algorithm": { type: "string" },
  key: { type: "string" },
  secret: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const TTL_FORM = "a positive duration of at most a year, such as 3600, 30m, 6h or 1d";
const HINTS = { ttl: TTL_FORM } as const;

/** `volly-signaling token`: mints a token (and with `--pq` a client key pair). Returns the exit code. */
export async function runTokenCommand(args: readonly string[], io: CliIo): Promise<number> {
  const values = parseFlags(args, OPTIONS, HINTS);
  if (values.help === true) {
    io.stdout(TOKEN_USAGE);
    return EXIT.ok;
  }
  const room = requireString(values, "room");
  const identity = requireString(values, "identity");
  const namesProblem = participantNamesProblem(identity, room);
  if (namesProblem !== undefined) throw new UsageError(namesProblem);
  const ttlText = optionalString(values, "ttl") ?? "6h";
  const ttlSeconds = parseDuration(ttlText);
  if (ttlSeconds === undefined) {
    throw new UsageError(`--ttl must be ${TTL_FORM}, not ${JSON.stringify(ttlText)}`);
  }
  const algorithmText = optionalString(values, "pq-algorithm");
  let algorithm: PqAlgorithm | undefined;
  if (algorithmText !== undefined) {
    algorithm = parsePqAlgorithm(algorithmText);
    if (algorithm === undefined) throw new UsageError(`--pq-algorithm must be ${PQ_ALGORITHMS.join(" or ")}, not ${JSON.stringify(algorithmText)}`);
  } else if (values.pq === true) algorithm = DEFAULT_PQ_ALGORITHM;

  const keys = resolveKey(optionalString(values, "key"), optionalString(values, "secret"), io);
  if (typeof keys === "number") return keys;

  const keyPair = algorithm ? await generateRawPqKeyPair(algorithm) : undefined;
  const nowMs = Date.now();
  const keyExpiry = (Math.floor(nowMs / 1000) + ttlSeconds) * 1000;
  const publicKey = keyPair ? Buffer.from(keyPair.publicKey).toString("base64") : undefined;
  // The SDK's own minter, so the CLI's tokens have exactly the layout the SDK documents.
  const token = await generateVollyAccessToken(keys.apiKey, keys.apiSecret, {
    identity,
    room,
    ttl: ttlSeconds,
    ...(values.name !== undefined ? { name: String(values.name) } : {}),
    ...(values.metadata !== undefined ? { metadata: String(values.metadata) } : {}),
    ...(keyPair && publicKey ? { pqPublicKey: publicKey, pqAlgorithm: keyPair.algorithm, pqKeyExpiry: keyExpiry } : {}),
  });
  const expiresAt = decodeJwt(token).exp ?? 0;
  const pq = keyPair && publicKey
    ? { algorithm: keyPair.algorithm, publicKey, secretKey: Buffer.from(keyPair.secretKey).toString("base64"), keyExpiry }
    : undefined;
  if (values.json === true) {
    io.stdout(`${JSON.stringify({ token, apiKey: keys.apiKey, room, identity, expiresAt: expiresAt * 1000, ...(pq ? { pq } : {}) }, null, 2)}\n`);
  } else if (pq) {
    io.stdout(`token: ${token}\npq_algorithm: ${pq.algorithm}\npq_public_key: ${pq.publicKey}\npq_secret_key: ${pq.secretKey}\npq_key_expiry: ${pq.keyExpiry}\n`);
  } else io.stdout(`${token}\n`);
  return EXIT.ok;
}

/**
 * The signing key: `--key`/`--secret`, else the server's own key configuration (src/config.ts: LIVEKIT_KEYS, then
 * LIVEKIT_API_KEY/LIVEKIT_API_SECRET, then the dev pair, which NODE_ENV=production refuses; half a pair is refused
 * as the server refuses it). Returns an exit code after printing the problem when the configuration is invalid.
 */
function resolveKey(key: string | undefined, secret: string | undefined, io: CliIo): { apiKey: string; apiSecret: string } | number {
  if (key !== undefined && secret !== undefined) return { apiKey: key, apiSecret: secret };
  const { LIVEKIT_KEYS, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, NODE_ENV } = io.env;
  if (secret !== undefined && !LIVEKIT_KEYS?.trim() && LIVEKIT_API_KEY?.trim() && LIVEKIT_API_SECRET === undefined) {
    // The environment names the key and the flag gives its secret: the half pair the server would refuse
    // is completed here by the operator, not by a default.
    return { apiKey: LIVEKIT_API_KEY, apiSecret: secret };
  }
  let configured: ReadonlyMap<string, string>;
  try {
    configured = loadConfig({ LIVEKIT_KEYS, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, NODE_ENV }).keys;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.stderr(`volly-signaling token: ${e.message}\n`);
    return EXIT.config;
  }
  if (secret !== undefined) {
    // A secret alone belongs to the configured key (or the only one).
    const [first] = configured.keys();
    return { apiKey: first ?? "", apiSecret: secret };
  }
  const apiKey = key ?? [...configured.keys()][0] ?? "";
  const apiSecret = configured.get(apiKey);
  if (apiSecret === undefined) throw new UsageError(`no secret is configured for --key ${JSON.stringify(apiKey)}: pass --secret too`);
  return { apiKey, apiSecret };
}
