;; A keyvalue proxy: the operation name is the keyvalue operation, the
;; payload its msgpack request; answers the provider's response, or fails
;; with the host's error text. Used by the disk-full test.
(module
  (import "wapc" "__guest_request" (func $req (param i32 i32)))
  (import "wapc" "__guest_response" (func $resp (param i32 i32)))
  (import "wapc" "__guest_error" (func $gerr (param i32 i32)))
  (import "wapc" "__host_call"
    (func $hc (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_response_len" (func $rlen (result i32)))
  (import "wapc" "__host_response" (func $hresp (param i32)))
  (import "wapc" "__host_error_len" (func $elen (result i32)))
  (import "wapc" "__host_error" (func $herr (param i32)))
  (memory (export "memory") 8)
  (data (i32.const 16) "wasmcloud:keyvalue")
  ;; op at 64 (< 64 bytes), payload at 128 (< 256 KiB), answers at 262272
  (func (export "__guest_call") (param $op i32) (param $n i32) (result i32)
    (call $req (i32.const 64) (i32.const 128))
    (if (call $hc (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 18)
                  (i32.const 64) (local.get $op) (i32.const 128) (local.get $n))
      (then
        (call $hresp (i32.const 262272))
        (call $resp (i32.const 262272) (call $rlen))
        (return (i32.const 1))))
    (call $herr (i32.const 262272))
    (call $gerr (i32.const 262272) (call $elen))
    (i32.const 0)))
