import { errors } from "../errors.js";

/** `Bearer <token>`; the scheme is case-insensitive (RFC 7235 §2.1), so `bearer` from a proxy or curl works. */
const BEARER = /^bearer +/i;

/**
 * The token of an `Authorization: Bearer <jwt>` header, `""` when the header names none. Throws
 * `authorization_header_invalid` for any other scheme (`Basic`), so a misconfigured client hears why.
 */
export function bearerToken(authorization: string): string {
  const scheme = BEARER.exec(authorization);
  if (scheme === null) throw errors.authorizationHeaderInvalid();
  return authorization.slice(scheme[0].length).trim();
}
