#!/usr/bin/env python3
"""A small Volly Signaling client over gRPC, built on stubs generated from proto/ (see generate.sh).

It joins a room on ``SignalService.Signal`` (token in ``authorization: Bearer`` metadata), can send an SDP
offer to another participant, and prints every message it receives as one JSON line. It speaks plaintext
signaling only: run the server with ``VOLLY_PQ_ENABLED=false``. A post-quantum client must first run the
ML-KEM-768 handshake and the record layer of docs/protocol.md (see docs/sdks.md).

    /usr/bin/python3 sdk/python/volly_client.py --server 127.0.0.1:7880 --room demo --identity py-alice \\
        --offer-to bob --sdp "v=0 ..." --wait-for answer
"""

import argparse
import json
import os
import queue
import sys
import threading
import time
from typing import Iterator, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("VOLLY_PYTHON_STUBS", os.path.join(HERE, "gen")))
sys.path.insert(0, HERE)

import grpc  # noqa: E402  (Debian: python3-grpcio)
from google.protobuf import json_format  # noqa: E402  (Debian: python3-protobuf)
from volly.signaling.v1 import signal_pb2, signal_pb2_grpc  # noqa: E402  (generated)
from volly_token import DEV_API_KEY, DEV_API_SECRET, make_access_token  # noqa: E402

_END = object()

# Like the TypeScript SDK: an ``ack`` every 32 stream messages, and a ``ping`` every ``ping_interval`` that
# acknowledges the rest. The server keeps each message until it is acknowledged (for a resume), and
# disconnects a participant that leaves more than VOLLY_MAX_UNACKED_BYTES unacknowledged.
ACK_EVERY = 32


class VollySignalClient:
    """One participant connection: a bidirectional ``Signal`` stream with a send queue and a reader thread.

    Messages are acknowledged as they arrive (they wait in the client's inbox for ``receive``), and after
    ``wait_join`` a heartbeat thread pings every ``ping_interval`` seconds: the server ends a connection that
    sends nothing for ``ping_timeout`` seconds.

    The stream has no deadline (docs/api.md: "A signal stream normally has no deadline"): a connection lasts as
    long as the session, and timeouts belong on the individual waits (``receive``, ``wait_join``, ``close``).
    Once the stream has ended, every ``receive`` and ``send`` raises ``RuntimeError``.
    """

    def __init__(self, server: str, token: str, deadline_seconds: Optional[float] = None) -> None:
        """Opens the stream to ``server`` (host:port) with ``token``.

        ``deadline_seconds`` puts a gRPC deadline on the whole stream, which then ends with DEADLINE_EXCEEDED
        (a drop, not a leave) however active it is. Leave it None unless the connection really must not
        outlive it.
        """
        self._channel = grpc.insecure_channel(server)
        self._outbox: "queue.Queue[object]" = queue.Queue()
        self._inbox: "queue.Queue[object]" = queue.Queue()
        # The highest message id received, and how many arrived since the last ack or ping (which both
        # acknowledge up to it; a count off by one between the two threads only moves an ack a little).
        self.last_message_id = 0
        self._unacked = 0
        self._rtt_ms = 0
        self._heartbeat_sent_at = 0
        # _ended: the reader saw the stream end (why: _end_reason). _closed: close() was called. _done: either,
        # so the heartbeat stops. _lock orders send() against both, so nothing is queued behind the end.
        self._lock = threading.Lock()
        self._ended = threading.Event()
        self._end_reason = ""
        self._closed = False
        self._done = threading.Event()
        stub = signal_pb2_grpc.SignalServiceStub(self._channel)
        self._call = stub.Signal(
            self._requests(),
            metadata=[("authorization", f"Bearer {token}")],
            timeout=deadline_seconds,
        )
        self.join: Optional[signal_pb2.JoinResponse] = None
        threading.Thread(target=self._read, daemon=True).start()

    def _requests(self) -> Iterator[signal_pb2.SignalRequest]:
        """The request stream grpcio consumes; returning from it half-closes the stream (end of requests)."""
        while True:
            item = self._outbox.get()
            if item is _END:
                return
            yield item  # type: ignore[misc]

    def _read(self) -> None:
        reason = "the server ended the stream"
        try:
            for response in self._call:
                if response.WhichOneof("message") == "pong" and response.pong.last_ping_timestamp == self._heartbeat_sent_at:
                    # The heartbeat's own pong: a round-trip measurement, not a message for the application.
                    self._rtt_ms = max(0, _now_ms() - self._heartbeat_sent_at)
                    continue
                if response.message_id > self.last_message_id:
                    self.last_message_id = response.message_id
                    self._unacked += 1
                    if self._unacked >= ACK_EVERY:
                        self._unacked = 0
                        self._enqueue(signal_pb2.SignalRequest(ack=signal_pb2.AckRequest(last_message_id=self.last_message_id)))
                self._inbox.put(response)
        except grpc.RpcError as e:  # the stream ended with a status
            if self._closed and e.code() == grpc.StatusCode.CANCELLED:
                reason = "the client closed the stream"
            else:
                reason = f"the stream failed: {e.code().name}: {e.details()}"
        with self._lock:
            self._end_reason = reason
            self._ended.set()
            self._done.set()
            # Ends the request iterator too, so grpcio's thread that consumes it does not wait forever.
            self._outbox.put(_END)
        self._inbox.put(_END)

    def _heartbeat(self, interval: float) -> None:
        while not self._done.wait(interval):
            self._heartbeat_sent_at = _now_ms()
            self._unacked = 0
            ping = signal_pb2.Ping(timestamp=self._heartbeat_sent_at, rtt=self._rtt_ms, last_message_id=self.last_message_id)
            self._enqueue(signal_pb2.SignalRequest(ping=ping))

    def _enqueue(self, request: signal_pb2.SignalRequest) -> bool:
        """Queues a request unless the stream is over or closing; False when it was not queued."""
        with self._lock:
            if self._ended.is_set() or self._closed:
                return False
            self._outbox.put(request)
            return True

    def receive(self, timeout: float) -> signal_pb2.SignalResponse:
        """The next message; raises TimeoutError, or RuntimeError when the stream ended.

        Messages that arrived before the end are still returned first. After them, every call raises
        RuntimeError at once (not TimeoutError), so a loop that treats TimeoutError as "idle" still learns
        that the connection is gone.
        """
        try:
            item = self._inbox.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"nothing received in {timeout} s") from None
        if item is _END:
            self._inbox.put(_END)  # for the next call: the end is permanent
            raise RuntimeError(self._end_reason)
        return item  # type: ignore[return-value]

    def wait_join(self, timeout: float) -> signal_pb2.JoinResponse:
        """Waits for ``join`` (sent at once when PQ is off); explains the usual cause when it does not come."""
        try:
            first = self.receive(timeout)
        except TimeoutError:
            raise RuntimeError(
                "no join: the server probably runs with VOLLY_PQ_ENABLED=true and waits for a post-quantum "
                "handshake, which this client does not implement (see docs/sdks.md)"
            ) from None
        kind = first.WhichOneof("message")
        if kind == "error":
            raise RuntimeError(f"refused: {first.error.code}: {first.error.message}")
        if kind != "join":
            raise RuntimeError(f"expected join, got {kind}")
        self.join = first.join
        interval = first.join.ping_interval if first.join.ping_interval > 0 else 5
        threading.Thread(target=self._heartbeat, args=(interval,), daemon=True).start()
        return first.join

    def send(self, request: signal_pb2.SignalRequest) -> None:
        """Queues ``request``; raises RuntimeError once the stream has ended or ``close`` was called.

        Why raise: a request queued after the end would never be sent, and the caller would not know.
        """
        if not self._enqueue(request):
            raise RuntimeError(self._end_reason or "the client closed the stream")

    def send_offer(self, target: str, sdp: str, call_id: str = "") -> None:
        self.send(signal_pb2.SignalRequest(offer=signal_pb2.SessionDescription(sdp=sdp, target=target, call_id=call_id)))

    def send_answer(self, target: str, sdp: str, call_id: str = "") -> None:
        self.send(signal_pb2.SignalRequest(answer=signal_pb2.SessionDescription(sdp=sdp, target=target, call_id=call_id)))

    def send_candidate(self, target: str, candidate_json: str, call_id: str = "") -> None:
        self.send(signal_pb2.SignalRequest(trickle=signal_pb2.Trickle(candidate=candidate_json, target=target, call_id=call_id)))

    def close(self, timeout: float = 5.0) -> None:
        """Leaves the room and closes the stream: sends ``leave``, half-closes, waits up to ``timeout`` seconds
        for the server to end the stream, then closes the channel. Calling it again does nothing.

        Why wait: grpcio's ``Channel.close()`` cancels every active call at once (an HTTP/2 RST_STREAM),
        before the queued ``leave`` is written. The server counts a cancelled stream as a network drop: the
        participant would stay listed as RECONNECTING for the resume window, and the room would be told only
        when that ends (reason RESUME_FAILED). After ``leave`` it is gone at once, with CLIENT_INITIATED.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._done.set()
            if not self._ended.is_set():
                self._outbox.put(signal_pb2.SignalRequest(leave=signal_pb2.LeaveRequest()))
                self._outbox.put(_END)  # half-close: no more requests
        self._ended.wait(timeout)
        self._channel.close()


def _now_ms() -> int:
    return int(time.time() * 1000)


def message_json(response: signal_pb2.SignalResponse) -> str:
    """One line of output: {"type": <oneof case>, "message": <the case as protobuf JSON>}."""
    kind = response.WhichOneof("message") or "none"
    body = json_format.MessageToDict(getattr(response, kind), preserving_proto_field_name=True) if kind != "none" else {}
    return json.dumps({"type": kind, "message": body}, sort_keys=True)


def main(argv: Optional[list] = None) -> int:
    p = argparse.ArgumentParser(description="Join a Volly Signaling room over gRPC and print what arrives.")
    p.add_argument("--server", default="127.0.0.1:7880", help="host:port of the signaling port (default 127.0.0.1:7880)")
    p.add_argument("--token", help="access token; default: mint one from --api-key/--api-secret")
    p.add_argument("--room", help="room to join (with --identity, when minting the token)")
    p.add_argument("--identity", help="this participant's identity (when minting the token)")
    p.add_argument("--api-key", default=os.environ.get("LIVEKIT_API_KEY", DEV_API_KEY))
    p.add_argument("--api-secret", default=os.environ.get("LIVEKIT_API_SECRET", DEV_API_SECRET))
    p.add_argument("--offer-to", metavar="IDENTITY", help="send an SDP offer to this participant after joining")
    p.add_argument("--sdp", default="v=0\r\n", help="the offer's SDP")
    p.add_argument("--wait-for", metavar="TYPE", help="exit 0 once a message of this type arrives (e.g. answer)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for join and for --wait-for")
    args = p.parse_args(argv)

    token = args.token
    if token is None:
        if not args.room or not args.identity:
            p.error("give --token, or --room and --identity to mint one")
        token = make_access_token(args.api_key, args.api_secret, args.identity, args.room)

    client = VollySignalClient(args.server, token)  # no stream deadline: --timeout bounds each wait
    try:
        join = client.wait_join(args.timeout)
        print(message_json(signal_pb2.SignalResponse(join=join)), flush=True)
        if args.offer_to:
            client.send_offer(args.offer_to, args.sdp)
        if not args.wait_for:
            return 0
        while True:
            response = client.receive(args.timeout)
            print(message_json(response), flush=True)
            if response.WhichOneof("message") == args.wait_for:
                return 0
    except (RuntimeError, TimeoutError) as e:
        print(f"volly_client: {e}", file=sys.stderr)
        return 1
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
