;; Hostile: grows memory one page at a time until memory.grow fails (the
;; host's max_pages cap), touching every new page so it is really resident.
;; An operation of 4 bytes ("trap") then traps, so the instance is thrown away
;; and the next call grows a fresh one to the cap again; any other operation
;; answers the page count reached (i32, little endian).
(module
  (import "wapc" "__guest_response" (func $resp (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "__guest_call") (param $op i32) (param $n i32) (result i32)
    (local $old i32)
    (block $done
      (loop $l
        (local.set $old (memory.grow (i32.const 1)))
        (br_if $done (i32.eq (local.get $old) (i32.const -1)))
        (i32.store8 (i32.mul (local.get $old) (i32.const 65536)) (i32.const 1))
        (br $l)))
    (if (i32.eq (local.get $op) (i32.const 4)) (then unreachable))
    (i32.store (i32.const 0) (memory.size))
    (call $resp (i32.const 0) (i32.const 4))
    (i32.const 1)))
