;; big_memory.wat - 16 MiB of initial memory (256 pages) that the engine must
;; reserve lazily: instantiating it must not make the process 16 MiB bigger.
(module
  (memory (export "memory") 256)
  (data (i32.const 16) "corral")
  (func (export "touch") (param i32 i32) (result i32)
    (i32.store (local.get 0) (local.get 1))
    (i32.load (local.get 0))))
