;; Imports something no waPC host provides: a link error naming env.foo.
(module
  (import "env" "foo" (func $foo))
  (memory (export "memory") 1)
  (func (export "__guest_call") (param i32 i32) (result i32) (call $foo) (i32.const 0)))
