import type { DataChannelLike, VollyCall } from "../../client/index.js";

// The call panel of the demo page: local and remote video, state, hang-up, and a chat over a data channel.

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`#${id} missing`);
  return el as T;
}

function say(who: string, text: string): void {
  const line = document.createElement("div");
  line.className = "chat-line";
  line.dataset.from = who;
  line.textContent = `${who}: ${text}`;
  $("chat-log").append(line);
  $("chat-log").scrollTop = $("chat-log").scrollHeight;
}

/** Shows `call` in the call panel; `chat` resolves with the open chat channel. */
export function showCall(call: VollyCall, chat: Promise<DataChannelLike>): void {
  // Exposed for debugging from the console (and for the browser test's ICE check).
  Object.assign(globalThis, { vollyDemo: { call } });
  $("call-panel").classList.remove("hidden");
  $("chat-log").replaceChildren();
  $("remote-label").textContent = call.remoteIdentity;
  const local = $<HTMLVideoElement>("local-video");
  const remote = $<HTMLVideoElement>("remote-video");
  const send = $<HTMLButtonElement>("chat-send");
  send.disabled = true;
  const showState = (): void => {
    $("call-state").textContent = `with ${call.remoteIdentity}: ${call.state}`;
    if (call.localStream !== undefined && local.srcObject === null) local.srcObject = call.localStream as unknown as MediaStream;
  };
  showState();
  call.on("state", showState);
  call.on("track", (track, streams) => {
    const stream = (streams[0] as unknown as MediaStream | undefined) ?? new MediaStream([track as unknown as MediaStreamTrack]);
    remote.srcObject = stream;
    $<HTMLAudioElement>("remote-audio").srcObject = stream;
  });
  call.once("ended", (reason, detail) => {
    $("call-state").textContent = `ended (${reason}${detail ? `: ${detail}` : ""})`;
    send.disabled = true;
    local.srcObject = remote.srcObject = null;
  });
  $("hangup").onclick = () => void call.hangup();
  void chat.then((channel) => {
    send.disabled = false;
    channel.onmessage = (event: { data: unknown }) => say(call.remoteIdentity, String(event.data));
    $<HTMLFormElement>("chat-form").onsubmit = (event) => {
      event.preventDefault();
      const input = $<HTMLInputElement>("chat-input");
      if (input.value === "" || channel.readyState !== "open") return;
      channel.send(input.value);
      say("you", input.value);
      input.value = "";
    };
  }, (e: unknown) => say("system", `chat unavailable: ${String(e)}`));
}
