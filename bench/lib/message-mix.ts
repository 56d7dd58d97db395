/** The relayed workload's two payloads: an SDP offer of about 3 KB and an ICE candidate of about 200 bytes. */
export const SDP = `v=0\r\n${"a=candidate:placeholder sdp line for a realistic offer size\r\n".repeat(48)}`.slice(0, 3000);
export const CANDIDATE = JSON.stringify({ candidate: `candidate:842163049 1 udp 1677729535 127.0.0.1 ${"5".repeat(5)} typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag abcd network-cost 999`, sdpMid: "0", sdpMLineIndex: 0, usernameFragment: "abcd" }).padEnd(200, " ");
