;; host.wat - calls host functions imported from "env" (test_vm.c).
(module
  (import "env" "add_user" (func $add_user (param i32) (result i32)))
  (import "env" "fail" (func $fail (param i32)))
  (import "env" "write" (func $write (param i32 i32)))
  (import "env" "mix" (func $mix (param i64 f32 f64) (result f64)))
  (memory (export "memory") 1)
  (func (export "call_add") (param i32) (result i32) (call $add_user (local.get 0)))
  (func (export "call_fail") (param i32) (result i32)
    (call $fail (local.get 0))
    (i32.const 99))
  ;; asks the host to write a word at p, then reads it back plus one.
  (func (export "write_read") (param i32) (result i32)
    (call $write (local.get 0) (i32.const 0x01020304))
    (i32.add (i32.load (local.get 0)) (i32.const 1)))
  (func (export "call_mix") (result f64)
    (call $mix (i64.const -5) (f32.const 1.5) (f64.const 0.25)))
)
