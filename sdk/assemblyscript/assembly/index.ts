// index.ts - Corral's AssemblyScript guest SDK for waPC actors
// (docs/wapc.md), the counterpart of the C SDK (examples/sdk/wapc_guest.h):
//   - the `__guest_call` export: the actor's entry file re-exports it with
//       export { __guest_call } from "<sdk>";
//     it reads the operation and payload and dispatches to the handler
//     registered for the operation with register() (at the top level of the
//     entry file: that code runs once, in the module's start function);
//   - hostCall() (guest -> host), log() (__console_log), respond() / fail();
//   - wapcAbort, the module's `abort`: build with
//       asc ... --use abort=<path to this folder>/index/wapcAbort
//     so the module imports nothing but waPC (a host gives no env.abort).
//     `corral build` does this. It logs the message and traps.
//   - MessagePack (msgpack.ts) and the capability contracts (contracts.ts).
// Avoid Math.random (it imports env.seed): use the numbergen capability.
export * from "./msgpack";
export * from "./contracts";

@external("wapc", "__guest_request")
declare function __guest_request(opPtr: usize, payloadPtr: usize): void;
@external("wapc", "__guest_response")
declare function __guest_response(ptr: usize, len: usize): void;
@external("wapc", "__guest_error")
declare function __guest_error(ptr: usize, len: usize): void;
@external("wapc", "__host_call")
declare function __host_call(
  bdPtr: usize, bdLen: usize, nsPtr: usize, nsLen: usize,
  opPtr: usize, opLen: usize, ptr: usize, len: usize,
): bool;
@external("wapc", "__host_response_len")
declare function __host_response_len(): usize;
@external("wapc", "__host_response")
declare function __host_response(ptr: usize): void;
@external("wapc", "__host_error_len")
declare function __host_error_len(): usize;
@external("wapc", "__host_error")
declare function __host_error(ptr: usize): void;
@external("wapc", "__console_log")
declare function __console_log(ptr: usize, len: usize): void;

// A handler gets the call's payload and returns what __guest_call returns:
// respond(...) (1) or fail(...) (0).
export type Handler = (payload: Uint8Array) => i32;

const ops = new Array<string>();
const handlers = new Array<Handler>();

// Registers (or replaces) the handler of an operation.
export function register(op: string, fn: Handler): void {
  for (let i = 0; i < ops.length; i++) {
    if (ops[i] == op) {
      handlers[i] = fn;
      return;
    }
  }
  ops.push(op);
  handlers.push(fn);
}

// Stores the call's response; returns 1 (success) for the handler to return.
export function respond(data: Uint8Array): i32 {
  __guest_response(data.dataStart, <usize>data.length);
  return 1;
}

// Stores the call's error text; returns 0 (failure) for the handler to return.
export function fail(msg: string): i32 {
  const b = String.UTF8.encode(msg);
  __guest_error(changetype<usize>(b), <usize>b.byteLength);
  return 0;
}

// Logs a line through the host (tagged with the actor).
export function log(msg: string): void {
  const b = String.UTF8.encode(msg);
  __console_log(changetype<usize>(b), <usize>b.byteLength);
}

// What hostCall returns: on success `data` is the host's response; on
// failure `error` is its error text.
export class HostResult {
  constructor(public ok: bool, public data: Uint8Array) {}
  get error(): string {
    return this.ok ? "" : String.UTF8.decodeUnsafe(this.data.dataStart, <usize>this.data.length);
  }
}

// Calls the host: binding (link name, "" = default), namespace (a contract
// id such as wasmcloud:keyvalue, or an actor's key or call alias),
// operation and payload.
export function hostCall(binding: string, ns: string, op: string, payload: Uint8Array): HostResult {
  const bd = String.UTF8.encode(binding);
  const nsb = String.UTF8.encode(ns);
  const opb = String.UTF8.encode(op);
  const ok = __host_call(
    changetype<usize>(bd), <usize>bd.byteLength,
    changetype<usize>(nsb), <usize>nsb.byteLength,
    changetype<usize>(opb), <usize>opb.byteLength,
    payload.dataStart, <usize>payload.length,
  );
  const n = ok ? __host_response_len() : __host_error_len();
  const out = new Uint8Array(<i32>n);
  if (ok) __host_response(out.dataStart);
  else __host_error(out.dataStart);
  return new HostResult(ok, out);
}

// The waPC entry point: the host calls it with the lengths of the pending
// operation name and payload.
export function __guest_call(opLen: usize, payloadLen: usize): bool {
  const op = new Uint8Array(<i32>opLen);
  const payload = new Uint8Array(<i32>payloadLen);
  __guest_request(op.dataStart, payload.dataStart);
  const name = String.UTF8.decodeUnsafe(op.dataStart, opLen);
  for (let i = 0; i < ops.length; i++) {
    if (ops[i] == name) {
      const fn = handlers[i];
      return fn(payload) != 0;
    }
  }
  return fail("unknown operation: " + name) != 0;
}

// The module's abort (see the top of this file): logs, stores the message as
// the call's error, and traps.
export function wapcAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let text = "abort: " + (message != null ? message : "(no message)");
  if (fileName != null) text += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  log(text);
  fail(text);
  unreachable();
}
