import { createHmac } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { IceServerSchema, type IceServer } from "../../gen/volly/signaling/v1/models_pb.js";
import type { IceConfig } from "../config.js";

/**
 * ICE servers for a participant: the configured STUN URLs, and the TURN URLs with ephemeral credentials
 * in coturn's REST style (`use-auth-secret`): username `<expiry unix seconds>:<identity>`, credential
 * base64(HMAC-SHA1(secret, username)). Without a TURN secret the TURN URLs are not offered. The expiry is on
 * this node's wall clock, not the cluster's: the TURN server judges it on its own, like a token's.
 */
export function iceServersFor(identity: string, ice: IceConfig, now = Date.now()): IceServer[] {
  const servers: IceServer[] = [];
  if (ice.stunUrls.length > 0) servers.push(stunServer(ice));
  if (ice.turnSecret !== undefined && ice.turnUrls.length > 0) {
    const expiry = Math.floor(now / 1000) + ice.turnTtlSeconds;
    const username = `${expiry}:${identity}`;
    const credential = createHmac("sha1", ice.turnSecret).update(username).digest("base64");
    servers.push(create(IceServerSchema, { urls: [...ice.turnUrls], username, credential }));
  }
  return servers;
}

/**
 * The STUN entry is the same for every participant: built once per configuration, not per join. Shared
 * between `join` messages, which are encoded and never modified.
 */
const stunEntries = new WeakMap<IceConfig, IceServer>();

function stunServer(ice: IceConfig): IceServer {
  let entry = stunEntries.get(ice);
  if (entry === undefined) {
    entry = create(IceServerSchema, { urls: [...ice.stunUrls] });
    stunEntries.set(ice, entry);
  }
  return entry;
}
