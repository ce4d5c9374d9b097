;; Imports __guest_response with the wrong type: a link error.
(module
  (import "wapc" "__guest_response" (func $r (param i32)))
  (memory (export "memory") 1)
  (func (export "__guest_call") (param i32 i32) (result i32) (call $r (i32.const 0)) (i32.const 1)))
