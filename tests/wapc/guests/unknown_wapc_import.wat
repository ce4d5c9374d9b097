;; Imports an unknown name from the wapc module: a link error naming it.
(module
  (import "wapc" "__guest_frobnicate" (func $f))
  (memory (export "memory") 1)
  (func (export "__guest_call") (param i32 i32) (result i32) (call $f) (i32.const 0)))
