;; shared_a.wat - exports a memory, a mutable global, a table and a function
;; that shared_b.wat imports (test_vm.c: externs shared across instances).
(module
  (memory (export "mem") 1 2)
  (global $g (export "g") (mut i32) (i32.const 5))
  (table (export "tab") 2 funcref)
  (elem (i32.const 0) $triple)
  (func $triple (export "triple") (param i32) (result i32)
    (i32.mul (local.get 0) (i32.const 3)))
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "get_g") (result i32) (global.get $g))
)
