;; A wasmCloud-style actor that imports from `wasmbus` instead of `wapc`.
;; Empty payload: calls host (test, echo, "abc") and answers its response;
;; else echoes the payload.
(module
  (import "wasmbus" "__guest_request" (func $req (param i32 i32)))
  (import "wasmbus" "__guest_response" (func $resp (param i32 i32)))
  (import "wasmbus" "__host_call" (func $hc (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasmbus" "__host_response_len" (func $hlen (result i32)))
  (import "wasmbus" "__host_response" (func $hresp (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 200) "test")
  (data (i32.const 210) "echo")
  (data (i32.const 220) "abc")
  (func (export "__guest_call") (param $oplen i32) (param $plen i32) (result i32)
    (call $req (i32.const 0) (i32.const 1024))
    (if (i32.eqz (local.get $plen))
      (then
        (if (i32.eqz (call $hc (i32.const 0) (i32.const 0) (i32.const 200) (i32.const 4)
                               (i32.const 210) (i32.const 4) (i32.const 220) (i32.const 3)))
          (then (return (i32.const 0))))
        (call $hresp (i32.const 300))
        (call $resp (i32.const 300) (call $hlen))
        (return (i32.const 1))))
    (call $resp (i32.const 1024) (local.get $plen))
    (i32.const 1)))
