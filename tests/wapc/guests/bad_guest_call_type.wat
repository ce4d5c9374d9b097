;; Exports __guest_call without its (i32, i32) -> i32 type: not a waPC module.
(module
  (memory (export "memory") 1)
  (func (export "__guest_call") (param i32)))
