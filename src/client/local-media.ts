import { Code, ConnectError } from "@connectrpc/connect";
import type { GetUserMedia, MediaStreamLike } from "./webrtc-types.js";

/** Local media for a call, and whether the SDK owns it (then it stops the tracks when the call ends). */
export interface LocalMedia {
  readonly stream: MediaStreamLike | undefined;
  readonly owned: boolean;
}

/** The platform's capture function: `navigator.mediaDevices.getUserMedia` where it exists (browsers). */
export function platformGetUserMedia(): GetUserMedia | undefined {
  const devices = globalThis.navigator?.mediaDevices;
  if (devices === undefined || typeof devices.getUserMedia !== "function") return undefined;
  return (constraints) => devices.getUserMedia(constraints);
}

/**
 * The local stream of a call: the one the app passed, else a capture of `audio`/`video` when the platform can
 * capture, else none (Node without a media source: the call still carries data channels and remote media).
 */
export async function acquireLocalMedia(
  want: { audio: boolean; video: boolean },
  provided: MediaStreamLike | undefined,
  getUserMedia: GetUserMedia | undefined,
): Promise<LocalMedia> {
  if (provided !== undefined) return { stream: provided, owned: false };
  if ((!want.audio && !want.video) || getUserMedia === undefined) return { stream: undefined, owned: false };
  try {
    return { stream: await getUserMedia({ audio: want.audio, video: want.video }), owned: true };
  } catch (e) {
    // Refused by the user or the browser (NotAllowedError), no such device (NotFoundError)...: the call
    // cannot go on as asked. The platform's error stays available as `cause`.
    const name = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new ConnectError(`could not capture local media (${name})`, Code.FailedPrecondition, undefined, undefined, e);
  }
}

/** Stops every track of an SDK-owned stream. */
export function releaseLocalMedia(media: LocalMedia): void {
  if (!media.owned || media.stream === undefined) return;
  for (const track of media.stream.getTracks()) track.stop();
}
