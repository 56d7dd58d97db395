/** The server's version, reported in `join` and `/metrics`. */
export const VERSION = "0.1.0";
/** The signal protocol version (the `.proto` contract in proto/volly/signaling/v1). */
export const PROTOCOL_VERSION = 1;
