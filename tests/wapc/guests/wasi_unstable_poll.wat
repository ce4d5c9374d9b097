;; Sleeps 20 ms with wasi_unstable's poll_oneoff, whose clock subscription
;; layout differs from preview 1 (56 bytes: userdata, tag, identifier,
;; clock id at 24, timeout at 32, precision at 40, flags at 48). Answers four
;; u32: errno, number of events, the event's userdata, the event's type.
(module
  (import "wasi_unstable" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wapc" "__guest_response" (func $resp (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "__guest_call") (param i32 i32) (result i32)
    (i64.store (i32.const 0) (i64.const 77))         ;; userdata
    (i32.store8 (i32.const 8) (i32.const 0))          ;; tag: clock
    (i64.store (i32.const 16) (i64.const 5))          ;; identifier
    (i32.store (i32.const 24) (i32.const 1))          ;; monotonic
    (i64.store (i32.const 32) (i64.const 20000000))   ;; 20 ms, relative
    (i64.store (i32.const 40) (i64.const 0))
    (i32.store16 (i32.const 48) (i32.const 0))
    (i32.store (i32.const 300) (call $poll (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 200)))
    (i32.store (i32.const 304) (i32.load (i32.const 200)))
    (i32.store (i32.const 308) (i32.load (i32.const 100)))
    (i32.store (i32.const 312) (i32.load8_u (i32.const 110)))
    (call $resp (i32.const 300) (i32.const 16))
    (i32.const 1)))
