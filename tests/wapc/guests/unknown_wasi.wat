;; Imports WASI functions the host does not implement (path_open from
;; preview 1, sock_shutdown from wasi_unstable): they must link and return
;; ENOSYS (52). Answers both results as two little-endian u32.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_unstable" "sock_shutdown" (func $shut (param i32 i32) (result i32)))
  (import "wapc" "__guest_response" (func $resp (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "__guest_call") (param i32 i32) (result i32)
    (i32.store (i32.const 0)
      (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                  (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 0)))
    (i32.store (i32.const 4) (call $shut (i32.const 1) (i32.const 0)))
    (call $resp (i32.const 0) (i32.const 8))
    (i32.const 1)))
