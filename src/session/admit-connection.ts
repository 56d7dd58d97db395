import type { ConnectError } from "@connectrpc/connect";
import { errorIdOf, errors, toPublicError } from "../errors.js";
import type { ConnectionSlots } from "../rtc/connection-limiter.js";
import { authorizeConnection, type AuthorizedConnection } from "./authorize-connection.js";
import { parseConnectParams, type ConnectParams, type ParamSource } from "./connect-params.js";
import type { NodeServices } from "./node-services.js";

/** A signal connection as its transport received it, before anything was checked. */
export interface ConnectionRequest {
  /** The client's address: slots are counted per IP. */
  readonly ip: string;
  /** A connect parameter by its query name (`parseConnectParams`'s `get`). */
  readonly param: (name: string) => string | undefined;
  /** The `Authorization` header (or metadata). */
  readonly authorization: string | undefined;
  readonly source: ParamSource;
}

/** A connection let in: it holds a slot of its IP, which its transport releases when the connection ends. */
export interface AdmittedConnection extends AuthorizedConnection {
  readonly params: ConnectParams;
}

/**
 * Lets a signal connection in, whatever its transport: takes a slot for its IP, reads its connect
 * parameters and authorizes them. A refusal is logged once, here, and thrown as a catalogue error (anything
 * unexpected as `internal`) with the slot already given back, so a transport only has to answer it in its
 * own terms (an HTTP status before the upgrade, a status on the stream).
 */
export async function admitConnection(svc: NodeServices, slots: ConnectionSlots, request: ConnectionRequest): Promise<AdmittedConnection> {
  const { ip } = request;
  if (!slots.acquire(ip)) throw refused(svc, ip, errors.tooManyConnections());
  try {
    const params = parseConnectParams(request.param, request.authorization, request.source);
    return { ...(await authorizeConnection(svc, params)), params };
  } catch (e) {
    slots.release(ip);
    throw refused(svc, ip, toPublicError(e));
  }
}

function refused(svc: NodeServices, ip: string, error: ConnectError): ConnectError {
  svc.log.info({ error: errorIdOf(error), ip }, "connection refused");
  return error;
}
