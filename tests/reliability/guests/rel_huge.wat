;; Hostile: answers a 17 MiB response (the host's bound is 16 MiB). The
;; memory grows to 272 pages on the first call and stays there.
(module
  (import "wapc" "__guest_response" (func $resp (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "__guest_call") (param i32 i32) (result i32)
    (if (i32.lt_u (memory.size) (i32.const 272))
      (then (drop (memory.grow (i32.sub (i32.const 272) (memory.size))))))
    (call $resp (i32.const 0) (i32.const 17825792))
    (i32.const 1)))
