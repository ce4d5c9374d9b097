;; Hostile: calls the host (numbergen RequestGuid, a claimed capability)
;; in an endless loop. Only the deadline stops it.
(module
  (import "wapc" "__host_call"
    (func $hc (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "wasmcloud:builtin:numbergen")
  (data (i32.const 64) "RequestGuid")
  (data (i32.const 128) "\85\a4guid\c3\a8sequence\c2\a6random\c2\a3min\00\a3max\00")
  (func (export "__guest_call") (param i32 i32) (result i32)
    (loop $l
      (drop (call $hc (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 27)
                      (i32.const 64) (i32.const 11) (i32.const 128) (i32.const 35)))
      (br $l))
    (i32.const 1)))
