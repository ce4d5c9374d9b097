;; A well-behaved actor: answers every call with its payload. The hostile
;; guest tests call it after (and during) each attack to show the host still
;; answers; rel_badptr calls it by its alias "echo" to get a host response.
(module
  (import "wapc" "__guest_request" (func $req (param i32 i32)))
  (import "wapc" "__guest_response" (func $resp (param i32 i32)))
  (memory (export "memory") 2)
  (func (export "__guest_call") (param $op i32) (param $n i32) (result i32)
    (call $req (i32.const 0) (i32.const 1024))
    (call $resp (i32.const 1024) (local.get $n))
    (i32.const 1)))
