;; Records the order in which initialisation runs: the start section ("0"),
;; _start ("S", then proc_exit(0), which must end _start successfully, so
;; "X" never appears), _initialize ("I"), wapc_init ("W"). __guest_call
;; answers the record, so the host must see "0SIW".
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wapc" "__guest_response" (func $resp (param i32 i32)))
  (memory (export "memory") 1)
  (global $n (mut i32) (i32.const 0))
  (func $mark (param $c i32)
    (i32.store8 (i32.add (i32.const 100) (global.get $n)) (local.get $c))
    (global.set $n (i32.add (global.get $n) (i32.const 1))))
  (func $start (call $mark (i32.const 48)))
  (start $start)
  (func (export "_start") (call $mark (i32.const 83)) (call $exit (i32.const 0)) (call $mark (i32.const 88)))
  (func (export "_initialize") (call $mark (i32.const 73)))
  (func (export "wapc_init") (call $mark (i32.const 87)))
  (func (export "__guest_call") (param i32 i32) (result i32)
    (call $resp (i32.const 100) (global.get $n))
    (i32.const 1)))
