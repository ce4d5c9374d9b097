;; Hostile: calls another actor (alias "slowpoke", which spins until its own
;; 1 ms deadline) in an endless loop, so each loop iteration costs >= 1 ms.
;; Only the caller's deadline can stop it.
(module
  (import "wapc" "__host_call"
    (func $hc (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "slowpoke")
  (data (i32.const 64) "x")
  (func (export "__guest_call") (param i32 i32) (result i32)
    (loop $l
      (drop (call $hc (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 8)
                      (i32.const 64) (i32.const 1) (i32.const 0) (i32.const 0)))
      (br $l))
    (i32.const 1)))
