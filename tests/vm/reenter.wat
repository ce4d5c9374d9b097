;; reenter.wat - a guest that calls the host, which calls back into wasm
;; (test_vm.c: nested calls into the same instance fail, into another work).
(module
  (import "env" "callback" (func $cb (param i32) (result i32)))
  (func (export "outer") (param i32) (result i32) (call $cb (local.get 0)))
  (func (export "inner") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "ref_through_host") (param externref) (result externref) (local.get 0))
)
