;; Hostile: __host_call with invalid UTF-8 in the namespace (operation of 1
;; byte), the binding (2 bytes) or the operation name (3 bytes).
(module
  (import "wapc" "__host_call"
    (func $hc (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "wasmcloud:builtin:numbergen")
  (data (i32.const 64) "RequestGuid")
  (data (i32.const 96) "\ff\fe\c0\80")
  (func (export "__guest_call") (param $op i32) (param i32) (result i32)
    (if (i32.eq (local.get $op) (i32.const 1))
      (then (return (call $hc (i32.const 0) (i32.const 0) (i32.const 96) (i32.const 4)
                              (i32.const 64) (i32.const 11) (i32.const 0) (i32.const 0)))))
    (if (i32.eq (local.get $op) (i32.const 2))
      (then (return (call $hc (i32.const 96) (i32.const 4) (i32.const 16) (i32.const 27)
                              (i32.const 64) (i32.const 11) (i32.const 0) (i32.const 0)))))
    (call $hc (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 27)
              (i32.const 96) (i32.const 4) (i32.const 0) (i32.const 0))))
