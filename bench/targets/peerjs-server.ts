// The PeerJS signaling server (npm `peer`), as users run it: `PeerServer({ port })`, WebSocket at /peerjs.
import { PeerServer } from "peer";

const port = Number(process.argv[2] ?? 9000);
PeerServer({ port, host: "127.0.0.1", path: "/", concurrent_limit: 100_000, alive_timeout: 600_000 }, () => {
  console.log(`ready ${port}`);
});

// A profiled run (BENCH_NODE_FLAGS="--cpu-prof ...") writes its profile only on a normal exit: SIGTERM must be one.
process.on("SIGTERM", () => process.exit(0));
