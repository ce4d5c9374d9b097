;; shared_b.wat - imports shared_a.wat's exports under module "a".
(module
  (type $i_i (func (param i32) (result i32)))
  (import "a" "mem" (memory 1 2))
  (import "a" "g" (global $g (mut i32)))
  (import "a" "tab" (table 2 funcref))
  (import "a" "triple" (func $triple (param i32) (result i32)))
  (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "set_g") (param i32) (global.set $g (local.get 0)))
  (func (export "call_triple") (param i32) (result i32) (call $triple (local.get 0)))
  (func (export "call_tab0") (param i32) (result i32)
    (call_indirect (type $i_i) (local.get 0) (i32.const 0)))
)
