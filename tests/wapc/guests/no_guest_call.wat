;; Exports no __guest_call: not a waPC module.
(module (memory (export "memory") 1) (func (export "main")))
