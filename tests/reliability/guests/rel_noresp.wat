;; Hostile: returns success without ever calling __guest_response.
(module
  (import "wapc" "__guest_request" (func $req (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "__guest_call") (param i32 i32) (result i32)
    (call $req (i32.const 0) (i32.const 1024))
    (i32.const 1)))
