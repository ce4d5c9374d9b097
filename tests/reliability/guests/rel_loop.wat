;; Hostile: spins forever in __guest_call. Only the deadline (or fuel) stops it.
(module
  (memory (export "memory") 1)
  (func (export "__guest_call") (param i32 i32) (result i32)
    (loop $l (br $l))
    (i32.const 1)))
