;; Hostile: calls wasmcloud:keyvalue, which its claims do not list, then
;; passes the host's error text back as its own error (returns 0).
(module
  (import "wapc" "__host_call"
    (func $hc (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_error_len" (func $elen (result i32)))
  (import "wapc" "__host_error" (func $err (param i32)))
  (import "wapc" "__guest_error" (func $gerr (param i32 i32)))
  (import "wapc" "__guest_response" (func $resp (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "wasmcloud:keyvalue")
  (data (i32.const 64) "Get")
  (data (i32.const 128) "\81\a3key\a1k")
  (func (export "__guest_call") (param i32 i32) (result i32)
    (if (call $hc (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 18)
                  (i32.const 64) (i32.const 3) (i32.const 128) (i32.const 7))
      (then (call $resp (i32.const 0) (i32.const 0)) (return (i32.const 1))))
    (call $err (i32.const 1024))
    (call $gerr (i32.const 1024) (call $elen))
    (i32.const 0)))
