;; limits.wat - the AOT tier's test module (tests/aot/test_aot.c): one export
;; per behaviour that must match the interpreter: values of every type,
;; memory and its growth, traps, fuel / deadline / interrupt, call depth,
;; call_indirect's three traps and a host import.
(module
  (import "env" "host_add" (func $host_add (param i32 i64) (result i64)))
  (import "env" "host_fail" (func $host_fail (param i32)))
  (memory (export "memory") 1 4)
  (table 4 funcref)
  (elem (i32.const 0) $add $f64x2)
  (type $ii_i (func (param i32 i32) (result i32)))
  (global $started (mut i32) (i32.const 0))
  (start $start)
  (func $start (global.set $started (i32.const 42)))
  (func (export "started") (result i32) (global.get $started))
  (func $add (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "mul64") (param i64 i64) (result i64) (i64.mul (local.get 0) (local.get 1)))
  (func (export "f32neg") (param f32) (result f32) (f32.neg (local.get 0)))
  (func $f64x2 (export "f64x2") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 2)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
  (func (export "unreachable") (unreachable))
  (func (export "spin") (loop $l (br $l)))
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
  (func $forever (export "forever") (call $forever))
  ;; 2^n calls and no loop: only function entries can stop it
  (func $fan (export "fan") (param i32)
    (if (local.get 0) (then
      (call $fan (i32.sub (local.get 0) (i32.const 1)))
      (call $fan (i32.sub (local.get 0) (i32.const 1))))))
  (func (export "count") (param i32) (result i32) (local i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get 1) (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br $l)))
    (local.get 1))
  (func (export "indirect") (param i32) (result i32)
    (call_indirect (type $ii_i) (i32.const 2) (i32.const 3) (local.get 0)))
  (func (export "call_host") (param i32 i64) (result i64) (call $host_add (local.get 0) (local.get 1)))
  (func (export "call_fail") (param i32) (call $host_fail (local.get 0)))
  ;; an import, then a counted loop: the caller's fuel must survive the import
  (func (export "host_then_count") (param i32) (result i32) (local i32)
    (drop (call $host_add (i32.const 1) (i64.const 2)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get 1) (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br $l)))
    (local.get 1))

  ;; loops the C compiler vectorises (aot_loops.c: unchecked back-edges,
  ;; fuel charged when they end; it proves an address cannot wrap only
  ;; from constant bases, as for a C program's static arrays): 1024 words at
  ;; 0x8000 each get 1 added, reps times (the outer loop keeps its check);
  ;; the same at 0xf800, out of bounds past the first page; 1024 words
  ;; copied from 0x4000 to 0x5000
  (func (export "vadd") (param $reps i32) (local $i i32)
    (if (i32.eqz (local.get $reps)) (then (return)))
    (loop $outer
      (local.set $i (i32.const 0))
      (loop $l
        (i32.store offset=0x8000 (local.get $i) (i32.add (i32.load offset=0x8000 (local.get $i)) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $l (i32.ne (local.get $i) (i32.const 4096))))
      (local.set $reps (i32.sub (local.get $reps) (i32.const 1)))
      (br_if $outer (local.get $reps))))
  (func (export "vadd_high") (local $i i32)
    (loop $l
      (i32.store offset=0xf800 (local.get $i) (i32.add (i32.load offset=0xf800 (local.get $i)) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $l (i32.ne (local.get $i) (i32.const 4096)))))
  (func (export "vcopy") (local $i i32)
    (loop $l
      (i32.store offset=0x5000 (local.get $i) (i32.load offset=0x4000 (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $l (i32.ne (local.get $i) (i32.const 4096)))))
  ;; a loop nothing proves finite: follows p = mem[p] until 0 (a cycle in
  ;; memory never ends), so it keeps its check
  (func (export "chase") (param $p i32) (result i32) (local $k i32)
    (loop $l
      (local.set $p (i32.load (local.get $p)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $l (local.get $p)))
    (local.get $k))
)
