// contracts.ts - MessagePack shapes of the capability contracts
// (docs/contracts.md) for AssemblyScript actors, the same set as the C SDK's
// wapc_contracts.h: httpserver requests and responses, keyvalue requests and
// responses, logging, numbergen and health. Every struct travels as a map
// keyed by field-name strings. Decoders are strict (wrong type, missing key,
// duplicate key, truncated input -> null, with the reason in
// decodeError()) and ignore unknown keys. Encoders write every key.
import { Reader, Writer } from "./msgpack";

let lastError: string = "";

// Why the last decode returned null ("" after a success).
export function decodeError(): string {
  return lastError;
}

// ---- decoding helpers ------------------------------------------------------------

// Marks field `bit` seen; a duplicate key is an error.
function see(r: Reader, seen: u32, bit: u32, key: string): u32 {
  if (r.ok && (seen & bit) != 0) {
    r.key = key;
    r.fail("duplicate key");
  }
  if (!r.ok && r.key == null) r.key = key;
  return seen | bit;
}

// Fails when a required field (bit i of `required`, named names[i]) is missing.
function requireAll(r: Reader, seen: u32, required: u32, names: string[]): void {
  if (!r.ok) return;
  for (let i = 0; i < names.length; i++) {
    const bit: u32 = 1 << i;
    if ((required & bit) != 0 && (seen & bit) == 0) {
      r.key = names[i];
      r.fail("missing key");
      return;
    }
  }
}

function finish<T>(r: Reader, v: T, what: string): T | null {
  if (r.ok) {
    lastError = "";
    return v;
  }
  lastError = what + ": " + r.message;
  return null;
}

function readStringMap(r: Reader): Map<string, string> {
  const m = new Map<string, string>();
  const n = r.map();
  for (let i: i64 = 0; i < n && r.ok; i++) {
    const k = r.str();
    const v = r.str();
    if (r.ok) m.set(k, v);
  }
  return m;
}

function writeStringMap(w: Writer, m: Map<string, string>): void {
  const keys = m.keys();
  w.map(<u32>keys.length);
  for (let i = 0; i < keys.length; i++) {
    w.str(keys[i]);
    w.str(m.get(keys[i]));
  }
}

function readStringArray(r: Reader): string[] {
  const out = new Array<string>();
  const n = r.array();
  for (let i: i64 = 0; i < n && r.ok; i++) out.push(r.str());
  return out;
}

// ---- wasmcloud:httpserver ----------------------------------------------------------

export class HttpRequest {
  method: string = "";
  path: string = "";
  queryString: string = "";
  header: Map<string, string> = new Map<string, string>();
  body: Uint8Array = new Uint8Array(0);

  static decode(data: Uint8Array): HttpRequest | null {
    const r = new Reader(data);
    const v = new HttpRequest();
    const n = r.map();
    let seen: u32 = 0;
    for (let i: i64 = 0; i < n && r.ok; i++) {
      const k = r.str();
      if (!r.ok) break;
      if (k == "method") { v.method = r.str(); seen = see(r, seen, 1, k); }
      else if (k == "path") { v.path = r.str(); seen = see(r, seen, 2, k); }
      else if (k == "queryString") { v.queryString = r.str(); seen = see(r, seen, 4, k); }
      else if (k == "header") { v.header = readStringMap(r); seen = see(r, seen, 8, k); }
      else if (k == "body") { v.body = r.bin(); seen = see(r, seen, 16, k); }
      else r.skip();
    }
    requireAll(r, seen, 31, ["method", "path", "queryString", "header", "body"]);
    return finish<HttpRequest>(r, v, "HttpRequest");
  }

  encode(): Uint8Array {
    const w = new Writer();
    w.map(5);
    w.str("method").str(this.method);
    w.str("path").str(this.path);
    w.str("queryString").str(this.queryString);
    w.str("header");
    writeStringMap(w, this.header);
    w.str("body").bin(this.body);
    return w.bytes();
  }
}

export class HttpResponse {
  statusCode: u32 = 200;
  status: string = "OK";
  header: Map<string, string> = new Map<string, string>();
  body: Uint8Array = new Uint8Array(0);

  // A text/plain response.
  static text(code: u32, text: string): HttpResponse {
    const r = new HttpResponse();
    r.statusCode = code;
    r.status = code == 200 ? "OK" : code == 404 ? "Not Found" : code == 503 ? "Service Unavailable" : "";
    r.header.set("content-type", "text/plain");
    r.body = Uint8Array.wrap(String.UTF8.encode(text));
    return r;
  }

  static decode(data: Uint8Array): HttpResponse | null {
    const r = new Reader(data);
    const v = new HttpResponse();
    const n = r.map();
    let seen: u32 = 0;
    for (let i: i64 = 0; i < n && r.ok; i++) {
      const k = r.str();
      if (!r.ok) break;
      if (k == "statusCode") { v.statusCode = r.u32(); seen = see(r, seen, 1, k); }
      else if (k == "status") { v.status = r.str(); seen = see(r, seen, 2, k); }
      else if (k == "header") { v.header = readStringMap(r); seen = see(r, seen, 4, k); }
      else if (k == "body") { v.body = r.bin(); seen = see(r, seen, 8, k); }
      else r.skip();
    }
    requireAll(r, seen, 1 | 8, ["statusCode", "status", "header", "body"]);
    return finish<HttpResponse>(r, v, "HttpResponse");
  }

  encode(): Uint8Array {
    const w = new Writer();
    w.map(4);
    w.str("statusCode").uint(this.statusCode);
    w.str("status").str(this.status);
    w.str("header");
    writeStringMap(w, this.header);
    w.str("body").bin(this.body);
    return w.bytes();
  }
}

// ---- wasmcloud:keyvalue -------------------------------------------------------------

// {key}: Get, Del, Clear, SetQuery, KeyExists.
export class KvKey {
  constructor(public key: string) {}
  encode(): Uint8Array {
    return new Writer().map(1).str("key").str(this.key).bytes();
  }
}

// Add: {key, value: i32}.
export class KvAdd {
  constructor(public key: string, public value: i32) {}
  encode(): Uint8Array {
    return new Writer().map(2).str("key").str(this.key).str("value").int(this.value).bytes();
  }
}

// Set: {key, value, expires} (seconds, 0 = never).
export class KvSet {
  constructor(public key: string, public value: string, public expires: i32 = 0) {}
  encode(): Uint8Array {
    return new Writer()
      .map(3).str("key").str(this.key).str("value").str(this.value)
      .str("expires").int(this.expires).bytes();
  }
}

// {key, value}: Push, ListItemDelete, SetAdd, SetRemove.
export class KvKeyValue {
  constructor(public key: string, public value: string) {}
  encode(): Uint8Array {
    return new Writer().map(2).str("key").str(this.key).str("value").str(this.value).bytes();
  }
}

// Range: {key, start, stop} (inclusive, negative from the end).
export class KvRange {
  constructor(public key: string, public start: i32, public stop: i32) {}
  encode(): Uint8Array {
    return new Writer()
      .map(3).str("key").str(this.key).str("start").int(this.start)
      .str("stop").int(this.stop).bytes();
  }
}

// {keys: [str]}: SetUnion, SetIntersection.
export class KvKeys {
  constructor(public keys: string[]) {}
  encode(): Uint8Array {
    const w = new Writer().map(1).str("keys").array(<u32>this.keys.length);
    for (let i = 0; i < this.keys.length; i++) w.str(this.keys[i]);
    return w.bytes();
  }
}

// Add's response {value: i32}.
export class KvAddResponse {
  value: i32 = 0;
  static decode(data: Uint8Array): KvAddResponse | null {
    const r = new Reader(data);
    const v = new KvAddResponse();
    const n = r.map();
    let seen: u32 = 0;
    for (let i: i64 = 0; i < n && r.ok; i++) {
      const k = r.str();
      if (!r.ok) break;
      if (k == "value") { v.value = r.i32(); seen = see(r, seen, 1, k); }
      else r.skip();
    }
    requireAll(r, seen, 1, ["value"]);
    return finish<KvAddResponse>(r, v, "keyvalue Add response");
  }
}

// Get and KeyExists: {value: str, exists: bool}.
export class KvGetResponse {
  value: string = "";
  exists: bool = false;
  static decode(data: Uint8Array): KvGetResponse | null {
    const r = new Reader(data);
    const v = new KvGetResponse();
    const n = r.map();
    let seen: u32 = 0;
    for (let i: i64 = 0; i < n && r.ok; i++) {
      const k = r.str();
      if (!r.ok) break;
      if (k == "value") { v.value = r.str(); seen = see(r, seen, 1, k); }
      else if (k == "exists") { v.exists = r.bool(); seen = see(r, seen, 2, k); }
      else r.skip();
    }
    requireAll(r, seen, 3, ["value", "exists"]);
    return finish<KvGetResponse>(r, v, "keyvalue Get response");
  }
}

// {value: str} (Set) or {key: str} (Del, Clear): the one string field named `field`.
export class KvStrResponse {
  value: string = "";
  static decode(data: Uint8Array, field: string): KvStrResponse | null {
    const r = new Reader(data);
    const v = new KvStrResponse();
    const n = r.map();
    let seen: u32 = 0;
    for (let i: i64 = 0; i < n && r.ok; i++) {
      const k = r.str();
      if (!r.ok) break;
      if (k == field) { v.value = r.str(); seen = see(r, seen, 1, k); }
      else r.skip();
    }
    requireAll(r, seen, 1, [field]);
    return finish<KvStrResponse>(r, v, "keyvalue response");
  }
}

// Push, ListItemDelete, SetAdd, SetRemove: {newCount} or {new_count}.
export class KvCountResponse {
  count: i32 = 0;
  static decode(data: Uint8Array): KvCountResponse | null {
    const r = new Reader(data);
    const v = new KvCountResponse();
    const n = r.map();
    let seen: u32 = 0;
    for (let i: i64 = 0; i < n && r.ok; i++) {
      const k = r.str();
      if (!r.ok) break;
      if (k == "newCount" || k == "new_count") { v.count = r.i32(); seen |= 1; }
      else r.skip();
    }
    requireAll(r, seen, 1, ["newCount"]);
    return finish<KvCountResponse>(r, v, "keyvalue count response");
  }
}

// Range, SetUnion, SetIntersection, SetQuery: {values: [str]}.
export class KvValuesResponse {
  values: string[] = [];
  static decode(data: Uint8Array): KvValuesResponse | null {
    const r = new Reader(data);
    const v = new KvValuesResponse();
    const n = r.map();
    let seen: u32 = 0;
    for (let i: i64 = 0; i < n && r.ok; i++) {
      const k = r.str();
      if (!r.ok) break;
      if (k == "values") { v.values = readStringArray(r); seen = see(r, seen, 1, k); }
      else r.skip();
    }
    requireAll(r, seen, 1, ["values"]);
    return finish<KvValuesResponse>(r, v, "keyvalue values response");
  }
}

// ---- wasmcloud:logging, numbergen, health ------------------------------------------------

// WriteLog: {target, level, text}; level error, warn, info, debug or trace.
export class LogRequest {
  constructor(public target: string, public level: string, public text: string) {}
  encode(): Uint8Array {
    return new Writer()
      .map(3).str("target").str(this.target).str("level").str(this.level)
      .str("text").str(this.text).bytes();
  }
}

// RequestGuid / RequestRandom / RequestSequence.
export class NumbergenRequest {
  constructor(
    public guid: bool = false,
    public sequence: bool = false,
    public random: bool = false,
    public min: u32 = 0,
    public max: u32 = 0,
  ) {}
  encode(): Uint8Array {
    return new Writer()
      .map(5).str("guid").bool(this.guid).str("sequence").bool(this.sequence)
      .str("random").bool(this.random).str("min").uint(this.min).str("max").uint(this.max)
      .bytes();
  }
}

export class NumbergenResponse {
  guid: string | null = null;
  sequenceNumber: u64 = 0;
  randomNumber: u32 = 0;
  static decode(data: Uint8Array): NumbergenResponse | null {
    const r = new Reader(data);
    const v = new NumbergenResponse();
    const n = r.map();
    let seen: u32 = 0;
    for (let i: i64 = 0; i < n && r.ok; i++) {
      const k = r.str();
      if (!r.ok) break;
      if (k == "guid") {
        if (r.peekNil()) { r.nil(); v.guid = null; }
        else v.guid = r.str();
        seen = see(r, seen, 1, k);
      } else if (k == "sequenceNumber") { v.sequenceNumber = r.uint(); seen = see(r, seen, 2, k); }
      else if (k == "random_number") { v.randomNumber = r.u32(); seen = see(r, seen, 4, k); }
      else r.skip();
    }
    requireAll(r, seen, 7, ["guid", "sequenceNumber", "random_number"]);
    return finish<NumbergenResponse>(r, v, "numbergen response");
  }
}

// HealthRequest {placeholder: bool}.
export class HealthRequest {
  placeholder: bool = false;
  static decode(data: Uint8Array): HealthRequest | null {
    const r = new Reader(data);
    const v = new HealthRequest();
    const n = r.map();
    let seen: u32 = 0;
    for (let i: i64 = 0; i < n && r.ok; i++) {
      const k = r.str();
      if (!r.ok) break;
      if (k == "placeholder") { v.placeholder = r.bool(); seen = see(r, seen, 1, k); }
      else r.skip();
    }
    return finish<HealthRequest>(r, v, "HealthRequest");
  }
}

export class HealthResponse {
  constructor(public healthy: bool, public message: string) {}
  encode(): Uint8Array {
    return new Writer().map(2).str("healthy").bool(this.healthy).str("message").str(this.message).bytes();
  }
}
