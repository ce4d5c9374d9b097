// msgpack.ts - a small, strict, bounds-checked MessagePack writer and reader
// for AssemblyScript actors (the same rules as the C SDK's wapc_msgpack.h).
//
// Writer: appends to a growing buffer; integers use the smallest encoding.
// Reader: every read checks the type byte and the bytes left; the first
// failure sets `err` (and `key`, when a decoder names the map key concerned)
// and every later read fails too, so a decoder may check `ok` once at the
// end. AssemblyScript has no exceptions: hostile input never aborts, it only
// sets `err`. Nesting is limited to MAX_DEPTH when skipping unknown values.

export const MAX_DEPTH: i32 = 32;

export class Writer {
  private buf: Uint8Array = new Uint8Array(64);
  private len: i32 = 0;

  private room(n: i32): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const grown = new Uint8Array(cap);
    memory.copy(grown.dataStart, this.buf.dataStart, <usize>this.len);
    this.buf = grown;
  }

  private u8(v: u32): void {
    this.room(1);
    unchecked((this.buf[this.len++] = <u8>v));
  }

  private be(v: u64, bytes: i32): void {
    this.room(bytes);
    for (let i = bytes - 1; i >= 0; i--) unchecked((this.buf[this.len++] = <u8>(v >> (<u64>i * 8))));
  }

  private raw(p: usize, n: i32): void {
    this.room(n);
    memory.copy(this.buf.dataStart + <usize>this.len, p, <usize>n);
    this.len += n;
  }

  nil(): Writer {
    this.u8(0xc0);
    return this;
  }

  bool(v: bool): Writer {
    this.u8(v ? 0xc3 : 0xc2);
    return this;
  }

  uint(v: u64): Writer {
    if (v < 0x80) this.u8(<u32>v);
    else if (v <= 0xff) { this.u8(0xcc); this.be(v, 1); }
    else if (v <= 0xffff) { this.u8(0xcd); this.be(v, 2); }
    else if (v <= 0xffffffff) { this.u8(0xce); this.be(v, 4); }
    else { this.u8(0xcf); this.be(v, 8); }
    return this;
  }

  int(v: i64): Writer {
    if (v >= 0) return this.uint(<u64>v);
    if (v >= -32) this.u8(<u32>(<i32>v & 0xff));
    else if (v >= -128) { this.u8(0xd0); this.be(<u64>v, 1); }
    else if (v >= -32768) { this.u8(0xd1); this.be(<u64>v, 2); }
    else if (v >= -2147483648) { this.u8(0xd2); this.be(<u64>v, 4); }
    else { this.u8(0xd3); this.be(<u64>v, 8); }
    return this;
  }

  private strHeader(n: i32): void {
    if (n < 32) this.u8(0xa0 | <u32>n);
    else if (n <= 0xff) { this.u8(0xd9); this.be(<u64>n, 1); }
    else if (n <= 0xffff) { this.u8(0xda); this.be(<u64>n, 2); }
    else { this.u8(0xdb); this.be(<u64>n, 4); }
  }

  // A UTF-8 string.
  str(s: string): Writer {
    const b = String.UTF8.encode(s);
    this.strHeader(b.byteLength);
    this.raw(changetype<usize>(b), b.byteLength);
    return this;
  }

  // Bytes written as a msgpack str (for text already in UTF-8).
  strBytes(b: Uint8Array): Writer {
    this.strHeader(b.length);
    this.raw(b.dataStart, b.length);
    return this;
  }

  bin(b: Uint8Array): Writer {
    const n = b.length;
    if (n <= 0xff) { this.u8(0xc4); this.be(<u64>n, 1); }
    else if (n <= 0xffff) { this.u8(0xc5); this.be(<u64>n, 2); }
    else { this.u8(0xc6); this.be(<u64>n, 4); }
    this.raw(b.dataStart, n);
    return this;
  }

  array(n: u32): Writer {
    if (n < 16) this.u8(0x90 | n);
    else if (n <= 0xffff) { this.u8(0xdc); this.be(<u64>n, 2); }
    else { this.u8(0xdd); this.be(<u64>n, 4); }
    return this;
  }

  map(n: u32): Writer {
    if (n < 16) this.u8(0x80 | n);
    else if (n <= 0xffff) { this.u8(0xde); this.be(<u64>n, 2); }
    else { this.u8(0xdf); this.be(<u64>n, 4); }
    return this;
  }

  // The bytes written so far (a copy).
  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  get length(): i32 {
    return this.len;
  }
}

export class Reader {
  private data: Uint8Array;
  pos: i32 = 0;
  err: string | null = null;
  key: string | null = null;

  constructor(data: Uint8Array) {
    this.data = data;
  }

  get ok(): bool {
    return this.err == null;
  }

  // Records the first failure; returns false.
  fail(msg: string): bool {
    if (this.err == null) this.err = msg;
    return false;
  }

  // The error with the map key concerned, for messages.
  get message(): string {
    const e = this.err;
    if (e == null) return "";
    const k = this.key;
    return k != null ? e + " (key '" + k + "')" : e;
  }

  get remaining(): i32 {
    return this.data.length - this.pos;
  }

  private peek(): i32 {
    if (this.err != null) return -1;
    if (this.pos >= this.data.length) {
      this.fail("truncated input");
      return -1;
    }
    return unchecked(this.data[this.pos]);
  }

  private need(n: i64): bool {
    if (this.err != null) return false;
    if (n < 0 || n > <i64>(this.data.length - this.pos)) return this.fail("truncated input");
    return true;
  }

  private be(bytes: i32): u64 {
    if (!this.need(bytes)) return 0;
    let v: u64 = 0;
    for (let i = 0; i < bytes; i++) v = (v << 8) | <u64>unchecked(this.data[this.pos++]);
    return v;
  }

  peekNil(): bool {
    return this.err == null && this.pos < this.data.length && unchecked(this.data[this.pos]) == 0xc0;
  }

  nil(): bool {
    const t = this.peek();
    if (t < 0) return false;
    if (t != 0xc0) return this.fail("expected nil");
    this.pos++;
    return true;
  }

  bool(): bool {
    const t = this.peek();
    if (t < 0) return false;
    if (t != 0xc2 && t != 0xc3) return this.fail("expected a boolean");
    this.pos++;
    return t == 0xc3;
  }

  // Reads any integer as i64; sets `negative` state through the return of
  // the two helpers below.
  private anyInt(): i64 {
    const t = this.peek();
    if (t < 0) return 0;
    this.pos++;
    if (t < 0x80) return <i64>t;
    if (t >= 0xe0) return <i64>(<i8>t);
    switch (t) {
      case 0xcc: return <i64>this.be(1);
      case 0xcd: return <i64>this.be(2);
      case 0xce: return <i64>this.be(4);
      case 0xcf: {
        const v = this.be(8);
        if (v > <u64>i64.MAX_VALUE) {
          this.fail("integer too large");
          return 0;
        }
        return <i64>v;
      }
      case 0xd0: return <i64>(<i8>this.be(1));
      case 0xd1: return <i64>(<i16>this.be(2));
      case 0xd2: return <i64>(<i32>this.be(4));
      case 0xd3: return <i64>this.be(8);
    }
    this.pos--;
    this.fail("expected an integer");
    return 0;
  }

  // A non-negative integer of any width.
  uint(): u64 {
    const t = this.peek();
    if (t == 0xcf) {
      this.pos++;
      return this.be(8);
    }
    const v = this.anyInt();
    if (v < 0) {
      this.fail("expected a non-negative integer");
      return 0;
    }
    return <u64>v;
  }

  int(): i64 {
    return this.anyInt();
  }

  i32(): i32 {
    const v = this.anyInt();
    if (v < <i64>i32.MIN_VALUE || v > <i64>i32.MAX_VALUE) {
      this.fail("integer does not fit in 32 bits");
      return 0;
    }
    return <i32>v;
  }

  u32(): u32 {
    const v = this.uint();
    if (v > <u64>u32.MAX_VALUE) {
      this.fail("integer does not fit in 32 bits");
      return 0;
    }
    return <u32>v;
  }

  private strLen(): i64 {
    const t = this.peek();
    if (t < 0) return -1;
    this.pos++;
    if ((t & 0xe0) == 0xa0) return <i64>(t & 0x1f);
    if (t == 0xd9) return <i64>this.be(1);
    if (t == 0xda) return <i64>this.be(2);
    if (t == 0xdb) return <i64>this.be(4);
    this.pos--;
    this.fail("expected a string");
    return -1;
  }

  // A string's raw bytes (a copy).
  strBytes(): Uint8Array {
    const n = this.strLen();
    if (n < 0 || !this.need(n)) return new Uint8Array(0);
    const out = this.data.slice(this.pos, this.pos + <i32>n);
    this.pos += <i32>n;
    return out;
  }

  str(): string {
    const n = this.strLen();
    if (n < 0 || !this.need(n)) return "";
    const s = String.UTF8.decodeUnsafe(this.data.dataStart + <usize>this.pos, <usize>n);
    this.pos += <i32>n;
    return s;
  }

  bin(): Uint8Array {
    const t = this.peek();
    if (t < 0) return new Uint8Array(0);
    let n: i64 = 0;
    this.pos++;
    if (t == 0xc4) n = <i64>this.be(1);
    else if (t == 0xc5) n = <i64>this.be(2);
    else if (t == 0xc6) n = <i64>this.be(4);
    else {
      this.pos--;
      this.fail("expected bytes (bin)");
      return new Uint8Array(0);
    }
    if (!this.need(n)) return new Uint8Array(0);
    const out = this.data.slice(this.pos, this.pos + <i32>n);
    this.pos += <i32>n;
    return out;
  }

  // The element count of an array, checked against the bytes left (each
  // element takes at least one byte). -1 on failure.
  array(): i64 {
    const t = this.peek();
    if (t < 0) return -1;
    this.pos++;
    let n: i64 = -1;
    if ((t & 0xf0) == 0x90) n = <i64>(t & 0x0f);
    else if (t == 0xdc) n = <i64>this.be(2);
    else if (t == 0xdd) n = <i64>this.be(4);
    else {
      this.pos--;
      this.fail("expected an array");
      return -1;
    }
    if (this.err != null) return -1;
    if (n > <i64>this.remaining) {
      this.fail("truncated input");
      return -1;
    }
    return n;
  }

  // The pair count of a map, checked against the bytes left. -1 on failure.
  map(): i64 {
    const t = this.peek();
    if (t < 0) return -1;
    this.pos++;
    let n: i64 = -1;
    if ((t & 0xf0) == 0x80) n = <i64>(t & 0x0f);
    else if (t == 0xde) n = <i64>this.be(2);
    else if (t == 0xdf) n = <i64>this.be(4);
    else {
      this.pos--;
      this.fail("expected a map");
      return -1;
    }
    if (this.err != null) return -1;
    if (n * 2 > <i64>this.remaining) {
      this.fail("truncated input");
      return -1;
    }
    return n;
  }

  // Skips one value of any type.
  skip(): bool {
    return this.skipDepth(0);
  }

  private skipDepth(depth: i32): bool {
    if (depth > MAX_DEPTH) return this.fail("nesting too deep");
    const t = this.peek();
    if (t < 0) return false;
    if (t < 0x80 || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
      this.pos++;
      return true;
    }
    if ((t & 0xe0) == 0xa0 || t == 0xd9 || t == 0xda || t == 0xdb) {
      this.strBytes();
      return this.ok;
    }
    if (t == 0xc4 || t == 0xc5 || t == 0xc6) {
      this.bin();
      return this.ok;
    }
    if ((t & 0xf0) == 0x90 || t == 0xdc || t == 0xdd) {
      const n = this.array();
      for (let i: i64 = 0; i < n; i++) if (!this.skipDepth(depth + 1)) return false;
      return this.ok;
    }
    if ((t & 0xf0) == 0x80 || t == 0xde || t == 0xdf) {
      const n = this.map();
      for (let i: i64 = 0; i < n * 2; i++) if (!this.skipDepth(depth + 1)) return false;
      return this.ok;
    }
    let size: i32 = -1;
    switch (t) {
      case 0xcc: case 0xd0: size = 1; break;
      case 0xcd: case 0xd1: size = 2; break;
      case 0xca: case 0xce: case 0xd2: size = 4; break;
      case 0xcb: case 0xcf: case 0xd3: size = 8; break;
      case 0xd4: size = 2; break; // fixext 1: type + 1
      case 0xd5: size = 3; break;
      case 0xd6: size = 5; break;
      case 0xd7: size = 9; break;
      case 0xd8: size = 17; break;
    }
    this.pos++;
    if (size >= 0) {
      if (!this.need(size)) return false;
      this.pos += size;
      return true;
    }
    if (t == 0xc7 || t == 0xc8 || t == 0xc9) {
      const n = <i64>this.be(t == 0xc7 ? 1 : t == 0xc8 ? 2 : 4) + 1;
      if (!this.need(n)) return false;
      this.pos += <i32>n;
      return true;
    }
    this.pos--;
    return this.fail("unknown type byte");
  }
}
