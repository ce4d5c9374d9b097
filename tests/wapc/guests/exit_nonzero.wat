;; _start calls proc_exit(3): a failed init.
(module
  (import "wasi_unstable" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const 3)))
  (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 0)))
