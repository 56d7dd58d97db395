import { RTCPeerConnection } from "werift";
import type { CandidateFilter, PeerConnectionConstructor } from "../../src/client/index.js";

/**
 * werift's RTCPeerConnection kept on loopback (measured: it names a public STUN server by default and skips
 * loopback addresses unless told): no ICE servers, 127.0.0.1 added as a host address, UDP sockets bound to it,
 * no IPv6. Whatever configuration the SDK passes (ICE servers from `join`) is overridden.
 */
export class LoopbackPeerConnection extends RTCPeerConnection {
  constructor() {
    super({ iceServers: [], iceAdditionalHostAddresses: ["127.0.0.1"], iceUseIpv6: false, iceInterfaceAddresses: { udp4: "127.0.0.1" } });
  }
}

/** The constructor to give the SDK (`RTCPeerConnection` option). */
export const loopbackPeerConnection: PeerConnectionConstructor = LoopbackPeerConnection;

/** Signals only loopback candidates, so ICE traffic in tests stays on 127.0.0.1. */
export const loopbackOnly: CandidateFilter = (c) => / 127\.0\.0\.1 \d+ /.test(` ${c.candidate ?? ""} `);
