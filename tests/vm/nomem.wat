;; nomem.wat - a module without memory (memory_slice must return NULL).
(module
  (func (export "one") (result i32) (i32.const 1)))
