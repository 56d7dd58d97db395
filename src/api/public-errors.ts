import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { errorIdOf, toPublicError } from "../errors.js";
import { reachedImplementation } from "./request-body-errors.js";

/**
 * An interceptor for the room API's handlers: whatever a call throws reaches the client as a catalogue
 * error (anything else becomes `internal`, without internals), and unexpected failures are logged. It
 * also marks the call as having decoded (`reachedImplementation`): connect-es runs interceptors only
 * after reading the request, so an error without the mark is about the request itself.
 */
export function publicErrors(log: Logger): Interceptor {
  return (next) => async (req) => {
    req.contextValues.set(reachedImplementation, true);
    try {
      return await next(req);
    } catch (e) {
      const error = toPublicError(e);
      const rpc = `${req.service.typeName}/${req.method.name}`;
      if (error === e) log.debug({ rpc, error: errorIdOf(error) }, "api call refused");
      else log.error({ err: e, rpc }, "api call failed");
      throw error;
    }
  };
}
