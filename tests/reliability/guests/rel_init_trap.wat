;; Hostile: wapc_init traps, so the actor can never start.
(module
  (memory (export "memory") 1)
  (func (export "wapc_init") unreachable)
  (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))
