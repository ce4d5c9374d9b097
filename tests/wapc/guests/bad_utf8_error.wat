;; Fails with an error text that is not valid UTF-8 (ff fe "hello" c0): the
;; host must replace the bad bytes, not pass them on or crash.
(module
  (import "wapc" "__guest_error" (func $err (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\ff\fehello\c0")
  (func (export "__guest_call") (param i32 i32) (result i32)
    (call $err (i32.const 0) (i32.const 8))
    (i32.const 0)))
