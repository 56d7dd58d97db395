import {
  VollySignalingClient,
  type CandidateFilter,
  type DataChannelLike,
  type VollyCall,
  type VollyParticipant,
} from "../../client/index.js";
import { showCall } from "./call-view.js";

// The demo page's script (bundled with the SDK by esbuild, served as /demo/app.js). Query options for tests:
// `?room=&identity=` prefill the form, `loopback=1` signals only 127.0.0.1 ICE candidates.

const params = new URLSearchParams(location.search);
const loopbackOnly: CandidateFilter = (c) => / 127\.0\.0\.1 \d+ /.test(` ${c.candidate ?? ""} `);

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`#${id} missing`);
  return el as T;
}

let client: VollySignalingClient | undefined;
let pending: VollyCall | undefined;

$<HTMLInputElement>("room").value = params.get("room") ?? $<HTMLInputElement>("room").value;
$<HTMLInputElement>("identity").value = params.get("identity") ?? "";

function status(text: string): void {
  $("status").textContent = text;
}

async function tokenFor(room: string, identity: string): Promise<string> {
  const own = $<HTMLTextAreaElement>("token").value.trim();
  if (own !== "") return own;
  const response = await fetch(`/volly/dev/token?${new URLSearchParams({ room, identity })}`);
  if (response.status === 404) throw new Error("this server has no dev token endpoint: paste a token under “Use my own token”");
  if (!response.ok) throw new Error(((await response.json()) as { error?: string }).error ?? `HTTP ${response.status}`);
  return ((await response.json()) as { token: string }).token;
}

async function join(event: Event): Promise<void> {
  event.preventDefault();
  const room = $<HTMLInputElement>("room").value.trim();
  const identity = $<HTMLInputElement>("identity").value.trim();
  $<HTMLButtonElement>("join").disabled = true;
  status("connecting…");
  try {
    const c = new VollySignalingClient({
      token: await tokenFor(room, identity),
      ...(params.get("loopback") === "1" ? { candidateFilter: loopbackOnly } : {}),
      logger: console,
    });
    wire(c);
    await c.connect();
    client = c;
    $<HTMLButtonElement>("leave").disabled = false;
    $<HTMLButtonElement>("rekey").disabled = false;
    status(`connected to ${room} as ${identity}`);
  } catch (e) {
    status(`failed: ${e instanceof Error ? e.message : String(e)}`);
    $<HTMLButtonElement>("join").disabled = false;
  }
}

function wire(c: VollySignalingClient): void {
  const refresh = (): void => renderParticipants(c);
  c.on("connected", refresh);
  c.on("participantJoined", refresh);
  c.on("participantLeft", refresh);
  c.on("participantUpdated", refresh);
  c.on("reconnecting", (info) => status(`reconnecting (${info.reason})…`));
  c.on("reconnected", (info) => status(info.resumed ? "reconnected (resumed)" : "reconnected (joined again)"));
  c.on("disconnected", (info) => {
    status(`disconnected (${info.reason})`);
    $<HTMLButtonElement>("join").disabled = false;
    $<HTMLButtonElement>("leave").disabled = true;
  });
  c.on("incomingCall", (call) => {
    pending = call;
    $("incoming-from").textContent = `${call.remoteIdentity} is calling (${call.video ? "video" : "audio"})`;
    $("incoming").classList.remove("hidden");
    call.once("ended", () => {
      if (pending === call) $("incoming").classList.add("hidden");
    });
  });
}

function renderParticipants(c: VollySignalingClient): void {
  const list = $("participants");
  list.replaceChildren();
  const people: VollyParticipant[] = c.participants;
  if (people.length === 0) list.innerHTML = '<li class="muted">nobody else yet</li>';
  for (const p of people) {
    const li = document.createElement("li");
    li.dataset.identity = p.identity;
    li.textContent = p.name || p.identity;
    const button = document.createElement("button");
    button.textContent = "Call";
    button.className = "call";
    button.onclick = () => void startCall(c, p.identity);
    li.append(button);
    list.append(li);
  }
}

async function startCall(c: VollySignalingClient, recipient: string): Promise<void> {
  try {
    const call = await c.createCall({ recipient, audio: true, video: true });
    showCall(call, call.createDataChannel("chat"));
  } catch (e) {
    status(`call failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function accept(): Promise<void> {
  const call = pending;
  if (call === undefined) return;
  pending = undefined;
  $("incoming").classList.add("hidden");
  const channel = new Promise<DataChannelLike>((resolve) => {
    call.on("dataChannel", (ch) => {
      if (ch.label !== "chat") return;
      if (ch.readyState === "open") resolve(ch);
      else ch.onopen = () => resolve(ch);
    });
  });
  showCall(call, channel);
  await call.accept();
}

function renderSession(): void {
  const session = client?.getPostQuantumSession();
  $("pq-algorithm").textContent = session?.algorithm ?? "–";
  $("pq-session").textContent = session?.sessionId ?? "–";
  $("pq-expires").textContent = session?.expiresAt ? new Date(session.expiresAt).toLocaleString() : "–";
  $("pq-epoch").textContent = session ? String(session.epoch) : "–";
  $("pq-rekeys").textContent = session ? String(session.rekeys) : "–";
}

async function discover(event: Event): Promise<void> {
  event.preventDefault();
  if (client === undefined) return;
  const ids = $<HTMLInputElement>("discover-ids").value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const users = await client.discoverUsers(ids);
  $("discover-results").replaceChildren(...users.map((u) => {
    const li = document.createElement("li");
    li.textContent = `${u.identity}: ${u.online ? "online" : u.lastSeen ? `last seen ${new Date(u.lastSeen).toLocaleTimeString()}` : "never seen"}`;
    return li;
  }));
}

$("join-form").addEventListener("submit", (e) => void join(e));
$("discover-form").addEventListener("submit", (e) => void discover(e));
$("accept").addEventListener("click", () => void accept());
$("reject").addEventListener("click", () => {
  void pending?.reject("declined");
  pending = undefined;
  $("incoming").classList.add("hidden");
});
$("leave").addEventListener("click", () => void client?.disconnect().then(() => (client = undefined)));
$("rekey").addEventListener("click", () => void client?.rekey().then(renderSession));
setInterval(renderSession, 500);
