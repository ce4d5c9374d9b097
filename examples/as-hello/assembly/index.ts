// index.ts - as-hello: the AssemblyScript example actor, on the SDK in
// sdk/assemblyscript. Operations:
//   HandleRequest (wasmcloud:httpserver): GET / -> 200 "Hello from as-hello";
//     GET /count -> adds 1 to the key "as-hello:count" in wasmcloud:keyvalue
//     and answers {"count":N} (503 when the store is unavailable); anything
//     else -> 404. Every answer carries an x-path header with the path.
//   HealthRequest -> {healthy: true, message: "ok"}.
//   RoundTrip: decodes the payload as an HttpRequest and answers it encoded
//     again (the SDK's codec tests run through this).
//   Ints: decodes an array of integers and answers it encoded again (the
//     integer widths of the codec, both signs).
import {
  register, hostCall, respond, fail, decodeError, HttpRequest, HttpResponse,
  HealthResponse, KvAdd, KvAddResponse, Reader, Writer,
} from "../../../sdk/assemblyscript/assembly";
export { __guest_call } from "../../../sdk/assemblyscript/assembly";

function handleRequest(payload: Uint8Array): i32 {
  const req = HttpRequest.decode(payload);
  if (req == null) return fail(decodeError());
  let resp: HttpResponse;
  if (req.method != "GET") {
    resp = HttpResponse.text(405, "as-hello answers GET\n");
    resp.header.set("allow", "GET");
  } else if (req.path == "/") {
    resp = HttpResponse.text(200, "Hello from as-hello\n");
  } else if (req.path == "/count") {
    const r = hostCall("", "wasmcloud:keyvalue", "Add", new KvAdd("as-hello:count", 1).encode());
    if (!r.ok) {
      resp = HttpResponse.text(503, "store unavailable: " + r.error + "\n");
    } else {
      const added = KvAddResponse.decode(r.data);
      if (added == null) return fail(decodeError());
      resp = HttpResponse.text(200, '{"count":' + added.value.toString() + "}");
      resp.header.set("content-type", "application/json");
    }
  } else {
    resp = HttpResponse.text(404, "no such page: " + req.path + "\n");
  }
  resp.header.set("x-path", req.path);
  return respond(resp.encode());
}

function health(payload: Uint8Array): i32 {
  return respond(new HealthResponse(true, "ok").encode());
}

function roundTrip(payload: Uint8Array): i32 {
  const req = HttpRequest.decode(payload);
  if (req == null) return fail(decodeError());
  return respond(req.encode());
}

function ints(payload: Uint8Array): i32 {
  const r = new Reader(payload);
  const n = r.array();
  const w = new Writer();
  if (n >= 0) w.array(<u32>n);
  for (let i: i64 = 0; i < n && r.ok; i++) w.int(r.int());
  if (r.ok && r.remaining != 0) r.fail("trailing bytes");
  if (!r.ok) return fail("Ints: " + r.message);
  return respond(w.bytes());
}

register("HandleRequest", handleRequest);
register("HealthRequest", health);
register("RoundTrip", roundTrip);
register("Ints", ints);
