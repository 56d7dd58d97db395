import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { errorIdOf, toPublicError } from "../errors.js";

/**
 * An interceptor for the room API's handlers: whatever a call throws reaches the client as a catalogue
 * error (anything else becomes `internal`, without internals), and unexpected failures are logged.
 */
export function publicErrors(log: Logger): Interceptor {
  return (next) => async (req) => {
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
