;; Exports wapc_init with a parameter: init functions take and return
;; nothing, so instantiation must fail with a clear message.
(module
  (memory (export "memory") 1)
  (func (export "wapc_init") (param i32))
  (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 0)))
